#include "dmarcwatch/alerts/incident.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <map>
#include <sstream>

#include "dmarcwatch/model/time.h"

namespace dmarcwatch::alerts {
namespace {

constexpr double kEpsilon = 1e-9;

bool MoreSevere(analysis::Severity a, analysis::Severity b) {
  return static_cast<int>(a) < static_cast<int>(b);
}

std::string KeyOf(Rule rule, const std::string& domain, const std::string& subject) {
  return std::string(ToString(rule)) + "|" + domain + "|" + subject;
}

Poco::JSON::Array::Ptr Strings(const std::vector<std::string>& v) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const std::string& s : v) a->add(s);
  return a;
}

}  // namespace

const char* ToString(Digest digest) {
  switch (digest) {
    case Digest::kDaily: return "daily";
    case Digest::kWeekly: return "weekly";
    case Digest::kNone: break;
  }
  return "none";
}

const char* ToString(Rule rule) {
  switch (rule) {
    case Rule::kPassRate: return "pass_rate";
    case Rule::kUndeclaredProvider: return "undeclared_provider";
    case Rule::kUnknownFailures: return "unknown_failures";
    case Rule::kDirectIpSpfFail: return "direct_ip_spf_fail";
    case Rule::kSpfIncludeMissing: return "spf_include_missing";
    case Rule::kReporterSilence: return "reporter_silence";
    case Rule::kIngestFailures: return "ingest_failures";
    case Rule::kUnknown: break;
  }
  return "unknown";
}

Rule RuleFromString(std::string_view word) {
  for (Rule r : {Rule::kPassRate, Rule::kUndeclaredProvider, Rule::kUnknownFailures,
                 Rule::kDirectIpSpfFail, Rule::kSpfIncludeMissing, Rule::kReporterSilence,
                 Rule::kIngestFailures}) {
    if (word == ToString(r)) return r;
  }
  return Rule::kUnknown;
}

const char* ToString(Notice notice) {
  switch (notice) {
    case Notice::kOpened: return "opened";
    case Notice::kWorsened: return "worsened";
    case Notice::kReminder: return "reminder";
    case Notice::kResolved: break;
  }
  return "resolved";
}

const char* ToString(IncidentState state) {
  return state == IncidentState::kOpen ? "open" : "resolved";
}

std::string Observation::Key() const { return KeyOf(rule, domain, subject); }
std::string Incident::Key() const { return KeyOf(rule, domain, subject); }

bool Worsened(Rule rule, double notified, double observed, double step) {
  switch (rule) {
    case Rule::kPassRate:
      // Lower is worse, in percentage points.
      if (step <= 0) return observed < notified - kEpsilon;
      return observed <= notified - step + kEpsilon;
    case Rule::kUnknownFailures:
      // A count: worse by `step` percent of what was notified.
      if (observed <= notified + kEpsilon) return false;
      if (notified <= 0) return true;
      return observed >= notified * (1.0 + step / 100.0) - kEpsilon;
    case Rule::kDirectIpSpfFail:
    case Rule::kReporterSilence:
      // Counts of things (IPs, reporters): one more is news.
      return observed > notified + kEpsilon;
    case Rule::kUndeclaredProvider:
    case Rule::kSpfIncludeMissing:
    case Rule::kIngestFailures:
    case Rule::kUnknown:
      // Their measure grows by itself (messages, failed polls): only a
      // higher severity or the reminder notifies again.
      break;
  }
  return false;
}

std::vector<Change> Decide(const std::vector<Incident>& open,
                           const std::vector<Observation>& observations, model::UnixTime now,
                           const LifeCycle& policy) {
  std::map<std::string, const Incident*> by_key;
  for (const Incident& i : open) by_key.emplace(i.Key(), &i);
  std::map<std::string, bool> seen;

  std::vector<Change> out;
  for (const Observation& obs : observations) {
    const std::string key = obs.Key();
    if (!seen.emplace(key, true).second) continue;  // one verdict per key and evaluation
    const auto it = by_key.find(key);
    if (obs.verdict == Verdict::kFiring) {
      Change c;
      c.observation = &obs;
      Incident& inc = c.incident;
      if (it == by_key.end()) {
        inc.rule = obs.rule;
        inc.domain = obs.domain;
        inc.subject = obs.subject;
        inc.state = IncidentState::kOpen;
        inc.opened_at = now;
        inc.first_seen = obs.first_seen != 0 ? obs.first_seen : now;
        inc.last_seen = obs.last_seen != 0 ? obs.last_seen : now;
        c.notice = Notice::kOpened;
      } else {
        inc = *it->second;
        c.previous_value = inc.notified_value;
        c.previously_notified_at = inc.last_notified_at;
        const model::UnixTime seen_at = obs.last_seen != 0 ? obs.last_seen : now;
        inc.last_seen = std::max(inc.last_seen, seen_at);
        inc.clear_since.reset();
        if (!inc.acknowledged) {
          if (MoreSevere(obs.severity, inc.notified_severity) ||
              Worsened(obs.rule, inc.notified_value, obs.value, policy.worsen_step)) {
            c.notice = Notice::kWorsened;
          } else if (!inc.last_notified_at || now - *inc.last_notified_at >= policy.renotify) {
            c.notice = Notice::kReminder;
          }
        }
      }
      inc.severity = obs.severity;
      inc.title = obs.title;
      inc.value = obs.value;
      inc.evaluation_json = EvaluationJson(obs);
      if (c.notice) {
        inc.last_notified_at = now;
        inc.notified_value = obs.value;
        inc.notified_severity = obs.severity;
        ++inc.notifications;
      }
      out.push_back(std::move(c));
    } else if (obs.verdict == Verdict::kClear && it != by_key.end()) {
      Change c;
      c.observation = &obs;
      Incident& inc = c.incident;
      inc = *it->second;
      c.previous_value = inc.notified_value;
      c.previously_notified_at = inc.last_notified_at;
      if (!inc.clear_since) inc.clear_since = now;
      if (now - *inc.clear_since >= policy.resolve_after) {
        inc.state = IncidentState::kResolved;
        inc.resolved_at = now;
        inc.last_notified_at = now;
        ++inc.notifications;
        c.notice = Notice::kResolved;
      }
      // The last observation while it fired stays: it says what the
      // incident was about. A clear observation only adds its numbers.
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::string EvaluationJson(const Observation& o) {
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("verdict", std::string(o.verdict == Verdict::kFiring  ? "firing"
                                  : o.verdict == Verdict::kClear ? "clear"
                                                                 : "unknown"));
  root.set("severity", std::string(analysis::ToString(o.severity)));
  root.set("value", o.value);
  root.set("title", o.title);
  root.set("summary", o.details.summary);
  root.set("path", o.details.path_key);
  if (o.details.from_day != 0 || o.details.to_day != 0) {
    root.set("from", model::FormatDate(o.details.from_day * 86400));
    root.set("to", model::FormatDate(o.details.to_day * 86400));
  }
  Poco::JSON::Array::Ptr facts = new Poco::JSON::Array;
  for (const auto& [label, value] : o.details.facts) {
    Poco::JSON::Object::Ptr f = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    f->set("label", label);
    f->set("value", value);
    facts->add(f);
  }
  root.set("facts", facts);
  Poco::JSON::Array::Ptr findings = new Poco::JSON::Array;
  for (const analysis::Finding& f : o.details.findings) {
    Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("code", f.code);
    j->set("severity", std::string(analysis::ToString(f.severity)));
    j->set("title", f.title);
    j->set("messages", f.messages);
    j->set("sources", f.sources);
    j->set("advice", f.advice);
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("ips", Strings(f.evidence.ips));
    e->set("header_from", Strings(f.evidence.header_from));
    e->set("envelope_domains", Strings(f.evidence.envelope_domains));
    e->set("dkim", Strings(f.evidence.dkim));
    e->set("spf", Strings(f.evidence.spf));
    e->set("notes", Strings(f.evidence.notes));
    j->set("evidence", e);
    findings->add(j);
  }
  root.set("findings", findings);
  root.set("items", Strings(o.details.items));
  std::ostringstream out;
  root.stringify(out);
  return out.str();
}

}  // namespace dmarcwatch::alerts
