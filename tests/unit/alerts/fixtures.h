#pragma once
// Test data for the alerts module: rollup rows built by hand, served by an
// in-memory RollupReader; a declared configuration like the demo's; a
// scripted DNS resolver. Pure data: no store, no network.

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dmarcwatch/alerts/engine.h"
#include "dmarcwatch/alerts/memory_store.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::alerts::testing {

using model::Counts;
using model::PathKind;
using model::PathRef;

// 2026-10-01, a Thursday.
inline const std::int64_t kOct1 = model::DayNumber(*model::ParseIsoTime("2026-10-01"));
inline model::UnixTime At(std::int64_t day, int hour = 0) { return day * 86400 + hour * 3600; }

// One rollup row: a day, a path, a reporter, a source IP with one
// authentication signature, and its counts.
struct Row {
  std::string domain = "example.com";
  std::int64_t day = 0;
  PathRef path;
  std::string reporter = "google.com";
  std::string ip = "192.0.2.1";
  model::AuthSignature signature;
  Counts counts;
};

inline model::DkimAuthResult Dkim(std::string domain, std::string selector, model::DkimResult r) {
  model::DkimAuthResult d;
  d.domain = std::move(domain);
  d.selector = std::move(selector);
  d.result = r;
  return d;
}

inline model::SpfAuthResult Spf(std::string domain, model::SpfResult r) {
  model::SpfAuthResult s;
  s.domain = std::move(domain);
  s.scope = model::SpfScope::kMfrom;
  s.result = r;
  return s;
}

inline Counts Msgs(std::uint64_t n, std::uint64_t pass, std::uint64_t spf, std::uint64_t dkim) {
  Counts c;
  c.messages = n;
  c.dmarc_pass = pass;
  c.spf_aligned = spf;
  c.dkim_aligned = dkim;
  c.rows = 1;
  return c;
}

inline PathRef Office() { return {"path:Office MTA", PathKind::kDirect, "Office MTA", ""}; }
inline PathRef SendGrid() { return {"path:SendGrid", PathKind::kSmarthost, "SendGrid", "sendgrid"}; }
inline PathRef Mailgun() { return {"undeclared:mailgun", PathKind::kUndeclared, "", "mailgun"}; }
inline PathRef Unknown() { return {"unknown", PathKind::kUnknown, "", ""}; }

// The office MTA, all aligned.
inline Row OfficeOk(std::int64_t day, std::uint64_t n, std::string reporter = "google.com") {
  Row r;
  r.day = day;
  r.path = Office();
  r.reporter = std::move(reporter);
  r.ip = "192.0.2.1";
  r.signature.header_from = "example.com";
  r.signature.envelope_from = "example.com";
  r.signature.dkim = {Dkim("example.com", "mta", model::DkimResult::kPass)};
  r.signature.spf = {Spf("example.com", model::SpfResult::kPass)};
  r.counts = Msgs(n, n, n, n);
  return r;
}

// An office host missing from SPF: DKIM carries DMARC.
inline Row OfficeSpfFail(std::int64_t day, std::uint64_t n) {
  Row r = OfficeOk(day, n);
  r.ip = "192.0.2.7";
  r.signature.spf = {Spf("example.com", model::SpfResult::kFail)};
  r.counts = Msgs(n, n, 0, n);
  return r;
}

// SendGrid without domain authentication: nothing aligns.
inline Row SendGridBad(std::int64_t day, std::uint64_t n, std::uint64_t pass = 0) {
  Row r;
  r.day = day;
  r.path = SendGrid();
  r.ip = "167.89.118.12";
  r.signature.header_from = "example.com";
  r.signature.envelope_from = "sendgrid.net";
  r.signature.dkim = {Dkim("sendgrid.info", "smtpapi", model::DkimResult::kPass)};
  r.signature.spf = {Spf("sendgrid.net", model::SpfResult::kPass)};
  r.counts = Msgs(n, pass, 0, pass);
  return r;
}

inline Row MailgunRow(std::int64_t day, std::uint64_t n) {
  Row r;
  r.day = day;
  r.path = Mailgun();
  r.ip = "159.135.24.54";
  r.signature.header_from = "example.com";
  r.signature.envelope_from = "mg.example.com";
  r.signature.dkim = {Dkim("mg.example.com", "krs", model::DkimResult::kPass),
                      Dkim("mailgun.org", "mg", model::DkimResult::kPass)};
  r.signature.spf = {Spf("mg.example.com", model::SpfResult::kPass)};
  r.counts = Msgs(n, n, n, n);
  return r;
}

inline Row Spoof(std::int64_t day, std::uint64_t n, std::string ip = "185.40.217.150",
                 std::string header_from = "example.com") {
  Row r;
  r.day = day;
  r.path = Unknown();
  r.ip = std::move(ip);
  r.signature.header_from = std::move(header_from);
  r.signature.envelope_from = "examp1e-billing.com";
  r.signature.spf = {Spf("examp1e-billing.com", model::SpfResult::kFail)};
  r.counts = Msgs(n, 0, 0, 0);
  return r;
}

// The rollups as a RollupReader over the rows.
class FakeRollups : public analysis::RollupReader {
 public:
  std::vector<Row> rows;
  std::vector<model::PublishedPolicy> policies;

  void Add(Row r) { rows.push_back(std::move(r)); }
  void SetPolicy(const std::string& domain, model::Disposition p) {
    model::PublishedPolicy pp;
    pp.domain = domain;
    pp.policy.domain = domain;
    pp.policy.p = p;
    policies.push_back(pp);
  }

  Result<std::vector<model::PathTotals>> PathTotals(const model::RollupQuery& q) override {
    std::map<std::string, model::PathTotals> by_key;
    std::map<std::string, std::set<std::string>> ips, reporters;
    for (const Row& r : Matching(q, false)) {
      model::PathTotals& t = by_key[r.path.key];
      if (t.path.key.empty()) {
        t.path = r.path;
        t.first_day = r.day;
        t.last_day = r.day;
      }
      t.counts.Add(r.counts);
      t.first_day = std::min(t.first_day, r.day);
      t.last_day = std::max(t.last_day, r.day);
      ips[r.path.key].insert(r.ip);
      reporters[r.path.key].insert(r.reporter);
    }
    std::vector<model::PathTotals> out;
    for (auto& [key, t] : by_key) {
      t.sources = ips[key].size();
      t.reporters = reporters[key].size();
      out.push_back(t);
    }
    return out;
  }

  Result<std::vector<model::SourceCounts>> Sources(const model::RollupQuery& q) override {
    std::map<std::tuple<std::string, std::string, std::string>, model::SourceCounts> groups;
    for (const Row& r : Matching(q, true)) {
      auto key = std::make_tuple(r.path.key, r.ip, SignatureKey(r.signature));
      model::SourceCounts& g = groups[key];
      if (g.path_key.empty()) {
        g.path_key = r.path.key;
        g.ip = *model::IpAddress::Parse(r.ip);
        g.signature = std::make_shared<const model::AuthSignature>(r.signature);
        g.first_day = r.day;
        g.last_day = r.day;
      }
      g.counts.Add(r.counts);
      g.first_day = std::min(g.first_day, r.day);
      g.last_day = std::max(g.last_day, r.day);
    }
    std::vector<model::SourceCounts> out;
    for (auto& [k, g] : groups) out.push_back(g);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.counts.messages > b.counts.messages;
    });
    if (out.size() > q.limit) out.resize(q.limit);
    return out;
  }

  Result<std::vector<model::DailyCounts>> Daily(const model::RollupQuery& q, bool by_path) override {
    std::map<std::pair<std::int64_t, std::string>, model::DailyCounts> days;
    for (const Row& r : Matching(q, true)) {
      const std::string key = by_path ? r.path.key : "";
      model::DailyCounts& d = days[{r.day, key}];
      d.day = r.day;
      d.path_key = key;
      d.counts.Add(r.counts);
    }
    std::vector<model::DailyCounts> out;
    for (auto& [k, d] : days) out.push_back(d);
    return out;
  }

  Result<std::vector<model::ReporterCounts>> Reporters(const model::RollupQuery& q) override {
    std::map<std::pair<std::string, std::string>, model::ReporterCounts> groups;
    for (const Row& r : Matching(q, true)) {
      model::ReporterCounts& g = groups[{r.path.key, r.reporter}];
      g.path_key = r.path.key;
      g.reporter = r.reporter;
      g.counts.Add(r.counts);
    }
    std::vector<model::ReporterCounts> out;
    for (auto& [k, g] : groups) out.push_back(g);
    return out;
  }

  Result<std::vector<model::PublishedPolicy>> Policies() override { return policies; }

  Result<std::pair<std::int64_t, std::int64_t>> DataDays(
      const std::optional<std::string>& domain) override {
    std::int64_t first = 1, last = 0;
    for (const Row& r : rows) {
      if (domain && !model::EqualsIgnoreCase(*domain, r.domain)) continue;
      if (first > last) {
        first = last = r.day;
      } else {
        first = std::min(first, r.day);
        last = std::max(last, r.day);
      }
    }
    return std::make_pair(first, last);
  }

  Result<std::vector<std::string>> Domains() override {
    std::set<std::string> d;
    for (const Row& r : rows) d.insert(r.domain);
    return std::vector<std::string>(d.begin(), d.end());
  }

 private:
  static std::string SignatureKey(const model::AuthSignature& s) {
    std::string k = s.header_from + "|" + s.envelope_from.value_or("") + "|";
    for (const auto& d : s.dkim) k += d.domain + "/" + d.selector.value_or("") + "/" +
                                      model::ToString(d.result) + ";";
    k += "|";
    for (const auto& p : s.spf) k += p.domain + "/" + model::ToString(p.result) + ";";
    return k;
  }

  std::vector<Row> Matching(const model::RollupQuery& q, bool with_path) const {
    std::vector<Row> out;
    for (const Row& r : rows) {
      if (q.domain && !model::EqualsIgnoreCase(*q.domain, r.domain)) continue;
      if (r.day < q.from_day || r.day > q.to_day) continue;
      if (with_path && q.path_key && *q.path_key != r.path.key) continue;
      out.push_back(r);
    }
    return out;
  }
};

// TXT answers by name; anything else is NXDOMAIN, or `failure` when set.
class ScriptedDns : public analysis::Resolver {
 public:
  std::map<std::string, std::vector<std::string>> txt;
  std::optional<analysis::DnsRcode> failure;

  std::vector<analysis::DnsAnswer> Resolve(
      const std::vector<analysis::DnsQuestion>& questions) override {
    std::vector<analysis::DnsAnswer> out;
    for (const analysis::DnsQuestion& q : questions) {
      analysis::DnsAnswer a;
      if (failure) {
        a.rcode = *failure;
      } else if (q.type == analysis::DnsType::kTxt && txt.count(q.name) != 0) {
        a.rcode = analysis::DnsRcode::kOk;
        a.values = txt[q.name];
      } else {
        a.rcode = analysis::DnsRcode::kNxDomain;
      }
      out.push_back(a);
    }
    return out;
  }
};

// The demo's organisation: an office MTA and SendGrid, for example.com.
inline analysis::AnalysisConfig DemoConfig() {
  analysis::AnalysisConfig c;
  c.domains = {"example.com"};
  analysis::DeclaredPath office;
  office.name = "Office MTA";
  office.kind = PathKind::kDirect;
  office.ips = {*model::IpNetwork::Parse("192.0.2.0/28")};
  office.dkim_domains = {"example.com"};
  analysis::DeclaredPath sendgrid;
  sendgrid.name = "SendGrid";
  sendgrid.kind = PathKind::kSmarthost;
  sendgrid.provider = "sendgrid";
  sendgrid.dkim_domains = {"example.com"};
  sendgrid.dkim_selectors = {"s1", "s2"};
  sendgrid.return_path_domains = {"em1234.example.com"};
  c.paths = {office, sendgrid};
  return c;
}

inline AlertsOptions DemoOptions() {
  AlertsOptions o;
  o.recipients = {"postmaster@example.com"};
  o.from = "dmarcwatch@example.com";
  o.dashboard_url = "https://dmarc.example.com";
  o.domains = {"example.com"};
  return o;
}

// Observations of one rule from a list.
inline std::vector<Observation> OfRule(const std::vector<Observation>& all, Rule rule) {
  std::vector<Observation> out;
  for (const Observation& o : all) {
    if (o.rule == rule) out.push_back(o);
  }
  return out;
}

inline const Observation* Firing(const std::vector<Observation>& all, Rule rule,
                                 const std::string& subject) {
  for (const Observation& o : all) {
    if (o.rule == rule && o.subject == subject && o.verdict == Verdict::kFiring) return &o;
  }
  return nullptr;
}

inline const Observation* Clear(const std::vector<Observation>& all, Rule rule,
                                const std::string& subject) {
  for (const Observation& o : all) {
    if (o.rule == rule && o.subject == subject && o.verdict == Verdict::kClear) return &o;
  }
  return nullptr;
}

// Background traffic so the domain has data every day: the office MTA
// from six reporters.
inline void Background(FakeRollups& r, std::int64_t from_day, std::int64_t to_day) {
  for (std::int64_t d = from_day; d <= to_day; ++d) {
    for (const char* reporter :
         {"google.com", "Yahoo", "Enterprise Outlook", "Mail.Ru", "GMX", "comcast.net"}) {
      r.Add(OfficeOk(d, 50, reporter));
    }
  }
}

}  // namespace dmarcwatch::alerts::testing

// Printing for test failure messages.
namespace dmarcwatch::analysis {
inline std::ostream& operator<<(std::ostream& os, Severity s) { return os << ToString(s); }
}  // namespace dmarcwatch::analysis
namespace dmarcwatch::alerts {
inline std::ostream& operator<<(std::ostream& os, IncidentState s) { return os << ToString(s); }
inline std::ostream& operator<<(std::ostream& os, OutboxState s) { return os << ToString(s); }
inline std::ostream& operator<<(std::ostream& os, Notice n) { return os << ToString(n); }
inline std::ostream& operator<<(std::ostream& os, Rule r) { return os << ToString(r); }
}  // namespace dmarcwatch::alerts
