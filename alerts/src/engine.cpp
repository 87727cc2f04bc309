// AlertEngine (engine.h): rules -> incidents -> queued messages.

#include "dmarcwatch/alerts/engine.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <map>

#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::alerts {
namespace {

constexpr const char* kLogger = "dmarc.alerts";
constexpr const char* kEvaluatedMark = "evaluated";
constexpr std::uint32_t kOpenLimit = 100000;

// A value from outside, safe inside one quoted log field.
std::string LogValue(std::string_view s) {
  std::string out = model::Printable(s);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

std::string DigestMark(Digest d) { return std::string("digest:") + ToString(d); }

// The first day of the digest period holding `today`, and the days the
// digest covers: yesterday, or the seven days before this week.
std::int64_t PeriodStart(Digest d, std::int64_t today) {
  if (d == Digest::kWeekly) {
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
    const std::int64_t weekday = ((today + 3) % 7 + 7) % 7;
    return today - weekday;
  }
  return today;
}

}  // namespace

Result<std::unique_ptr<AlertEngine>> AlertEngine::Create(AlertsOptions options,
                                                         const analysis::AnalysisConfig& analysis,
                                                         const analysis::Catalog& catalog,
                                                         analysis::RollupReader& reader,
                                                         analysis::Resolver* resolver,
                                                         IncidentStore& store) {
  if (options.window < kDay) {
    return Status::InvalidInput("bad_option", "alerts.window must be at least one day");
  }
  if (!options.recipients.empty() && options.from.find('@') == std::string::npos) {
    return Status::InvalidInput("bad_option", "alerts need a from address (alerts.smtp.from)");
  }
  if (options.catch_up_days < 1 || options.baseline_days < 7) {
    return Status::InvalidInput("bad_option", "catch_up_days >= 1 and baseline_days >= 7");
  }
  for (std::string& d : options.domains) d = model::AsciiLower(d);
  return std::unique_ptr<AlertEngine>(
      new AlertEngine(std::move(options), analysis, catalog, reader, resolver, store));
}

AlertEngine::AlertEngine(AlertsOptions options, const analysis::AnalysisConfig& analysis,
                         const analysis::Catalog& catalog, analysis::RollupReader& reader,
                         analysis::Resolver* resolver, IncidentStore& store)
    : options_(std::move(options)),
      analysis_(analysis),
      catalog_(catalog),
      reader_(reader),
      resolver_(resolver),
      store_(store) {}

Result<EvaluationResult> AlertEngine::Evaluate(model::UnixTime now) {
  EvaluateRequest request;
  request.as_of = now;
  return Evaluate(request);
}

Result<EvaluationResult> AlertEngine::Evaluate(const EvaluateRequest& request) {
  Poco::Logger& log = Poco::Logger::get(kLogger);
  const model::UnixTime now = request.as_of;
  const model::UnixTime queued_at = request.queued_at != 0 ? request.queued_at : now;
  EvaluationResult result;
  result.as_of = now;

  std::vector<std::string> domains = options_.domains;
  if (domains.empty()) {
    auto stored = reader_.Domains();
    if (!stored.ok()) return stored.status();
    domains = std::move(*stored);
  }
  result.domains = domains;

  // The rules read the open incidents once, outside the transaction; the
  // life cycle reads them again inside it.
  auto listed = store_.ListIncidents(false, kOpenLimit);
  if (!listed.ok()) return listed.status();

  std::vector<Observation> observations;
  std::map<std::string, std::int64_t> evaluated_to;
  for (const std::string& domain : domains) {
    auto mark = store_.GetMark(kEvaluatedMark, domain);
    if (!mark.ok()) return mark.status();
    const Periods periods = ComputePeriods(options_, now, *mark);
    RuleContext ctx{options_, analysis_, catalog_, reader_, resolver_, now, domain, periods,
                    &*listed};
    auto found = EvaluateDomain(ctx);
    if (!found.ok()) return found.status();
    for (Observation& o : *found) observations.push_back(std::move(o));
    evaluated_to[domain] = periods.window_to;
  }
  if (request.mailboxes) {
    for (Observation& o : EvaluateMailboxes(options_, *request.mailboxes, *listed, now)) {
      observations.push_back(std::move(o));
    }
  }
  for (const Observation& o : observations) {
    if (o.verdict == Verdict::kFiring) ++result.firing;
  }

  std::unique_ptr<IncidentTransaction> tx;
  std::vector<Incident> open;
  if (request.dry_run) {
    open = *listed;
  } else {
    auto begun = store_.Begin();
    if (!begun.ok()) return begun.status();
    tx = std::move(*begun);
    auto in_tx = tx->OpenIncidents();
    if (!in_tx.ok()) return in_tx.status();
    open = std::move(*in_tx);
  }

  const LifeCycle policy{options_.renotify, options_.worsen_step, options_.resolve_after};
  std::vector<Change> changes = Decide(open, observations, now, policy);

  std::map<std::int64_t, Incident> still_open;  // after this evaluation, for the digest
  for (const Incident& i : open) still_open[i.id] = i;
  std::int64_t dry_ids = 0;
  for (Change& change : changes) {
    Incident& inc = change.incident;
    if (!request.dry_run) {
      if (inc.id == 0) {
        auto id = tx->InsertIncident(inc);
        if (!id.ok()) return id.status();
        inc.id = *id;
      } else {
        DMARC_RETURN_IF_ERROR(tx->UpdateIncident(inc));
      }
    }
    if (inc.state == IncidentState::kOpen) {
      still_open[inc.id != 0 ? inc.id : --dry_ids] = inc;
    } else {
      still_open.erase(inc.id);
    }
    if (!change.notice) continue;

    Notification n;
    n.incident_id = inc.id;
    n.notice = *change.notice;
    n.rule = inc.rule;
    n.domain = inc.domain;
    n.subject = inc.subject;
    n.severity = inc.severity;
    n.content = RenderIncident(change, options_);
    switch (*change.notice) {
      case Notice::kOpened: ++result.opened; break;
      case Notice::kWorsened: ++result.worsened; break;
      case Notice::kReminder: ++result.reminded; break;
      case Notice::kResolved: ++result.resolved; break;
    }
    for (const std::string& to : options_.recipients) {
      OutboxMessage m;
      m.kind = "incident";
      m.incident_id = inc.id;
      m.notice = ToString(*change.notice);
      m.recipient = to;
      m.subject = n.content.subject;
      m.text = n.content.text;
      m.html = n.content.html;
      m.created_at = queued_at;
      m.next_attempt_at = queued_at;
      m.message_id = MakeMessageId(options_.from, queued_at, inc.id, m.notice, to);
      if (!request.dry_run) DMARC_RETURN_IF_ERROR(tx->Enqueue(m));
      ++result.queued;
    }
    if (!request.dry_run) {
      log.information(std::string("event=incident_") + ToString(*change.notice) +
                      " id=" + std::to_string(inc.id) + " rule=" + ToString(inc.rule) +
                      " domain=\"" + LogValue(inc.domain) + "\" subject=\"" +
                      LogValue(inc.subject) + "\" severity=" + analysis::ToString(inc.severity) +
                      " recipients=" + std::to_string(options_.recipients.size()));
    }
    result.notifications.push_back(std::move(n));
  }

  // The digest: once per period and recipient.
  if (options_.digest != Digest::kNone && !options_.recipients.empty()) {
    const std::int64_t today = model::DayNumber(now);
    const std::int64_t period = PeriodStart(options_.digest, today);
    std::vector<std::string> due;
    for (const std::string& to : options_.recipients) {
      auto mark = request.dry_run ? store_.GetMark(DigestMark(options_.digest), to)
                                  : tx->GetMark(DigestMark(options_.digest), to);
      if (!mark.ok()) return mark.status();
      if (!*mark || **mark < period) due.push_back(to);
    }
    if (!due.empty()) {
      const std::int64_t to_day = today - 1;
      const std::int64_t from_day = options_.digest == Digest::kWeekly ? today - 7 : to_day;
      std::vector<analysis::DomainReport> reports;
      for (const std::string& domain : domains) {
        auto r = analysis::LoadDomainReport(reader_, analysis_, catalog_, nullptr, domain,
                                            from_day, to_day);
        if (!r.ok()) return r.status();
        reports.push_back(std::move(*r));
      }
      std::vector<Incident> open_now;
      for (const auto& [id, inc] : still_open) open_now.push_back(inc);
      MessageContent content =
          RenderDigest(options_.digest, from_day, to_day, reports, open_now, options_);
      for (const std::string& to : due) {
        OutboxMessage m;
        m.kind = "digest";
        m.notice = "digest";
        m.recipient = to;
        m.subject = content.subject;
        m.text = content.text;
        m.html = content.html;
        m.created_at = queued_at;
        m.next_attempt_at = queued_at;
        m.message_id = MakeMessageId(options_.from, queued_at, 0,
                                     std::string("digest-") + ToString(options_.digest), to);
        if (!request.dry_run) {
          DMARC_RETURN_IF_ERROR(tx->Enqueue(m));
          DMARC_RETURN_IF_ERROR(tx->SetMark(DigestMark(options_.digest), to, period));
        }
        ++result.queued;
      }
      result.digests.push_back(std::move(content));
    }
  }

  if (!request.dry_run) {
    for (const auto& [domain, to] : evaluated_to) {
      DMARC_RETURN_IF_ERROR(tx->SetMark(kEvaluatedMark, domain, to));
    }
    DMARC_RETURN_IF_ERROR(tx->Commit());
    log.information("event=alerts_evaluated as_of=" + model::FormatIso8601(now) +
                    " domains=" + std::to_string(domains.size()) +
                    " firing=" + std::to_string(result.firing) +
                    " opened=" + std::to_string(result.opened) +
                    " worsened=" + std::to_string(result.worsened) +
                    " reminded=" + std::to_string(result.reminded) +
                    " resolved=" + std::to_string(result.resolved) +
                    " queued=" + std::to_string(result.queued));
  }
  return result;
}

}  // namespace dmarcwatch::alerts
