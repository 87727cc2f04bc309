// The alert rules (rules.h). Each rule turns what the rollups say about one
// domain into observations: firing (with the numbers, the evidence and the
// advice an email needs), clear, or nothing when it cannot tell.

#include "dmarcwatch/alerts/rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "dmarcwatch/analysis/dns_evidence.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "format.h"

namespace dmarcwatch::alerts {
namespace {

using analysis::Finding;
using analysis::PathReport;
using analysis::Severity;
using internal::DayStart;
using internal::DayText;
using internal::Grouped;
using internal::PercentText;
using internal::Plural;
using internal::Rate;

// How far before the lookback a provider counts as "seen before".
constexpr std::int64_t kHistoryDays = 366;
// A reporter's habits need this many days of data before its silence means
// anything.
constexpr std::int64_t kMinBaselineDays = 7;
// Lists in one alert stay short.
constexpr std::size_t kMaxItems = 15;

int WholeDays(std::int64_t seconds) {
  const std::int64_t days = (seconds + kDay - 1) / kDay;
  return static_cast<int>(std::clamp<std::int64_t>(days, 1, 3660));
}

std::string PathLabel(const model::PathRef& p) {
  if (!p.name.empty()) return p.name;
  if (p.kind == model::PathKind::kUnknown) return "unknown sources";
  if (p.kind == model::PathKind::kForwarder) return "forwarders";
  return p.key;
}

std::string KindText(const model::PathRef& p) {
  std::string out = model::ToString(p.kind);
  if (!p.provider.empty()) out += ", " + p.provider;
  return out;
}

// The findings an alert shows: what to fix first. Informational ones only
// when there is nothing else.
std::vector<Finding> Actionable(const std::vector<Finding>& findings) {
  std::vector<Finding> out;
  for (const Finding& f : findings) {
    if (f.severity != Severity::kInfo) out.push_back(f);
  }
  if (out.empty()) out = findings;
  return out;
}

const Finding* FindCode(const std::vector<Finding>& findings, std::string_view code,
                        std::string_view path_key = {}) {
  for (const Finding& f : findings) {
    if (f.code == code && (path_key.empty() || f.path_key == path_key)) return &f;
  }
  return nullptr;
}

void AddCounts(Details& d, const model::PathTotals& t) {
  const model::Counts& c = t.counts;
  d.facts.emplace_back("messages", Grouped(c.messages));
  d.facts.emplace_back("DMARC pass",
                       Grouped(c.dmarc_pass) + " (" + PercentText(Rate(c.dmarc_pass, c.messages)) + ")");
  d.facts.emplace_back("SPF aligned", Grouped(c.spf_aligned) + " (" +
                                          PercentText(Rate(c.spf_aligned, c.messages)) + ")");
  d.facts.emplace_back("DKIM aligned", Grouped(c.dkim_aligned) + " (" +
                                           PercentText(Rate(c.dkim_aligned, c.messages)) + ")");
  d.facts.emplace_back("source IPs", Grouped(t.sources));
  d.facts.emplace_back("reporters", Grouped(t.reporters));
}

std::string PeriodText(std::int64_t from, std::int64_t to) {
  return from == to ? "on " + DayText(from) : "from " + DayText(from) + " to " + DayText(to);
}

// One domain's evaluation: the rollups it reads, read once.
class DomainRules {
 public:
  explicit DomainRules(const RuleContext& ctx) : ctx_(ctx), opt_(ctx.options), p_(ctx.periods) {}

  Result<std::vector<Observation>> Run() {
    auto window = Load(p_.window_from, p_.window_to, ctx_.resolver != nullptr);
    if (!window.ok()) return window.status();
    window_ = std::move(*window);
    has_data_ = window_.report.totals.messages > 0;

    DMARC_RETURN_IF_ERROR(PassRate());
    DMARC_RETURN_IF_ERROR(Undeclared());
    DMARC_RETURN_IF_ERROR(UnknownFailures());
    DirectIpSpf();
    SpfInclude();
    DMARC_RETURN_IF_ERROR(ReporterSilence());
    return std::move(out_);
  }

 private:
  struct Loaded {
    analysis::DomainReport report;
    std::vector<analysis::SpfExpansion> spf;
  };

  Result<Loaded> Load(std::int64_t from, std::int64_t to, bool dns) {
    model::RollupQuery q;
    q.domain = ctx_.domain;
    q.from_day = from;
    q.to_day = to;
    auto totals = ctx_.reader.PathTotals(q);
    if (!totals.ok()) return totals.status();
    q.limit = 20000;
    auto sources = ctx_.reader.Sources(q);
    if (!sources.ok()) return sources.status();
    if (!policies_) {
      auto policies = ctx_.reader.Policies();
      if (!policies.ok()) return policies.status();
      policies_ = std::move(*policies);
    }
    analysis::DomainContext dc;
    dc.domain = ctx_.domain;
    for (const model::PublishedPolicy& p : *policies_) {
      if (p.domain == dc.domain) dc.policy = p.policy;
    }
    Loaded out;
    if (dns && ctx_.resolver != nullptr) {
      dc.spf = analysis::SpfForDomain(*ctx_.resolver, ctx_.analysis, dc.domain);
      dc.dns_checked = true;
      out.spf = dc.spf;
    }
    out.report = analysis::BuildDomainReport(dc.domain, from, to, std::move(*totals), *sources, dc,
                                             ctx_.analysis, ctx_.catalog);
    return out;
  }

  Observation Make(Rule rule, const std::string& subject, Verdict verdict) const {
    Observation o;
    o.rule = rule;
    o.domain = ctx_.domain;
    o.subject = subject;
    o.verdict = verdict;
    return o;
  }

  bool IsOpen(Rule rule, const std::string& subject) const {
    if (ctx_.open == nullptr) return false;
    for (const Incident& i : *ctx_.open) {
      if (i.rule == rule && i.domain == ctx_.domain && i.subject == subject &&
          i.state == IncidentState::kOpen) {
        return true;
      }
    }
    return false;
  }

  // The first day of the trailing run of days on which the path's pass rate
  // was below the threshold, within the lookback.
  Result<std::int64_t> FailingSince(const std::string& key) {
    model::RollupQuery q;
    q.domain = ctx_.domain;
    q.from_day = p_.lookback_from;
    q.to_day = p_.window_to;
    q.path_key = key;
    auto daily = ctx_.reader.Daily(q, true);
    if (!daily.ok()) return daily.status();
    std::vector<model::DailyCounts> days;
    for (model::DailyCounts& d : *daily) {
      if (d.path_key == key && d.counts.messages > 0) days.push_back(std::move(d));
    }
    std::sort(days.begin(), days.end(),
              [](const auto& a, const auto& b) { return a.day < b.day; });
    std::int64_t since = p_.window_from;
    for (auto it = days.rbegin(); it != days.rend(); ++it) {
      if (Rate(it->counts.dmarc_pass, it->counts.messages) >= opt_.pass_rate_below) break;
      since = it->day;
    }
    return since;
  }

  Status PassRate() {
    for (const PathReport& p : window_.report.paths) {
      if (!p.declared) continue;
      const model::Counts& c = p.totals.counts;
      const std::string& key = p.totals.path.key;
      if (!has_data_) continue;
      const double rate = Rate(c.dmarc_pass, c.messages);
      if (c.messages == 0 || (c.messages >= opt_.min_messages && rate >= opt_.pass_rate_below)) {
        // Nothing sent while others reported: the path is quiet, not broken.
        Observation o = Make(Rule::kPassRate, key, Verdict::kClear);
        o.value = rate;
        const std::string label = PathLabel(p.totals.path);
        o.details.summary =
            c.messages == 0
                ? label + " sent nothing as " + ctx_.domain + " " +
                      PeriodText(p_.window_from, p_.window_to) + "."
                : PercentText(rate) + " of " + Plural(c.messages, "message", "messages") + " " +
                      label + " sent as " + ctx_.domain + " " +
                      PeriodText(p_.window_from, p_.window_to) + " passed DMARC.";
        AddCounts(o.details, p.totals);
        o.details.path_key = key;
        o.details.from_day = p_.window_from;
        o.details.to_day = p_.window_to;
        out_.push_back(std::move(o));
        continue;
      }
      if (c.messages < opt_.min_messages) continue;  // too few to tell

      auto since = FailingSince(key);
      if (!since.ok()) return since.status();
      const std::string label = PathLabel(p.totals.path);
      Observation o = Make(Rule::kPassRate, key, Verdict::kFiring);
      o.severity = Severity::kCritical;
      o.value = rate;
      o.first_seen = DayStart(*since);
      o.title = ctx_.domain + ": " + label + " fails DMARC (" + PercentText(rate) + " over " +
                Plural(static_cast<std::uint64_t>(p_.window_days()), "day", "days") + ")";
      Details& d = o.details;
      d.summary = "Of " + Plural(c.messages, "message", "messages") + " " + label + " (" +
                  KindText(p.totals.path) + ") sent as " + ctx_.domain + " " +
                  PeriodText(p_.window_from, p_.window_to) + ", " + Grouped(c.dmarc_pass) + " (" +
                  PercentText(rate) + ") passed DMARC; this alert is set to " +
                  PercentText(opt_.pass_rate_below) + " (alerts.pass_rate_below). " +
                  Grouped(c.messages - std::min(c.dmarc_pass, c.messages)) +
                  " failed: under p=quarantine they would go to spam, under p=reject they would "
                  "be refused.";
      AddCounts(d, p.totals);
      d.facts.emplace_back("failing since",
                           DayText(*since) + (*since <= p_.lookback_from ? " or earlier" : ""));
      d.findings = Actionable(p.findings);
      d.path_key = key;
      d.from_day = p_.window_from;
      d.to_day = p_.window_to;
      out_.push_back(std::move(o));
    }
    return Status::Ok();
  }

  Status Undeclared() {
    model::RollupQuery q;
    q.domain = ctx_.domain;
    q.from_day = p_.lookback_from;
    q.to_day = p_.window_to;
    auto lookback = ctx_.reader.PathTotals(q);
    if (!lookback.ok()) return lookback.status();
    q.from_day = p_.lookback_from - kHistoryDays;
    q.to_day = p_.lookback_from - 1;
    auto before = ctx_.reader.PathTotals(q);
    if (!before.ok()) return before.status();
    auto data_days = ctx_.reader.DataDays(ctx_.domain);
    if (!data_days.ok()) return data_days.status();

    std::set<std::string> seen_before;
    for (const model::PathTotals& t : *before) {
      if (t.counts.messages > 0) seen_before.insert(t.path.key);
    }
    std::map<std::string, const model::PathTotals*> in_lookback;
    for (const model::PathTotals& t : *lookback) {
      if (t.path.kind == model::PathKind::kUndeclared) in_lookback[t.path.key] = &t;
    }
    std::map<std::string, const PathReport*> in_window;
    for (const PathReport& p : window_.report.paths) {
      if (p.totals.path.kind == model::PathKind::kUndeclared) in_window[p.totals.path.key] = &p;
    }
    std::set<std::string> keys;
    for (const auto& [key, t] : in_lookback) keys.insert(key);
    if (ctx_.open != nullptr) {
      for (const Incident& i : *ctx_.open) {
        if (i.rule == Rule::kUndeclaredProvider && i.domain == ctx_.domain) keys.insert(i.subject);
      }
    }

    for (const std::string& key : keys) {
      const auto lt = in_lookback.find(key);
      const auto wt = in_window.find(key);
      const std::uint64_t window_messages =
          wt == in_window.end() ? 0 : wt->second->totals.counts.messages;
      bool firing = false;
      if (IsOpen(Rule::kUndeclaredProvider, key)) {
        // Once open, the incident lasts while the provider still sends.
        if (!has_data_) continue;
        if (window_messages == 0) {
          out_.push_back(Make(Rule::kUndeclaredProvider, key, Verdict::kClear));
          continue;
        }
        firing = true;
      } else if (lt != in_lookback.end()) {
        const model::PathTotals& t = *lt->second;
        const bool is_new = seen_before.count(key) == 0 && t.first_day > data_days->first &&
                            t.counts.messages >= opt_.min_messages;
        firing = is_new;
      }
      if (!firing || lt == in_lookback.end()) continue;

      const model::PathTotals& t = *lt->second;
      const analysis::Provider* provider = ctx_.catalog.ById(t.path.provider);
      const std::string name = provider != nullptr ? provider->name : t.path.provider;
      Observation o = Make(Rule::kUndeclaredProvider, key, Verdict::kFiring);
      o.value = static_cast<double>(t.counts.messages);
      o.first_seen = DayStart(t.first_day);
      o.last_seen = DayStart(t.last_day);
      o.title = ctx_.domain + ": new undeclared sender " + name;
      const Finding* f = nullptr;
      auto report = LookbackReport();
      if (!report.ok()) return report.status();
      for (const PathReport& p : (*report)->paths) {
        if (p.totals.path.key == key) f = FindCode(p.findings, "undeclared_provider");
      }
      o.severity = f != nullptr ? f->severity : Severity::kWarning;
      const double rate = Rate(t.counts.dmarc_pass, t.counts.messages);
      Details& d = o.details;
      d.summary = name + ", a provider from the catalog (" + t.path.provider + "), sent " +
                  Plural(t.counts.messages, "message", "messages") + " as " + ctx_.domain + " " +
                  PeriodText(t.first_day, t.last_day) + ", and no [[paths]] entry declares it. " +
                  PercentText(rate) + " of them passed DMARC. It had not sent as " + ctx_.domain +
                  " before " + DayText(t.first_day) + ".";
      AddCounts(d, t);
      d.facts.emplace_back("first seen", DayText(t.first_day));
      if (f != nullptr) d.findings.push_back(*f);
      d.path_key = key;
      d.from_day = std::max(t.first_day, p_.lookback_from);
      d.to_day = p_.window_to;
      out_.push_back(std::move(o));
    }
    return Status::Ok();
  }

  Result<const analysis::DomainReport*> LookbackReport() {
    if (p_.lookback_from == p_.window_from) return &window_.report;
    if (!lookback_) {
      auto loaded = Load(p_.lookback_from, p_.window_to, false);
      if (!loaded.ok()) return loaded.status();
      lookback_ = std::move(loaded->report);
    }
    return &*lookback_;
  }

  Status UnknownFailures() {
    model::RollupQuery q;
    q.domain = ctx_.domain;
    q.from_day = p_.lookback_from;
    q.to_day = p_.window_to;
    q.path_key = "unknown";
    auto daily = ctx_.reader.Daily(q, true);
    if (!daily.ok()) return daily.status();
    std::map<std::int64_t, std::uint64_t> failures;  // day -> failures
    for (const model::DailyCounts& d : *daily) {
      if (d.path_key != "unknown") continue;
      failures[d.day] = model::SaturatingAdd(failures[d.day], d.counts.dmarc_fail());
    }
    std::vector<std::pair<std::int64_t, std::uint64_t>> over;
    for (const auto& [day, n] : failures) {
      if (n > opt_.unknown_failures_per_day) over.emplace_back(day, n);
    }
    if (over.empty()) {
      if (has_data_) out_.push_back(Make(Rule::kUnknownFailures, "unknown", Verdict::kClear));
      return Status::Ok();
    }
    // The worst day speaks for the incident (the latest of equals).
    auto worst = over.front();
    for (const auto& day : over) {
      if (day.second >= worst.second) worst = day;
    }
    auto day_report = Load(worst.first, worst.first, false);
    if (!day_report.ok()) return day_report.status();
    const PathReport* unknown = nullptr;
    for (const PathReport& p : day_report->report.paths) {
      if (p.totals.path.key == "unknown") unknown = &p;
    }
    const Finding* f = unknown != nullptr ? FindCode(unknown->findings, "unknown_failing") : nullptr;

    Observation o = Make(Rule::kUnknownFailures, "unknown", Verdict::kFiring);
    o.severity = f != nullptr ? f->severity : Severity::kCritical;
    o.value = static_cast<double>(worst.second);
    o.first_seen = DayStart(over.front().first);
    o.last_seen = DayStart(over.back().first);
    o.title = ctx_.domain + ": " + Plural(worst.second, "message", "messages") +
              " from unknown sources failed DMARC on " + DayText(worst.first);
    Details& d = o.details;
    const std::uint64_t sources = unknown != nullptr ? unknown->totals.sources : 0;
    d.summary = "On " + DayText(worst.first) + ", " + Plural(worst.second, "message", "messages") +
                " from " + Plural(sources, "source", "sources") +
                " that are none of your paths, nor forwarders, failed DMARC as " + ctx_.domain +
                ": spoofing, or a sender of yours not declared yet. This alert is set to more "
                "than " + Grouped(opt_.unknown_failures_per_day) +
                " a day (alerts.unknown_failures_per_day); " +
                Plural(over.size(), "day", "days") + " " +
                PeriodText(p_.lookback_from, p_.window_to) + " went over it.";
    if (unknown != nullptr) AddCounts(d, unknown->totals);
    for (auto it = over.rbegin(); it != over.rend() && d.items.size() < kMaxItems; ++it) {
      d.items.push_back(DayText(it->first) + ": " + Plural(it->second, "message", "messages") +
                        " failed DMARC");
    }
    if (f != nullptr) d.findings.push_back(*f);
    d.path_key = "unknown";
    d.from_day = worst.first;
    d.to_day = worst.first;
    out_.push_back(std::move(o));
    return Status::Ok();
  }

  void DirectIpSpf() {
    if (!has_data_) return;
    for (const PathReport& p : window_.report.paths) {
      if (!p.declared || p.totals.path.kind != model::PathKind::kDirect) continue;
      const std::string& key = p.totals.path.key;
      const Finding* f = FindCode(p.findings, "direct_ip_spf_fail");
      if (f == nullptr || f->messages < opt_.min_messages) {
        out_.push_back(Make(Rule::kDirectIpSpfFail, key, Verdict::kClear));
        continue;
      }
      const std::string label = PathLabel(p.totals.path);
      Observation o = Make(Rule::kDirectIpSpfFail, key, Verdict::kFiring);
      o.severity = f->severity;
      o.value = static_cast<double>(f->evidence.ips.size());
      std::string ips;
      for (std::size_t i = 0; i < f->evidence.ips.size() && i < 3; ++i) {
        ips += (i == 0 ? "" : ", ") + f->evidence.ips[i];
      }
      if (f->evidence.ips.size() > 3) ips += ", ...";
      o.title = ctx_.domain + ": " + label + ": " + (ips.empty() ? std::string("its mail") : ips) +
                " fails SPF";
      Details& d = o.details;
      const model::Counts& c = p.totals.counts;
      d.summary = Plural(f->messages, "message", "messages") + " from " +
                  Plural(f->sources, "IP", "IPs") + " of " + label +
                  " (your own MTAs) failed SPF " + PeriodText(p_.window_from, p_.window_to) + ". " +
                  PercentText(Rate(c.dmarc_pass, c.messages)) + " of " + label +
                  "'s mail still passed DMARC (on DKIM); a DKIM failure on those hosts would make "
                  "it fail, and bounce once the policy is enforced.";
      AddCounts(d, p.totals);
      d.findings.push_back(*f);
      if (const Finding* ip = FindCode(window_.report.domain_findings, "spf_ip_missing", key)) {
        d.findings.push_back(*ip);
      }
      d.path_key = key;
      d.from_day = p_.window_from;
      d.to_day = p_.window_to;
      out_.push_back(std::move(o));
    }
  }

  // True when every SPF answer the check of `path` rests on is a real
  // answer (a record, no record, no such name), not a failure to ask.
  bool SpfAnswered(const analysis::DeclaredPath& path) const {
    std::vector<std::string> where = path.return_path_domains;
    if (where.empty()) where.push_back(ctx_.domain);
    for (const analysis::SpfExpansion& e : window_.spf) {
      bool relevant = model::EqualsIgnoreCase(e.domain, ctx_.domain);
      for (const std::string& w : where) relevant = relevant || model::EqualsIgnoreCase(e.domain, w);
      if (!relevant) continue;
      if (e.rcode != analysis::DnsRcode::kOk && e.rcode != analysis::DnsRcode::kNoData &&
          e.rcode != analysis::DnsRcode::kNxDomain) {
        return false;
      }
    }
    return true;
  }

  void SpfInclude() {
    if (!window_.report.dns_checked) return;
    for (const analysis::DeclaredPath& path : ctx_.analysis.paths) {
      const std::string key = "path:" + path.name;
      if (!SpfAnswered(path)) continue;
      const Finding* f = FindCode(window_.report.domain_findings, "spf_include_missing", key);
      if (f == nullptr) {
        out_.push_back(Make(Rule::kSpfIncludeMissing, key, Verdict::kClear));
        continue;
      }
      Observation o = Make(Rule::kSpfIncludeMissing, key, Verdict::kFiring);
      o.severity = f->severity;
      o.value = 1;
      o.title = ctx_.domain + ": " + path.name + ": " + f->title;
      Details& d = o.details;
      d.summary = "The SPF record that " + path.name + "'s mail relies on no longer authorises it: " +
                  f->title + ". Mail from " + path.name +
                  " then fails SPF, and DMARC too wherever its DKIM does not align.";
      d.findings.push_back(*f);
      d.path_key = key;
      d.from_day = p_.window_from;
      d.to_day = p_.window_to;
      out_.push_back(std::move(o));
    }
  }

  Status ReporterSilence() {
    const std::int64_t silence_days = WholeDays(opt_.reporter_silence);
    const std::int64_t silent_from = p_.today - silence_days;
    const std::int64_t baseline_from = silent_from - std::max(opt_.baseline_days, 7);
    std::map<std::string, std::int64_t> baseline_count;  // reporter -> days reported
    std::map<std::string, std::int64_t> last_day;        // reporter -> last day reported
    std::set<std::string> recent;                        // reported since silent_from
    std::int64_t data_days = 0;
    for (std::int64_t day = baseline_from; day < p_.today; ++day) {
      model::RollupQuery q;
      q.domain = ctx_.domain;
      q.from_day = day;
      q.to_day = day;
      auto reporters = ctx_.reader.Reporters(q);
      if (!reporters.ok()) return reporters.status();
      std::set<std::string> names;
      for (const model::ReporterCounts& r : *reporters) {
        if (r.counts.rows > 0 || r.counts.messages > 0) names.insert(r.reporter);
      }
      if (day < silent_from) {
        if (!names.empty()) ++data_days;
        for (const std::string& n : names) ++baseline_count[n];
      } else {
        recent.insert(names.begin(), names.end());
      }
      for (const std::string& n : names) last_day[n] = day;
    }
    if (data_days < kMinBaselineDays) return Status::Ok();  // too little history to tell

    std::vector<std::string> silent;
    for (const auto& [name, days] : baseline_count) {
      const bool usual = days * 2 > data_days;
      if (usual && recent.count(name) == 0) silent.push_back(name);
    }
    if (silent.empty()) {
      out_.push_back(Make(Rule::kReporterSilence, "", Verdict::kClear));
      return Status::Ok();
    }
    Observation o = Make(Rule::kReporterSilence, "", Verdict::kFiring);
    o.severity = Severity::kWarning;
    o.value = static_cast<double>(silent.size());
    o.first_seen = DayStart(silent_from);
    std::string names;
    for (std::size_t i = 0; i < silent.size() && i < 3; ++i) {
      names += (i == 0 ? "" : ", ") + silent[i];
    }
    if (silent.size() > 3) names += ", ...";
    o.title = ctx_.domain + ": no reports from " +
              Plural(silent.size(), "usual reporter", "usual reporters") + " for " +
              internal::SpanText(opt_.reporter_silence) + " (" + names + ")";
    Details& d = o.details;
    d.summary = "These reporters sent reports about " + ctx_.domain + " on most of the " +
                Plural(static_cast<std::uint64_t>(data_days), "day", "days") + " with data before " +
                DayText(silent_from) + ", and none since (alerts.reporter_silence is " +
                internal::SpanText(opt_.reporter_silence) + "). " +
                (silent.size() == baseline_count.size()
                     ? "None of the usual reporters did: reports are probably not arriving."
                     : "Others still report, so the intake works.");
    for (const std::string& n : silent) {
      if (d.items.size() >= kMaxItems) break;
      d.items.push_back(n + ": last report for " + DayText(last_day[n]));
    }
    Finding f;
    f.code = "reporter_silence";
    f.severity = Severity::kWarning;
    f.title = "No reports from " + names;
    f.advice = "Check that reports can still reach you: the rua= address in the DMARC record of " +
               ctx_.domain +
               " (TXT at _dmarc." + ctx_.domain +
               "), the mailbox it names (reachable, not full), the poller (`dmarcwatch status`), "
               "and `dmarcwatch rejected` for reports that arrived and were refused. A single "
               "reporter pausing for a day or two happens; several at once usually means the "
               "intake is broken.";
    d.findings.push_back(std::move(f));
    d.from_day = silent_from;
    d.to_day = p_.today - 1;
    out_.push_back(std::move(o));
    return Status::Ok();
  }

  const RuleContext& ctx_;
  const AlertsOptions& opt_;
  const Periods& p_;
  Loaded window_;
  bool has_data_ = false;
  std::optional<std::vector<model::PublishedPolicy>> policies_;
  std::optional<analysis::DomainReport> lookback_;
  std::vector<Observation> out_;
};

}  // namespace

Periods ComputePeriods(const AlertsOptions& options, model::UnixTime now,
                       std::optional<std::int64_t> last_evaluated_to) {
  Periods p;
  p.today = model::DayNumber(now);
  const int days = WholeDays(options.window);
  p.window_to = p.today - 1;
  p.window_from = p.window_to - days + 1;
  const int catch_up = std::max(options.catch_up_days, days);
  std::int64_t from = p.window_to - catch_up + 1;
  if (last_evaluated_to) from = std::max(from, *last_evaluated_to + 1);
  p.lookback_from = std::min(p.window_from, from);
  return p;
}

Result<std::vector<Observation>> EvaluateDomain(const RuleContext& context) {
  DomainRules rules(context);
  return rules.Run();
}

std::vector<Observation> EvaluateMailboxes(const AlertsOptions& options,
                                           const std::vector<MailboxHealth>& mailboxes,
                                           const std::vector<Incident>& open, model::UnixTime now) {
  std::vector<Observation> out;
  std::set<std::string> reported;
  for (const MailboxHealth& m : mailboxes) {
    reported.insert(m.name);
    Observation o;
    o.rule = Rule::kIngestFailures;
    o.subject = m.name;
    if (m.consecutive_failures < options.ingest_failure_streak) {
      o.verdict = Verdict::kClear;
      out.push_back(std::move(o));
      continue;
    }
    o.verdict = Verdict::kFiring;
    o.severity = Severity::kCritical;
    o.value = m.consecutive_failures;
    o.first_seen = m.last_success.value_or(0);
    o.last_seen = m.last_failure.value_or(now);
    o.title = "mailbox " + m.name + ": " +
              Plural(m.consecutive_failures, "failed poll", "failed polls") + " in a row";
    Details& d = o.details;
    const std::string error = model::Printable(m.last_error, 300);
    d.summary = "dmarcwatch could not fetch reports from the mailbox " + m.name + " " +
                Plural(m.consecutive_failures, "time", "times") +
                " in a row (alerts.ingest_failure_streak is " +
                std::to_string(options.ingest_failure_streak) + "). " +
                (m.last_success ? "The last successful poll was at " +
                                      model::FormatIso8601(*m.last_success) + "."
                                : std::string("No poll has succeeded yet.")) +
                " Reports wait in the mailbox, so nothing is lost, but nothing new is analysed "
                "until it works again.";
    d.facts.emplace_back("failed polls in a row", Grouped(m.consecutive_failures));
    if (!error.empty()) d.facts.emplace_back("last error", error);
    if (m.last_failure) d.facts.emplace_back("last failure", model::FormatIso8601(*m.last_failure));
    Finding f;
    f.code = "ingest_failures";
    f.severity = Severity::kCritical;
    f.title = "The mailbox " + m.name + " cannot be polled";
    f.advice = "Check the [[mailboxes]] entry " + m.name +
               ": host, port and tls, the password_file (or the OAuth token), and that the "
               "server is reachable from this machine. `dmarcwatch poll --log-level information` "
               "shows each step.";
    d.findings.push_back(std::move(f));
    out.push_back(std::move(o));
  }
  for (const Incident& i : open) {
    if (i.rule != Rule::kIngestFailures || reported.count(i.subject) != 0) continue;
    Observation o;
    o.rule = Rule::kIngestFailures;
    o.subject = i.subject;
    o.verdict = Verdict::kClear;  // no longer configured
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace dmarcwatch::alerts
