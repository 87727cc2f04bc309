#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/store.h"
#include "store_backend.h"

// Record analysis and the rollups kept from it, against real SQLite (a
// file in a fresh temporary directory, or ":memory:"). The rollups are
// always checked against sums computed here, by hand or from the stored
// reports and analyses themselves; a second Poco::Data connection stands
// for another program where a test needs one (an older dmarcwatch, or a
// fault).

namespace {

namespace fs = std::filesystem;
namespace m = dmarcwatch::model;
using dmarcwatch::testing::DatabaseIn;
using dmarcwatch::testing::FreshDatabase;
using dmarcwatch::testing::kOnPostgres;
using dmarcwatch::testing::OtherConnection;
using dmarcwatch::testing::SqliteOnly;
using dmarcwatch::Status;
using dmarcwatch::StatusCode;
using dmarcwatch::store::DnsCacheEntry;
using dmarcwatch::store::InputRecord;
using dmarcwatch::store::ReportFilter;
using dmarcwatch::store::RollupFilter;
using dmarcwatch::store::SaveKind;
using dmarcwatch::store::Store;
using dmarcwatch::store::StoreOptions;
using Poco::Data::Keywords::now;

template <typename T>
std::string Why(const dmarcwatch::Result<T> &r) {
  return r.ok() ? std::string("ok") : r.status().ToString();
}

constexpr m::UnixTime kDay0 = 1718236800;  // 2024-06-13T00:00:00Z
constexpr std::int64_t kDayNumber0 = 19887;
constexpr std::uint64_t kInt64Max =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "dmarcwatch-rollup-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string File(const std::string &name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// keep_answers false: a store that computes every period answer.
std::unique_ptr<Store> OpenStore(const std::string &database, bool keep_answers = true) {
  StoreOptions options;
  options.database = database;
  options.busy_timeout_ms = 2000;
  options.keep_answers = keep_answers;
  auto opened = Store::Open(options);
  BOOST_REQUIRE_MESSAGE(opened.ok(), Why(opened));
  return std::move(*opened);
}

std::int64_t PutInput(Store &store, const std::string &sha256 = "in-1") {
  InputRecord input;
  input.sha256 = sha256;
  input.channel = "file";
  input.origin = "/var/spool/" + sha256;
  input.name = sha256 + ".xml";
  input.received_at = kDay0;
  input.raw = "raw bytes";
  input.size = input.raw.size();
  auto id = store.PutInput(input);
  BOOST_REQUIRE_MESSAGE(id.ok(), Why(id));
  return *id;
}

m::IpAddress Ip(const std::string &text) {
  auto ip = m::IpAddress::Parse(text);
  BOOST_REQUIRE_MESSAGE(ip.has_value(), text);
  return *ip;
}

m::Record MakeRecord(const std::string &ip, std::uint64_t count,
                     m::AppliedDisposition disposition = m::AppliedDisposition::kNone) {
  m::Record r;
  r.source_ip = Ip(ip);
  r.count = count;
  r.policy_evaluated.disposition = disposition;
  r.policy_evaluated.dkim = m::DmarcResult::kPass;
  r.policy_evaluated.spf = m::DmarcResult::kFail;
  r.identifiers.header_from = "example.com";
  r.auth_results.dkim.push_back({"example.com", "s1", m::DkimResult::kPass, std::nullopt});
  r.auth_results.spf.push_back(
      {"bounce.example.com", m::SpfScope::kMfrom, m::SpfResult::kSoftFail, std::nullopt});
  return r;
}

m::Report MakeReport(const std::string &org, const std::string &report_id,
                     const std::string &domain, m::UnixTime begin,
                     std::vector<m::Record> records = {}) {
  m::Report r;
  r.report_metadata.org_name = org;
  r.report_metadata.email = "noreply@example.net";
  r.report_metadata.report_id = report_id;
  r.report_metadata.date_range = {begin, begin + 86399};
  r.policy_published.domain = domain;
  r.policy_published.p = m::Disposition::kNone;
  r.records = std::move(records);
  r.provenance.channel = "file";
  r.provenance.origin = "/var/spool/" + report_id;
  r.provenance.payload_chain = "xml";
  r.provenance.payload_name = report_id + ".xml";
  r.provenance.received_at = begin;
  r.provenance.sha256_raw = "ab" + report_id;
  return r;
}

struct PathInfo {
  std::string key;
  m::PathKind kind;
  std::string name;
  std::string provider;
};

const PathInfo kOffice{"path:Office MTA", m::PathKind::kDirect, "Office MTA", ""};
const PathInfo kSendGrid{"path:SendGrid", m::PathKind::kSmarthost, "SendGrid", "sendgrid"};
const PathInfo kMailgun{"undeclared:mailgun", m::PathKind::kUndeclared, "", "mailgun"};
const PathInfo kForwarder{"forwarder", m::PathKind::kForwarder, "", ""};
const PathInfo kUnknownPath{"unknown", m::PathKind::kUnknown, "", ""};

// Flags, in the order spf, dkim, dmarc, disagrees.
m::RecordAnalysis Attributed(const PathInfo &path, bool spf, bool dkim, bool dmarc,
                             bool disagrees = false) {
  m::RecordAnalysis a;
  a.path_key = path.key;
  a.kind = path.kind;
  a.path_name = path.name;
  a.provider = path.provider;
  a.rule = path.kind == m::PathKind::kDirect ? 1 : 3;
  a.evidence = "matched " + path.key;
  a.spf_aligned = spf;
  a.dkim_aligned = dkim;
  a.dmarc_pass = dmarc;
  a.disagrees = disagrees;
  return a;
}

m::ReportAnalysis AllOn(const PathInfo &path, std::size_t records, const std::string &fp = "fp1") {
  m::ReportAnalysis a;
  a.fingerprint = fp;
  for (std::size_t i = 0; i < records; ++i) a.records.push_back(Attributed(path, true, true, true));
  return a;
}

dmarcwatch::store::SaveResult Save(Store &store, std::int64_t input_id, const m::Report &report,
                                   const std::string &digest, const m::ReportAnalysis *analysis) {
  auto saved = store.SaveReport(input_id, report, digest, kDay0 + 100000, analysis);
  BOOST_REQUIRE_MESSAGE(saved.ok(), Why(saved));
  return *saved;
}

RollupFilter Period(std::int64_t from_day, std::int64_t to_day,
                    std::optional<std::string> domain = std::nullopt,
                    std::optional<std::string> path_key = std::nullopt) {
  RollupFilter f;
  f.from_day = from_day;
  f.to_day = to_day;
  f.domain = std::move(domain);
  f.path_key = std::move(path_key);
  return f;
}

RollupFilter Everything() { return Period(-1000000, 1000000); }

std::string Show(const m::Counts &c) {
  std::ostringstream out;
  out << "messages=" << c.messages << " dmarc_pass=" << c.dmarc_pass
      << " spf_aligned=" << c.spf_aligned << " dkim_aligned=" << c.dkim_aligned
      << " disagreements=" << c.disagreements << " quarantined=" << c.quarantined
      << " rejected=" << c.rejected << " rows=" << c.rows;
  return out.str();
}

m::Counts MakeCounts(std::uint64_t messages, std::uint64_t dmarc_pass, std::uint64_t spf,
                     std::uint64_t dkim, std::uint64_t disagreements, std::uint64_t quarantined,
                     std::uint64_t rejected, std::uint64_t rows) {
  m::Counts c;
  c.messages = messages;
  c.dmarc_pass = dmarc_pass;
  c.spf_aligned = spf;
  c.dkim_aligned = dkim;
  c.disagreements = disagreements;
  c.quarantined = quarantined;
  c.rejected = rejected;
  c.rows = rows;
  return c;
}

std::string ShowSignature(const m::AuthSignature &s) {
  std::ostringstream out;
  out << "from=" << s.header_from << " env=" << (s.envelope_from ? *s.envelope_from : "<absent>");
  for (const m::DkimAuthResult &d : s.dkim) {
    out << " dkim(" << d.domain << "," << (d.selector ? *d.selector : "<absent>") << ","
        << m::ToString(d.result) << "," << (d.human_result ? *d.human_result : "<absent>") << ")";
  }
  for (const m::SpfAuthResult &x : s.spf) {
    out << " spf(" << x.domain << "," << m::ToString(x.scope) << "," << m::ToString(x.result) << ","
        << (x.human_result ? *x.human_result : "<absent>") << ")";
  }
  for (m::PolicyOverride r : s.reasons) out << " reason=" << m::ToString(r);
  out << " disposition=" << m::ToString(s.disposition);
  return out.str();
}

m::AuthSignature SignatureOf(const m::Record &r) {
  m::AuthSignature s;
  s.header_from = r.identifiers.header_from;
  s.envelope_from = r.identifiers.envelope_from;
  s.dkim = r.auth_results.dkim;
  s.spf = r.auth_results.spf;
  for (const m::PolicyOverrideReason &reason : r.policy_evaluated.reasons) {
    s.reasons.push_back(reason.type);
  }
  s.disposition = r.policy_evaluated.disposition;
  return s;
}

std::string Join(const std::vector<std::string> &lines) {
  std::string out;
  for (const std::string &l : lines) out += l + "\n";
  return out;
}

// ---- What the store answers, one line per row ------------------------------

std::string PathLine(const std::string &key, m::PathKind kind, const std::string &name,
                     const std::string &provider, const m::Counts &c, std::uint64_t sources,
                     std::uint64_t reporters, std::int64_t first, std::int64_t last) {
  std::ostringstream out;
  out << key << " | " << m::ToString(kind) << " | " << name << " | " << provider << " | " << Show(c)
      << " | sources=" << sources << " reporters=" << reporters << " days=" << first << ".."
      << last;
  return out.str();
}

std::string DailyLine(std::int64_t day, const std::string &key, const m::Counts &c) {
  return std::to_string(day) + " | " + key + " | " + Show(c);
}

std::string ReporterLine(const std::string &key, const std::string &reporter, const m::Counts &c) {
  return key + " | " + reporter + " | " + Show(c);
}

std::string SourceLine(const std::string &key, const std::string &ip, const std::string &signature,
                       const m::Counts &c, std::int64_t first, std::int64_t last) {
  return key + " | " + ip + " | " + signature + " | " + Show(c) +
         " | days=" + std::to_string(first) + ".." + std::to_string(last);
}

std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<m::PathTotals> PathTotals(Store &store, const RollupFilter &f) {
  auto totals = store.QueryPathTotals(f);
  BOOST_REQUIRE_MESSAGE(totals.ok(), Why(totals));
  return *totals;
}

std::vector<std::string> PathLines(Store &store, const RollupFilter &f) {
  std::vector<std::string> out;
  for (const m::PathTotals &t : PathTotals(store, f)) {
    out.push_back(PathLine(t.path.key, t.path.kind, t.path.name, t.path.provider, t.counts,
                           t.sources, t.reporters, t.first_day, t.last_day));
  }
  return out;
}

std::vector<std::string> DailyLines(Store &store, const RollupFilter &f, bool by_path) {
  auto daily = store.QueryDaily(f, by_path);
  BOOST_REQUIRE_MESSAGE(daily.ok(), Why(daily));
  std::vector<std::string> out;
  for (const m::DailyCounts &d : *daily) out.push_back(DailyLine(d.day, d.path_key, d.counts));
  return out;
}

std::vector<std::string> ReporterLines(Store &store, const RollupFilter &f) {
  auto reporters = store.QueryReporters(f);
  BOOST_REQUIRE_MESSAGE(reporters.ok(), Why(reporters));
  std::vector<std::string> out;
  for (const m::ReporterCounts &r : *reporters) {
    out.push_back(ReporterLine(r.path_key, r.reporter, r.counts));
  }
  return out;
}

std::vector<m::SourceCounts> Sources(Store &store, const RollupFilter &f) {
  auto sources = store.QuerySources(f);
  BOOST_REQUIRE_MESSAGE(sources.ok(), Why(sources));
  return *sources;
}

std::vector<std::string> SourceLines(Store &store, const RollupFilter &f) {
  std::vector<std::string> out;
  for (const m::SourceCounts &s : Sources(store, f)) {
    out.push_back(SourceLine(s.path_key, s.ip.ToString(), ShowSignature(*s.signature), s.counts,
                             s.first_day, s.last_day));
  }
  return out;
}

// Every rollup query over one filter, for "nothing changed" checks.
std::string Snapshot(Store &store, const RollupFilter &f) {
  return "paths\n" + Join(PathLines(store, f)) + "daily\n" + Join(DailyLines(store, f, true)) +
         "days\n" + Join(DailyLines(store, f, false)) + "reporters\n" +
         Join(ReporterLines(store, f)) + "sources\n" + Join(SourceLines(store, f));
}

std::optional<m::PathTotals> PathOf(Store &store, const RollupFilter &f, const std::string &key) {
  for (m::PathTotals &t : PathTotals(store, f)) {
    if (t.path.key == key) return t;
  }
  return std::nullopt;
}

m::ReportAnalysis GetAnalysis(Store &store, std::int64_t id) {
  auto a = store.GetAnalysis(id);
  BOOST_REQUIRE_MESSAGE(a.ok(), Why(a));
  return *a;
}

std::string ShowAnalysis(const m::ReportAnalysis &a) {
  std::ostringstream out;
  out << "fingerprint=" << a.fingerprint << "\n";
  for (const m::RecordAnalysis &r : a.records) {
    out << r.path_key << " | " << m::ToString(r.kind) << " | " << r.path_name << " | " << r.provider
        << " | rule=" << r.rule << " | " << r.evidence << " | spf=" << r.spf_aligned
        << " dkim=" << r.dkim_aligned << " dmarc=" << r.dmarc_pass << " disagrees=" << r.disagrees
        << "\n";
  }
  return out.str();
}

std::vector<std::int64_t> ToAnalyze(Store &store, const std::string &fp, std::int64_t after = 0,
                                    std::uint32_t limit = 1000) {
  auto ids = store.ReportsToAnalyze(fp, after, limit);
  BOOST_REQUIRE_MESSAGE(ids.ok(), Why(ids));
  if (after == 0) {
    // The quick question agrees with the list wherever a test asks for it.
    auto any = store.AnyReportToAnalyze(fp);
    BOOST_REQUIRE_MESSAGE(any.ok(), Why(any));
    BOOST_TEST(*any == !ids->empty());
  }
  return *ids;
}

std::vector<std::int64_t> AllReportIds(Store &store, std::int64_t after = 0,
                                       std::uint32_t limit = 100000) {
  auto ids = store.ReportIds(after, limit);
  BOOST_REQUIRE_MESSAGE(ids.ok(), Why(ids));
  return *ids;
}

// ---- The rollups recomputed from scratch -----------------------------------

// One analysed row of a counted report, as GetReport and GetAnalysis give it.
struct RefRow {
  std::string domain;  // lower-cased
  std::int64_t day = 0;
  std::string reporter;
  std::string path_key;
  m::PathKind kind = m::PathKind::kUnknown;
  std::string path_name;
  std::string provider;
  std::string ip;
  std::string signature;
  m::Counts counts;
};

std::vector<RefRow> Recompute(Store &store) {
  ReportFilter all;
  all.limit = 100000;
  auto listed = store.ListReports(all);
  BOOST_REQUIRE_MESSAGE(listed.ok(), Why(listed));
  std::set<std::int64_t> conflicts;
  for (const auto &row : *listed) {
    if (row.duplicate_of) conflicts.insert(row.id);
  }
  std::vector<RefRow> rows;
  for (std::int64_t id : AllReportIds(store)) {
    if (conflicts.count(id) != 0) continue;
    auto report = store.GetReport(id);
    BOOST_REQUIRE_MESSAGE(report.ok(), Why(report));
    const m::ReportAnalysis analysis = GetAnalysis(store, id);
    BOOST_REQUIRE_EQUAL(analysis.records.size(), report->records.size());
    for (std::size_t k = 0; k < report->records.size(); ++k) {
      const m::Record &rec = report->records[k];
      const m::RecordAnalysis &a = analysis.records[k];
      if (a.path_key.empty()) continue;  // never analysed
      RefRow r;
      r.domain = m::AsciiLower(report->policy_published.domain);
      r.day = m::DayNumber(report->report_metadata.date_range.begin);
      r.reporter = report->report_metadata.org_name;
      r.path_key = a.path_key;
      r.kind = a.kind;
      r.path_name = a.path_name;
      r.provider = a.provider;
      r.ip = rec.source_ip.ToString();
      r.signature = ShowSignature(SignatureOf(rec));
      const std::uint64_t n = rec.count;
      const m::AppliedDisposition d = rec.policy_evaluated.disposition;
      r.counts = MakeCounts(n, a.dmarc_pass ? n : 0, a.spf_aligned ? n : 0, a.dkim_aligned ? n : 0,
                            a.disagrees ? n : 0, d == m::AppliedDisposition::kQuarantine ? n : 0,
                            d == m::AppliedDisposition::kReject ? n : 0, 1);
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

bool Selected(const RefRow &r, const RollupFilter &f, bool use_path) {
  if (r.day < f.from_day || r.day > f.to_day) return false;
  if (f.domain && r.domain != m::AsciiLower(*f.domain)) return false;
  if (use_path && f.path_key && r.path_key != *f.path_key) return false;
  return true;
}

std::vector<std::string> ExpectedPathLines(const std::vector<RefRow> &rows, const RollupFilter &f) {
  struct Acc {
    const RefRow *first = nullptr;
    m::Counts counts;
    std::set<std::string> ips, reporters;
    std::int64_t min_day = 0, max_day = 0;
  };
  std::map<std::string, Acc> by_path;
  for (const RefRow &r : rows) {
    if (!Selected(r, f, false)) continue;
    Acc &a = by_path[r.path_key];
    if (a.first == nullptr) {
      a.first = &r;
      a.min_day = a.max_day = r.day;
    }
    a.counts.Add(r.counts);
    a.ips.insert(r.ip);
    a.reporters.insert(r.reporter);
    a.min_day = std::min(a.min_day, r.day);
    a.max_day = std::max(a.max_day, r.day);
  }
  std::vector<std::string> out;
  for (const auto &[key, a] : by_path) {
    out.push_back(PathLine(key, a.first->kind, a.first->path_name, a.first->provider, a.counts,
                           a.ips.size(), a.reporters.size(), a.min_day, a.max_day));
  }
  return out;
}

std::vector<std::string> ExpectedDailyLines(const std::vector<RefRow> &rows, const RollupFilter &f,
                                            bool by_path) {
  std::map<std::pair<std::int64_t, std::string>, m::Counts> sums;
  for (const RefRow &r : rows) {
    if (Selected(r, f, true)) sums[{r.day, by_path ? r.path_key : ""}].Add(r.counts);
  }
  std::vector<std::string> out;
  for (const auto &[key, c] : sums) out.push_back(DailyLine(key.first, key.second, c));
  return out;
}

std::vector<std::string> ExpectedReporterLines(const std::vector<RefRow> &rows,
                                               const RollupFilter &f) {
  std::map<std::pair<std::string, std::string>, m::Counts> sums;
  for (const RefRow &r : rows) {
    if (Selected(r, f, true)) sums[{r.path_key, r.reporter}].Add(r.counts);
  }
  std::vector<std::string> out;
  for (const auto &[key, c] : sums) out.push_back(ReporterLine(key.first, key.second, c));
  return out;
}

std::vector<std::string> ExpectedSourceLines(const std::vector<RefRow> &rows,
                                             const RollupFilter &f) {
  struct Acc {
    m::Counts counts;
    std::int64_t min_day = std::numeric_limits<std::int64_t>::max();
    std::int64_t max_day = std::numeric_limits<std::int64_t>::min();
  };
  std::map<std::tuple<std::string, std::string, std::string>, Acc> sums;
  for (const RefRow &r : rows) {
    if (!Selected(r, f, true)) continue;
    Acc &a = sums[{r.path_key, r.ip, r.signature}];
    a.counts.Add(r.counts);
    a.min_day = std::min(a.min_day, r.day);
    a.max_day = std::max(a.max_day, r.day);
  }
  std::vector<std::string> out;
  for (const auto &[key, a] : sums) {
    out.push_back(SourceLine(std::get<0>(key), std::get<1>(key), std::get<2>(key), a.counts,
                             a.min_day, a.max_day));
  }
  return out;
}

// Compares every rollup query over `f` with the recomputation.
void CheckQueries(Store &store, const std::vector<RefRow> &rows, const RollupFilter &f,
                  const std::string &what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST(Join(Sorted(PathLines(store, f))) == Join(ExpectedPathLines(rows, f)));
    BOOST_TEST(Join(Sorted(DailyLines(store, f, true))) ==
               Join(Sorted(ExpectedDailyLines(rows, f, true))));
    BOOST_TEST(Join(Sorted(DailyLines(store, f, false))) ==
               Join(Sorted(ExpectedDailyLines(rows, f, false))));
    BOOST_TEST(Join(Sorted(ReporterLines(store, f))) ==
               Join(Sorted(ExpectedReporterLines(rows, f))));
    BOOST_TEST(Join(Sorted(SourceLines(store, f))) == Join(Sorted(ExpectedSourceLines(rows, f))));
  }
}

// The rollups against a recomputation over the whole period, sub-periods,
// each domain (asked in another case) and each path.
void CheckAgainstRecomputation(Store &store, std::int64_t first_day, std::int64_t last_day) {
  const std::vector<RefRow> rows = Recompute(store);
  BOOST_REQUIRE(!rows.empty());
  std::set<std::string> domains, paths;
  for (const RefRow &r : rows) {
    domains.insert(r.domain);
    paths.insert(r.path_key);
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> periods = {{first_day - 10, last_day + 10},
                                                                {first_day, last_day},
                                                                {first_day, first_day + 1},
                                                                {first_day + 2, last_day - 1},
                                                                {last_day, last_day},
                                                                {last_day + 1, last_day + 5},
                                                                {last_day, first_day}};
  for (std::int64_t d = first_day; d <= last_day; ++d) periods.emplace_back(d, d);
  for (const auto &[from, to] : periods) {
    const std::string period = std::to_string(from) + ".." + std::to_string(to);
    CheckQueries(store, rows, Period(from, to), "period " + period);
    for (const std::string &domain : domains) {
      std::string asked = domain;
      if (!asked.empty()) asked[0] = static_cast<char>(std::toupper(asked[0]));
      CheckQueries(store, rows, Period(from, to, asked), "period " + period + " domain " + asked);
    }
  }
  for (const std::string &path : paths) {
    CheckQueries(store, rows, Period(first_day, last_day, std::nullopt, path), "path " + path);
    for (const std::string &domain : domains) {
      CheckQueries(store, rows, Period(first_day + 1, last_day, domain, path),
                   "path " + path + " domain " + domain);
    }
  }
}

// ---- A fault from outside: a trigger that aborts one statement --------------

// While alive, the statement `event` (e.g. "BEFORE INSERT ON rollup_sources",
// the table last) fails in every connection to the database.
class FailingTrigger {
 public:
  FailingTrigger(const std::string &path, const std::string &event)
      : session_(OtherConnection(path)), table_(event.substr(event.rfind(' ') + 1)) {
    if (kOnPostgres) {
      session_ << "CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS "
                  "'BEGIN RAISE EXCEPTION ''injected fault''; END'",
          now;
      session_ << "CREATE TRIGGER injected_fault " + event +
                      " FOR EACH ROW EXECUTE FUNCTION injected_fault()",
          now;
    } else {
      session_ << "CREATE TRIGGER injected_fault " + event +
                      " BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
          now;
    }
  }
  ~FailingTrigger() {
    try {
      if (kOnPostgres) {
        session_ << "DROP TRIGGER IF EXISTS injected_fault ON " + table_, now;
        session_ << "DROP FUNCTION IF EXISTS injected_fault()", now;
      } else {
        session_ << "DROP TRIGGER IF EXISTS injected_fault", now;
      }
    } catch (...) {
    }
  }
  FailingTrigger(const FailingTrigger &) = delete;
  FailingTrigger &operator=(const FailingTrigger &) = delete;

 private:
  Poco::Data::Session session_;
  std::string table_;
};

// ---- A generated history ---------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::size_t Pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool Coin() { return Pick(2) == 1; }

  m::Record Record() {
    static const std::vector<std::string> kIps = {"192.0.2.1",   "192.0.2.2",   "192.0.2.3",
                                                  "192.0.2.4",   "192.0.2.5",   "192.0.2.6",
                                                  "2001:db8::1", "2001:db8::2", "198.51.100.7"};
    static const std::vector<m::AppliedDisposition> kDispositions = {
        m::AppliedDisposition::kNone, m::AppliedDisposition::kPass,
        m::AppliedDisposition::kQuarantine, m::AppliedDisposition::kReject};
    m::Record r = MakeRecord(kIps[Pick(kIps.size())], Pick(1001), kDispositions[Pick(4)]);
    r.identifiers.header_from = Coin() ? "example.com" : "Example.COM";
    switch (Pick(3)) {
      case 0:
        r.identifiers.envelope_from = std::nullopt;
        break;
      case 1:
        r.identifiers.envelope_from = "example.com";
        break;
      default:
        r.identifiers.envelope_from = "bounce.example.com";
        break;
    }
    r.auth_results.dkim = {{"example.com", Coin() ? "s1" : "s2",
                            Coin() ? m::DkimResult::kPass : m::DkimResult::kFail, std::nullopt}};
    r.auth_results.spf = {{"bounce.example.com", m::SpfScope::kMfrom,
                           Coin() ? m::SpfResult::kPass : m::SpfResult::kSoftFail, std::nullopt}};
    if (Pick(4) == 0) {
      r.policy_evaluated.reasons = {{m::PolicyOverride::kForwarded, std::nullopt}};
    }
    return r;
  }

  m::ReportAnalysis Analysis(const m::Report &report, const std::string &fp) {
    static const std::vector<const PathInfo *> kPaths = {&kOffice, &kSendGrid, &kMailgun,
                                                         &kForwarder, &kUnknownPath};
    m::ReportAnalysis a;
    a.fingerprint = fp;
    for (std::size_t i = 0; i < report.records.size(); ++i) {
      a.records.push_back(Attributed(*kPaths[Pick(kPaths.size())], Coin(), Coin(), Coin(), Coin()));
    }
    return a;
  }

 private:
  std::mt19937 rng_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(rollups)

// --- what a save stores
// -------------------------------------------------------

BOOST_AUTO_TEST_CASE(saving_with_an_analysis_round_trips_every_analysis_column) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport(
      "google.com", "r1", "example.com", kDay0,
      {MakeRecord("192.0.2.1", 1), MakeRecord("192.0.2.2", 2), MakeRecord("2001:db8::1", 3),
       MakeRecord("198.51.100.7", 4), MakeRecord("192.0.2.9", 5)});
  m::ReportAnalysis analysis;
  analysis.fingerprint = "cfg-\xe2\x9c\x93-\"7\"";
  analysis.records = {
      Attributed(kOffice, true, false, true, false),
      Attributed(kSendGrid, false, true, true, true),
      Attributed(kMailgun, false, false, false, false),
      Attributed(kForwarder, true, true, false, true),
      Attributed(kUnknownPath, false, true, false, false),
  };
  analysis.records[0].evidence = "ip 192.0.2.1 in 192.0.2.0/28";
  analysis.records[1].evidence =
      "dkim d=\"sendgrid.info\" \\ s=s1 \xc3\xa4\xe2\x9c\x93\nsecond line";
  analysis.records[2].rule = 5;
  analysis.records[2].evidence = "";
  analysis.records[3].rule = 2;
  analysis.records[4].rule = 6;
  analysis.records[4].evidence = "nothing matched";

  const auto saved = Save(*store, input, report, "d1", &analysis);
  BOOST_TEST((saved.kind == SaveKind::kNew));
  BOOST_TEST(ShowAnalysis(GetAnalysis(*store, saved.report_row_id)) == ShowAnalysis(analysis));
  // The report itself is unchanged by carrying an analysis.
  auto back = store->GetReport(saved.report_row_id);
  BOOST_REQUIRE_MESSAGE(back.ok(), Why(back));
  BOOST_TEST(back->records.size() == 5u);
  BOOST_TEST(back->records[4].count == 5u);

  auto missing = store->GetAnalysis(saved.report_row_id + 100);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.status().code() == StatusCode::kNotFound));
}

BOOST_AUTO_TEST_CASE(rollups_of_saved_reports_equal_sums_by_hand) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  using D = m::AppliedDisposition;
  const m::Report r1 =
      MakeReport("google.com", "r1", "Example.COM", kDay0 + 3600,
                 {MakeRecord("192.0.2.1", 10, D::kNone), MakeRecord("192.0.2.2", 5, D::kQuarantine),
                  MakeRecord("192.0.2.1", 7, D::kReject), MakeRecord("198.51.100.9", 2, D::kNone)});
  m::ReportAnalysis a1;
  a1.fingerprint = "fp1";
  a1.records = {
      Attributed(kOffice, true, true, true), Attributed(kOffice, true, false, false, true),
      Attributed(kOffice, false, false, false), Attributed(kForwarder, false, true, true)};
  const m::Report r2 = MakeReport("Yahoo", "r2", "example.com", kDay0 + 7200,
                                  {MakeRecord("2001:db8::5", 1, D::kQuarantine)});
  m::ReportAnalysis a2 = AllOn(kOffice, 1);
  const m::Report r3 = MakeReport("google.com", "r3", "example.com", kDay0 + 10000,
                                  {MakeRecord("192.0.2.1", 4, D::kNone)});
  m::ReportAnalysis a3;
  a3.fingerprint = "fp1";
  a3.records = {Attributed(kOffice, false, false, false, true)};
  // The next day: outside a query of the first day.
  const m::Report r4 = MakeReport("google.com", "r4", "example.com", kDay0 + 86400,
                                  {MakeRecord("192.0.2.7", 100, D::kReject)});
  const m::ReportAnalysis a4 = AllOn(kOffice, 1);
  Save(*store, input, r1, "d1", &a1);
  Save(*store, input, r2, "d2", &a2);
  Save(*store, input, r3, "d3", &a3);
  Save(*store, input, r4, "d4", &a4);

  const RollupFilter day0 = Period(kDayNumber0, kDayNumber0);
  const std::vector<std::string> expected = {
      PathLine("forwarder", m::PathKind::kForwarder, "", "", MakeCounts(2, 2, 0, 2, 0, 0, 0, 1), 1,
               1, kDayNumber0, kDayNumber0),
      PathLine("path:Office MTA", m::PathKind::kDirect, "Office MTA", "",
               MakeCounts(27, 11, 16, 11, 9, 6, 7, 5), 3, 2, kDayNumber0, kDayNumber0),
  };
  BOOST_TEST(Join(PathLines(*store, day0)) == Join(expected));

  const auto both_days = PathOf(*store, Period(kDayNumber0, kDayNumber0 + 1), kOffice.key);
  BOOST_REQUIRE(both_days.has_value());
  BOOST_TEST(Show(both_days->counts) == Show(MakeCounts(127, 111, 116, 111, 9, 6, 107, 6)));
  BOOST_TEST(both_days->sources == 4u);
  BOOST_TEST(both_days->last_day == kDayNumber0 + 1);

  BOOST_TEST(Join(DailyLines(*store, day0, false)) ==
             Join({DailyLine(kDayNumber0, "", MakeCounts(29, 13, 16, 13, 9, 6, 7, 6))}));
  BOOST_TEST(Join(ReporterLines(*store, day0)) ==
             Join({ReporterLine("forwarder", "google.com", MakeCounts(2, 2, 0, 2, 0, 0, 0, 1)),
                   ReporterLine("path:Office MTA", "Yahoo", MakeCounts(1, 1, 1, 1, 0, 1, 0, 1)),
                   ReporterLine("path:Office MTA", "google.com",
                                MakeCounts(26, 10, 15, 10, 9, 5, 7, 4))}));
}

// --- analysing later
// ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_report_saved_without_analysis_is_counted_only_once_analysed) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport(
      "google.com", "r1", "example.com", kDay0,
      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4), MakeRecord("192.0.2.3", 5)});
  const auto saved = Save(*store, input, report, "d1", nullptr);

  BOOST_TEST(PathLines(*store, Everything()).empty());
  BOOST_TEST(DailyLines(*store, Everything(), false).empty());
  BOOST_TEST(SourceLines(*store, Everything()).empty());
  const m::ReportAnalysis none = GetAnalysis(*store, saved.report_row_id);
  BOOST_TEST(none.fingerprint.empty());
  BOOST_REQUIRE_EQUAL(none.records.size(), 3u);
  for (const m::RecordAnalysis &r : none.records) BOOST_TEST(r.path_key.empty());
  BOOST_TEST(ToAnalyze(*store, "fp1") == std::vector<std::int64_t>{saved.report_row_id});

  const Status replaced = store->ReplaceAnalysis(saved.report_row_id, AllOn(kOffice, 3, "fp1"));
  BOOST_REQUIRE_MESSAGE(replaced.ok(), replaced.ToString());
  const auto office = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(office.has_value());
  BOOST_TEST(Show(office->counts) == Show(MakeCounts(12, 12, 12, 12, 0, 0, 0, 3)));
  BOOST_TEST(office->sources == 3u);
  BOOST_TEST(ToAnalyze(*store, "fp1").empty());
  BOOST_TEST(ToAnalyze(*store, "fp2") == std::vector<std::int64_t>{saved.report_row_id});
  BOOST_TEST(GetAnalysis(*store, saved.report_row_id).fingerprint == "fp1");
}

BOOST_AUTO_TEST_CASE(reports_to_analyze_and_report_ids_page_oldest_first) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    const m::Report r = MakeReport("google.com", "r" + std::to_string(i), "example.com", kDay0,
                                   {MakeRecord("192.0.2.1", 1)});
    const m::ReportAnalysis fp1 = AllOn(kOffice, 1, "fp1");
    const m::ReportAnalysis fp0 = AllOn(kOffice, 1, "fp0");
    const m::ReportAnalysis *a = i == 1 || i == 3 ? &fp1 : i == 4 ? &fp0 : nullptr;
    ids.push_back(Save(*store, input, r, "d" + std::to_string(i), a).report_row_id);
  }
  BOOST_TEST(ToAnalyze(*store, "fp1") == (std::vector<std::int64_t>{ids[0], ids[2], ids[4]}));
  BOOST_TEST(ToAnalyze(*store, "fp1", ids[0]) == (std::vector<std::int64_t>{ids[2], ids[4]}));
  BOOST_TEST(ToAnalyze(*store, "fp1", 0, 1) == (std::vector<std::int64_t>{ids[0]}));
  BOOST_TEST(ToAnalyze(*store, "fp0") ==
             (std::vector<std::int64_t>{ids[0], ids[1], ids[2], ids[3]}));
  BOOST_TEST(AllReportIds(*store) == ids);
  BOOST_TEST(AllReportIds(*store, ids[2], 2) == (std::vector<std::int64_t>{ids[3], ids[4]}));
  BOOST_TEST(AllReportIds(*store, 0, 2) == (std::vector<std::int64_t>{ids[0], ids[1]}));
  BOOST_TEST(AllReportIds(*store, ids[4]).empty());
}

BOOST_AUTO_TEST_CASE(a_report_without_records_saved_with_an_analysis_is_not_analysed_again) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report empty = MakeReport("google.com", "empty", "example.com", kDay0);
  m::ReportAnalysis analysis;
  analysis.fingerprint = "fp1";
  const auto saved = Save(*store, input, empty, "d1", &analysis);
  BOOST_TEST(GetAnalysis(*store, saved.report_row_id).fingerprint == "fp1");
  BOOST_TEST(ToAnalyze(*store, "fp1").empty());
  BOOST_TEST(ToAnalyze(*store, "fp2") == std::vector<std::int64_t>{saved.report_row_id});
  BOOST_TEST(PathLines(*store, Everything()).empty());
}

// --- copies
// -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_conflicting_copy_keeps_its_analysis_but_is_never_counted) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report first = MakeReport("google.com", "r1", "example.com", kDay0,
                                     {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  m::Report other = first;
  other.records[0].count = 300;
  other.policy_published.domain = "EXAMPLE.com";  // the key lower-cases it

  const m::ReportAnalysis office = AllOn(kOffice, 2, "fp1");
  const m::ReportAnalysis sendgrid = AllOn(kSendGrid, 2, "fpc");
  const auto a = Save(*store, input, first, "d1", &office);
  const std::string before = Snapshot(*store, Everything());
  const auto b = Save(*store, input, other, "d2", &sendgrid);
  BOOST_TEST((b.kind == SaveKind::kConflict));
  BOOST_TEST((b.duplicate_of == std::optional<std::int64_t>(a.report_row_id)));

  BOOST_TEST(Snapshot(*store, Everything()) == before);
  BOOST_TEST(!PathOf(*store, Everything(), kSendGrid.key).has_value());
  BOOST_TEST(ShowAnalysis(GetAnalysis(*store, b.report_row_id)) == ShowAnalysis(sendgrid));
  BOOST_TEST(ToAnalyze(*store, "fpc") == std::vector<std::int64_t>{a.report_row_id});

  // Re-analysing the copy still counts nothing.
  const Status replaced = store->ReplaceAnalysis(b.report_row_id, AllOn(kMailgun, 2, "fp1"));
  BOOST_REQUIRE_MESSAGE(replaced.ok(), replaced.ToString());
  BOOST_TEST(Snapshot(*store, Everything()) == before);
  BOOST_TEST(GetAnalysis(*store, b.report_row_id).records[1].path_key == kMailgun.key);
  const auto counted = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(counted.has_value());
  BOOST_TEST(counted->counts.messages == 7u);
}

BOOST_AUTO_TEST_CASE(a_duplicate_adds_nothing_and_keeps_the_first_analysis) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport("google.com", "r1", "example.com", kDay0,
                                      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  const m::ReportAnalysis office = AllOn(kOffice, 2, "fp1");
  const m::ReportAnalysis forwarder = AllOn(kForwarder, 2, "fp2");
  const auto a = Save(*store, input, report, "d1", &office);
  const std::string before = Snapshot(*store, Everything());
  const auto b = Save(*store, input, report, "d1", &forwarder);
  BOOST_TEST((b.kind == SaveKind::kDuplicate));
  BOOST_TEST(b.report_row_id == a.report_row_id);
  BOOST_TEST(Snapshot(*store, Everything()) == before);
  BOOST_TEST(ShowAnalysis(GetAnalysis(*store, a.report_row_id)) == ShowAnalysis(office));
  BOOST_TEST(AllReportIds(*store).size() == 1u);
}

// --- replacing an analysis
// ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(replace_analysis_moves_counts_between_paths_exactly) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  using D = m::AppliedDisposition;
  const m::Report report =
      MakeReport("google.com", "r1", "example.com", kDay0,
                 {MakeRecord("192.0.2.1", 1, D::kNone), MakeRecord("192.0.2.2", 2, D::kQuarantine),
                  MakeRecord("192.0.2.3", 4, D::kReject), MakeRecord("192.0.2.4", 8, D::kNone)});
  m::ReportAnalysis before;
  before.fingerprint = "fp1";
  before.records = {Attributed(kOffice, true, true, true), Attributed(kOffice, true, false, false),
                    Attributed(kOffice, false, true, false, true),
                    Attributed(kOffice, true, true, true, true)};
  const auto saved = Save(*store, input, report, "d1", &before);
  const m::Counts all = MakeCounts(15, 9, 11, 13, 12, 2, 4, 4);
  BOOST_TEST(Join(PathLines(*store, Everything())) ==
             Join({PathLine(kOffice.key, kOffice.kind, kOffice.name, "", all, 4, 1, kDayNumber0,
                            kDayNumber0)}));

  m::ReportAnalysis after = before;
  after.fingerprint = "fp2";
  after.records[1] = Attributed(kSendGrid, true, false, false);
  after.records[3] = Attributed(kSendGrid, true, true, true, true);
  const Status replaced = store->ReplaceAnalysis(saved.report_row_id, after);
  BOOST_REQUIRE_MESSAGE(replaced.ok(), replaced.ToString());

  BOOST_TEST(
      Join(PathLines(*store, Everything())) ==
      Join({PathLine(kOffice.key, kOffice.kind, kOffice.name, "",
                     MakeCounts(5, 1, 1, 5, 4, 0, 4, 2), 2, 1, kDayNumber0, kDayNumber0),
            PathLine(kSendGrid.key, kSendGrid.kind, kSendGrid.name, kSendGrid.provider,
                     MakeCounts(10, 8, 10, 8, 8, 2, 0, 2), 2, 1, kDayNumber0, kDayNumber0)}));
  // Summed over paths nothing changed.
  BOOST_TEST(Join(DailyLines(*store, Everything(), false)) ==
             Join({DailyLine(kDayNumber0, "", all)}));
  std::set<std::string> sendgrid_ips;
  for (const m::SourceCounts &s :
       Sources(*store, Period(kDayNumber0, kDayNumber0, std::nullopt, kSendGrid.key))) {
    sendgrid_ips.insert(s.ip.ToString());
  }
  BOOST_TEST((sendgrid_ips == std::set<std::string>{"192.0.2.2", "192.0.2.4"}));
  BOOST_TEST(ShowAnalysis(GetAnalysis(*store, saved.report_row_id)) == ShowAnalysis(after));
}

BOOST_AUTO_TEST_CASE(replace_analysis_leaves_no_rows_for_a_path_that_lost_all_its_rows) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  auto store = OpenStore(path);
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport("google.com", "r1", "example.com", kDay0,
                                      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  const m::Report other_day =
      MakeReport("Yahoo", "r2", "example.com", kDay0 + 86400, {MakeRecord("192.0.2.1", 5)});
  const m::ReportAnalysis office = AllOn(kOffice, 2);
  const m::ReportAnalysis office1 = AllOn(kOffice, 1);
  const auto saved = Save(*store, input, report, "d1", &office);
  Save(*store, input, other_day, "d2", &office1);
  const std::string totals_before = Join(DailyLines(*store, Everything(), false));

  BOOST_REQUIRE(store->ReplaceAnalysis(saved.report_row_id, AllOn(kSendGrid, 2)).ok());
  const RollupFilter day0 = Period(kDayNumber0, kDayNumber0);
  const RollupFilter office_day0 = Period(kDayNumber0, kDayNumber0, std::nullopt, kOffice.key);
  const auto listed = PathTotals(*store, day0);
  BOOST_REQUIRE_EQUAL(listed.size(), 1u);
  BOOST_TEST(listed[0].path.key == kSendGrid.key);
  BOOST_TEST(DailyLines(*store, office_day0, true).empty());
  BOOST_TEST(ReporterLines(*store, office_day0).empty());
  BOOST_TEST(SourceLines(*store, office_day0).empty());
  // The other day's Office rows are untouched.
  const auto office_all = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(office_all.has_value());
  BOOST_TEST(office_all->counts.messages == 5u);
  BOOST_TEST(office_all->first_day == kDayNumber0 + 1);
  BOOST_TEST(Join(DailyLines(*store, Everything(), false)) == totals_before);

  // And back: SendGrid disappears in turn.
  BOOST_REQUIRE(store->ReplaceAnalysis(saved.report_row_id, AllOn(kOffice, 2)).ok());
  BOOST_TEST(!PathOf(*store, Everything(), kSendGrid.key).has_value());
  BOOST_TEST(Join(DailyLines(*store, Everything(), false)) == totals_before);

  // Not even rows with zero counts are left in the tables.
  Poco::Data::Session other = OtherConnection(path);
  std::int64_t empty_daily = -1, empty_sources = -1;
  other << "SELECT COUNT(*) FROM rollup_daily WHERE row_count <= 0 OR path_key "
           "= 'path:SendGrid'",
      Poco::Data::Keywords::into(empty_daily), now;
  other << "SELECT COUNT(*) FROM rollup_sources WHERE row_count <= 0 OR "
           "path_key = 'path:SendGrid'",
      Poco::Data::Keywords::into(empty_sources), now;
  BOOST_TEST(empty_daily == 0);
  BOOST_TEST(empty_sources == 0);
}

BOOST_AUTO_TEST_CASE(replace_analysis_with_the_wrong_number_of_records_changes_nothing) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport("google.com", "r1", "example.com", kDay0,
                                      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  const m::ReportAnalysis office = AllOn(kOffice, 2);
  const auto saved = Save(*store, input, report, "d1", &office);
  const std::string before = Snapshot(*store, Everything());

  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    const Status wrong = store->ReplaceAnalysis(saved.report_row_id, AllOn(kSendGrid, n, "fp2"));
    BOOST_TEST(!wrong.ok());
    BOOST_TEST(Snapshot(*store, Everything()) == before);
    BOOST_TEST(ShowAnalysis(GetAnalysis(*store, saved.report_row_id)) == ShowAnalysis(office));
    BOOST_TEST(ToAnalyze(*store, "fp2") == std::vector<std::int64_t>{saved.report_row_id});
  }
  const Status unknown = store->ReplaceAnalysis(saved.report_row_id + 7, AllOn(kSendGrid, 2));
  BOOST_TEST((unknown.code() == StatusCode::kNotFound));
  BOOST_TEST(Snapshot(*store, Everything()) == before);
}

BOOST_AUTO_TEST_CASE(replace_analysis_failing_at_its_last_statement_changes_nothing) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  auto store = OpenStore(path);
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport("google.com", "r1", "example.com", kDay0,
                                      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  const m::ReportAnalysis office = AllOn(kOffice, 2, "fp1");
  const auto saved = Save(*store, input, report, "d1", &office);
  const std::string before = Snapshot(*store, Everything());
  {
    // The fingerprint is written after the records and both rollup moves.
    FailingTrigger fault(path, "BEFORE UPDATE OF analysis_fingerprint ON reports");
    const Status failed = store->ReplaceAnalysis(saved.report_row_id, AllOn(kSendGrid, 2, "fp2"));
    BOOST_TEST(!failed.ok());
    BOOST_TEST(Snapshot(*store, Everything()) == before);
    BOOST_TEST(ShowAnalysis(GetAnalysis(*store, saved.report_row_id)) == ShowAnalysis(office));
  }
  // Once the fault is gone the same call works, and counts exactly once.
  const Status replaced = store->ReplaceAnalysis(saved.report_row_id, AllOn(kSendGrid, 2, "fp2"));
  BOOST_REQUIRE_MESSAGE(replaced.ok(), replaced.ToString());
  const auto sendgrid = PathOf(*store, Everything(), kSendGrid.key);
  BOOST_REQUIRE(sendgrid.has_value());
  BOOST_TEST(Show(sendgrid->counts) == Show(MakeCounts(7, 7, 7, 7, 0, 0, 0, 2)));
  BOOST_TEST(!PathOf(*store, Everything(), kOffice.key).has_value());
}

BOOST_AUTO_TEST_CASE(save_report_failing_after_its_first_rollup_writes_nothing) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  auto store = OpenStore(path);
  const std::int64_t input = PutInput(*store);
  const m::Report report = MakeReport("google.com", "r1", "example.com", kDay0,
                                      {MakeRecord("192.0.2.1", 3), MakeRecord("192.0.2.2", 4)});
  const m::ReportAnalysis office = AllOn(kOffice, 2);
  {
    // rollup_daily is written before rollup_sources.
    FailingTrigger fault(path, "BEFORE INSERT ON rollup_sources");
    auto failed = store->SaveReport(input, report, "d1", kDay0, &office);
    BOOST_TEST(!failed.ok());
    BOOST_TEST(AllReportIds(*store).empty());
    BOOST_TEST(PathLines(*store, Everything()).empty());
    BOOST_TEST(DailyLines(*store, Everything(), false).empty());
    BOOST_TEST(SourceLines(*store, Everything()).empty());
  }
  const auto saved = Save(*store, input, report, "d1", &office);
  BOOST_TEST((saved.kind == SaveKind::kNew));
  const auto sources = Sources(*store, Everything());
  BOOST_REQUIRE_EQUAL(sources.size(), 2u);
  // The signature stored by the failed attempt was rolled back with it; the
  // retry's groups point at signatures that exist.
  for (const m::SourceCounts &s : sources) {
    BOOST_TEST(ShowSignature(*s.signature) == ShowSignature(SignatureOf(report.records[0])));
  }
  const auto office_totals = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(office_totals.has_value());
  BOOST_TEST(Show(office_totals->counts) == Show(MakeCounts(7, 7, 7, 7, 0, 0, 0, 2)));
}

// A batch (Store::BeginBatch, SQLite's group commit): a report that fails
// is undone alone, with the signature it stored, while the reports around
// it commit with the batch; the signatures of released reports serve the
// later ones of the same batch.
BOOST_AUTO_TEST_CASE(a_failed_report_in_a_batch_is_undone_alone_with_its_signature,
                     *SqliteOnly()) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  auto store = OpenStore(path);
  const std::int64_t input = PutInput(*store);
  // Fails the insert of one source only, so the reports before and after
  // that source's report are written.
  FailingTrigger fault(path, "BEFORE INSERT ON rollup_sources WHEN NEW.source_ip = '192.0.2.99'");
  m::Record other_signer = MakeRecord("192.0.2.99", 5);
  other_signer.auth_results.dkim[0].domain = "signer.example";
  m::Record same_signer = other_signer;
  same_signer.source_ip = Ip("192.0.2.3");
  const m::ReportAnalysis office1 = AllOn(kOffice, 1);

  BOOST_REQUIRE(store->BeginBatch().ok());
  const auto a = Save(*store, input, MakeReport("google.com", "a", "example.com", kDay0,
                                                {MakeRecord("192.0.2.1", 3)}),
                      "da", &office1);
  auto failed = store->SaveReport(
      input, MakeReport("google.com", "b", "example.com", kDay0, {other_signer}), "db", kDay0,
      &office1);
  BOOST_TEST(!failed.ok());
  // The same new signature again: stored anew, not taken from the failed
  // report's rolled-back row (which the foreign key would refuse).
  const auto c = Save(*store, input,
                      MakeReport("google.com", "c", "example.com", kDay0, {same_signer}), "dc",
                      &office1);
  // A released report's signature, reused within the batch.
  const auto d = Save(*store, input, MakeReport("yahoo", "d", "example.com", kDay0,
                                                {MakeRecord("192.0.2.4", 2)}),
                      "dd", &office1);
  BOOST_TEST((a.kind == SaveKind::kNew && c.kind == SaveKind::kNew && d.kind == SaveKind::kNew));

  // Nothing is seen by another connection before the batch commits.
  Poco::Data::Session other = OtherConnection(path);
  std::int64_t committed = -1;
  other << "SELECT COUNT(*) FROM reports", Poco::Data::Keywords::into(committed), now;
  BOOST_TEST(committed == 0);
  BOOST_REQUIRE(store->EndBatch().ok());
  other << "SELECT COUNT(*) FROM reports", Poco::Data::Keywords::into(committed), now;
  BOOST_TEST(committed == 3);

  BOOST_TEST(AllReportIds(*store) ==
             (std::vector<std::int64_t>{a.report_row_id, c.report_row_id, d.report_row_id}));
  std::vector<std::string> ips;
  for (const m::SourceCounts &s : Sources(*store, Everything())) {
    ips.push_back(s.ip.ToString() + " " + s.signature->dkim.at(0).domain);
  }
  std::sort(ips.begin(), ips.end());
  BOOST_TEST(ips == (std::vector<std::string>{"192.0.2.1 example.com", "192.0.2.3 signer.example",
                                               "192.0.2.4 example.com"}));
  const auto office = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(office.has_value());
  BOOST_TEST(office->counts.rows == 3u);
}

// Every row of rollup_sources, its signature by digest (ids may differ
// between two databases), in key order.
std::vector<std::string> SourceRollupRows(const std::string &path) {
  Poco::Data::Session other = OtherConnection(path);
  std::vector<std::string> rows;
  Poco::Data::Statement select(other);
  select << "SELECT r.domain, r.day, r.path_key, r.source_ip, s.digest, r.messages, "
            "r.dmarc_pass, r.spf_aligned, r.dkim_aligned, r.disagreements, r.quarantined, "
            "r.rejected, r.row_count FROM rollup_sources r JOIN signatures s "
            "ON s.id = r.signature_id ORDER BY r.domain, r.day, r.path_key, r.source_ip, s.digest";
  select.execute();
  Poco::Data::RecordSet set(select);
  for (bool more = set.moveFirst(); more; more = set.moveNext()) {
    std::string line;
    for (std::size_t c = 0; c < set.columnCount(); ++c) line += set[c].convert<std::string>() + "|";
    rows.push_back(std::move(line));
  }
  return rows;
}

// Saves and re-analyses in a batch, each in a savepoint of the batch's
// transaction, leave the source rollups exactly as the same operations
// committed one by one: 40 reports of 200 rows from 3,000 senders that come
// back across 4 reporters and 3 days, one report of 5,000 rows, and
// re-analyses of reports of the same batch.
BOOST_AUTO_TEST_CASE(source_rollups_of_a_batch_equal_those_written_one_by_one,
                     *SqliteOnly()) {
  TempDir dir;
  const std::string batched_path = DatabaseIn(dir, "batched.db");
  const std::string plain_path = DatabaseIn(dir, "plain.db");
  auto batched = OpenStore(batched_path);
  auto plain = OpenStore(plain_path);
  const std::int64_t batched_input = PutInput(*batched);
  const std::int64_t plain_input = PutInput(*plain);
  Generator gen(17);
  const std::vector<std::string> orgs = {"google.com", "Yahoo", "Microsoft Corp", "Mail.Ru"};
  auto sender = [&gen] {
    const std::size_t n = gen.Pick(3000);
    return "10.0." + std::to_string(n / 250) + "." + std::to_string(n % 250);
  };
  struct Saved {
    m::Report report;
    m::ReportAnalysis analysis;
  };
  std::vector<Saved> reports;
  for (int n = 0; n <= 40; ++n) {
    m::Report r = MakeReport(orgs[n % 4], "batch-" + std::to_string(n), "example.com",
                             kDay0 + (n % 3) * 86400);
    const std::size_t rows = n == 20 ? 5000 : 200;
    for (std::size_t k = 0; k < rows; ++k) {
      m::Record record = gen.Record();
      record.source_ip = Ip(sender());
      r.records.push_back(std::move(record));
    }
    const m::ReportAnalysis a = gen.Analysis(r, "fp1");
    reports.push_back({std::move(r), a});
  }

  BOOST_REQUIRE(batched->BeginBatch().ok());
  for (std::size_t n = 0; n < reports.size(); ++n) {
    const std::string digest = "digest-" + std::to_string(n);
    BOOST_REQUIRE(Save(*batched, batched_input, reports[n].report, digest, &reports[n].analysis)
                      .kind == SaveKind::kNew);
    BOOST_REQUIRE(Save(*plain, plain_input, reports[n].report, digest, &reports[n].analysis)
                      .kind == SaveKind::kNew);
  }
  // Re-analyses in the batch remove contributions the batch added.
  const std::vector<std::int64_t> batched_ids = AllReportIds(*batched);
  const std::vector<std::int64_t> plain_ids = AllReportIds(*plain);
  BOOST_REQUIRE_EQUAL(batched_ids.size(), plain_ids.size());
  for (std::size_t k : {std::size_t{38}, std::size_t{39}, std::size_t{40}, std::size_t{2}}) {
    const m::ReportAnalysis again = gen.Analysis(reports[k].report, "fp2");
    const Status a = batched->ReplaceAnalysis(batched_ids[k], again);
    BOOST_REQUIRE_MESSAGE(a.ok(), a.ToString());
    const Status b = plain->ReplaceAnalysis(plain_ids[k], again);
    BOOST_REQUIRE_MESSAGE(b.ok(), b.ToString());
  }
  // One more save after them.
  m::Report last = MakeReport("Yahoo", "batch-last", "example.com", kDay0,
                              {MakeRecord("10.0.0.1", 7), MakeRecord("10.0.0.2", 9)});
  const m::ReportAnalysis last_analysis = gen.Analysis(last, "fp1");
  Save(*batched, batched_input, last, "digest-last", &last_analysis);
  Save(*plain, plain_input, last, "digest-last", &last_analysis);
  BOOST_REQUIRE(batched->EndBatch().ok());

  const std::vector<std::string> expected = SourceRollupRows(plain_path);
  BOOST_TEST(expected.size() > 10000u);
  const std::vector<std::string> got = SourceRollupRows(batched_path);
  BOOST_REQUIRE_EQUAL(got.size(), expected.size());
  std::size_t differ = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    if (got[k] != expected[k] && differ++ < 3) BOOST_ERROR(got[k] << " != " << expected[k]);
  }
  BOOST_TEST(differ == 0u);
  BOOST_TEST(Snapshot(*batched, Everything()) == Snapshot(*plain, Everything()));
}

// --- the rollups equal a recomputation
// ------------------------------------------------

BOOST_AUTO_TEST_CASE(rollups_equal_a_recomputation_after_saves_copies_and_replacements) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  Generator gen(20240613);
  const std::vector<std::string> domains = {"example.com", "Example.ORG", "example.net"};
  const std::vector<std::string> orgs = {"google.com", "Yahoo", "Microsoft Corp", "Mail.Ru"};
  constexpr std::int64_t kDays = 6;

  struct Kept {
    m::Report report;
    std::string digest;
  };
  std::vector<Kept> kept;
  int news = 0, conflicts = 0, duplicates = 0;
  for (int n = 0; n < 50; ++n) {
    const auto day = static_cast<m::UnixTime>(gen.Pick(static_cast<std::size_t>(kDays)));
    const auto hour = static_cast<m::UnixTime>(gen.Pick(24));
    m::Report r = MakeReport(orgs[gen.Pick(orgs.size())], "rid-" + std::to_string(n),
                             domains[gen.Pick(domains.size())], kDay0 + day * 86400 + hour * 3600);
    const std::size_t records = 1 + gen.Pick(6);
    for (std::size_t i = 0; i < records; ++i) r.records.push_back(gen.Record());
    const m::ReportAnalysis a = gen.Analysis(r, "fp1");
    const std::string digest = "digest-" + std::to_string(n);
    const bool analysed = gen.Pick(8) != 0;
    BOOST_REQUIRE(Save(*store, input, r, digest, analysed ? &a : nullptr).kind == SaveKind::kNew);
    ++news;
    kept.push_back({r, digest});

    if (n % 7 == 3) {  // another copy of an earlier report: same key, other content
      m::Report copy = kept[gen.Pick(kept.size())].report;
      copy.records[0].count += 1000;
      copy.records.push_back(gen.Record());
      const m::ReportAnalysis ca = gen.Analysis(copy, "fp1");
      const auto s = Save(*store, input, copy, "conflict-" + std::to_string(n), &ca);
      BOOST_REQUIRE(s.kind == SaveKind::kConflict);
      ++conflicts;
    }
    if (n % 9 == 4) {  // the very same report again
      const Kept &again = kept[gen.Pick(kept.size())];
      const m::ReportAnalysis da = gen.Analysis(again.report, "fp1");
      BOOST_REQUIRE(Save(*store, input, again.report, again.digest, &da).kind ==
                    SaveKind::kDuplicate);
      ++duplicates;
    }
  }
  BOOST_TEST(conflicts > 0);
  BOOST_TEST(duplicates > 0);
  const std::vector<std::int64_t> ids = AllReportIds(*store);
  BOOST_REQUIRE_EQUAL(ids.size(), static_cast<std::size_t>(news + conflicts));
  CheckAgainstRecomputation(*store, kDayNumber0, kDayNumber0 + kDays - 1);

  // Replace the analyses of about half the reports (copies included), some
  // of them twice.
  int replaced = 0;
  for (int round = 0; round < 2; ++round) {
    for (std::int64_t id : ids) {
      if (gen.Pick(round == 0 ? 2 : 5) != 0) continue;
      auto report = store->GetReport(id);
      BOOST_REQUIRE_MESSAGE(report.ok(), Why(report));
      const Status s = store->ReplaceAnalysis(id, gen.Analysis(*report, "fp2"));
      BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
      ++replaced;
    }
  }
  BOOST_TEST(replaced > static_cast<int>(ids.size()) / 3);
  CheckAgainstRecomputation(*store, kDayNumber0, kDayNumber0 + kDays - 1);
}

// ---- Period answers kept in the store (migration 0007) ------------------------

// Every field of every group, in order: equal texts, equal answers.
std::string AnswerText(const std::vector<m::PathTotals> &totals) {
  std::ostringstream out;
  for (const m::PathTotals &t : totals) {
    out << t.path.key << '|' << m::ToString(t.path.kind) << '|' << t.path.name << '|'
        << t.path.provider << '|' << t.counts.messages << ',' << t.counts.dmarc_pass << ','
        << t.counts.spf_aligned << ',' << t.counts.dkim_aligned << ',' << t.counts.disagreements
        << ',' << t.counts.quarantined << ',' << t.counts.rejected << ',' << t.counts.rows << '|'
        << t.sources << '|' << t.reporters << '|' << t.first_day << '|' << t.last_day << '\n';
  }
  return out.str();
}

std::string AnswerText(const std::vector<m::SourceCounts> &sources) {
  std::ostringstream out;
  for (const m::SourceCounts &g : sources) {
    const m::AuthSignature &sig = *g.signature;
    out << g.path_key << '|' << g.ip.ToString() << '|' << sig.header_from << '|'
        << sig.envelope_from.value_or("(none)") << '|' << m::ToString(sig.disposition) << '|';
    for (const auto &d : sig.dkim) {
      out << d.domain << ' ' << d.selector.value_or("-") << ' ' << m::ToString(d.result) << ' '
          << d.human_result.value_or("-") << ';';
    }
    out << '|';
    for (const auto &p : sig.spf) {
      out << p.domain << ' ' << m::ToString(p.scope) << ' ' << m::ToString(p.result) << ' '
          << p.human_result.value_or("-") << ';';
    }
    out << '|';
    for (m::PolicyOverride r : sig.reasons) out << m::ToString(r) << ';';
    out << '|' << g.counts.messages << ',' << g.counts.dmarc_pass << ',' << g.counts.spf_aligned
        << ',' << g.counts.dkim_aligned << ',' << g.counts.disagreements << ','
        << g.counts.quarantined << ',' << g.counts.rejected << ',' << g.counts.rows << '|'
        << g.first_day << '|' << g.last_day << '\n';
  }
  return out.str();
}

std::string SourcesText(Store &store, const RollupFilter &f) {
  auto sources = store.QuerySources(f);
  BOOST_REQUIRE_MESSAGE(sources.ok(), Why(sources));
  return AnswerText(*sources);
}

std::string TotalsText(Store &store, const RollupFilter &f) {
  auto totals = store.QueryPathTotals(f);
  BOOST_REQUIRE_MESSAGE(totals.ok(), Why(totals));
  return AnswerText(*totals);
}

std::int64_t Generation(Store &store) {
  auto g = store.RollupGeneration();
  BOOST_REQUIRE_MESSAGE(g.ok(), Why(g));
  return *g;
}

std::int64_t KeptAnswers(const std::string &database) {
  std::int64_t n = -1;
  Poco::Data::Session other = OtherConnection(database);
  other << "SELECT COUNT(*) FROM period_answers", Poco::Data::Keywords::into(n), now;
  return n;
}

// The source list is read 4,096 groups at a time: a period of more groups
// than that comes back whole, in order, each group once, kept or computed.
BOOST_AUTO_TEST_CASE(a_source_list_longer_than_a_read_comes_back_whole_and_in_order) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "long.db");
  auto store = OpenStore(path);
  std::unique_ptr<Store> fresh = OpenStore(path, /*keep_answers=*/false);

  constexpr std::uint64_t kGroups = 9000;  // two reads and a part
  m::Report r = MakeReport("google.com", "long", "example.com", kDay0);
  for (std::uint64_t k = 0; k < kGroups; ++k) {
    const std::string ip = k % 3 == 0 ? "2001:db8::" + std::to_string(k)
                                      : "10.0." + std::to_string(k / 250) + "." +
                                            std::to_string(k % 250);
    r.records.push_back(MakeRecord(ip, k + 1));  // every count differs: one order
  }
  Generator gen(11);
  const m::ReportAnalysis a = gen.Analysis(r, "fp1");
  BOOST_REQUIRE(Save(*store, PutInput(*store), r, "long-digest", &a).kind == SaveKind::kNew);

  RollupFilter f = Period(kDayNumber0, kDayNumber0, "example.com");
  f.limit = 50000;
  const std::vector<m::SourceCounts> all = Sources(*fresh, f);
  BOOST_REQUIRE_EQUAL(all.size(), kGroups);
  std::set<std::string> seen;
  std::uint64_t messages = 0;
  for (std::size_t k = 0; k < all.size(); ++k) {
    BOOST_TEST(all[k].counts.messages == kGroups - k);  // most first
    BOOST_TEST(seen.insert(all[k].ip.ToString()).second);
    messages += all[k].counts.messages;
  }
  BOOST_TEST(messages == kGroups * (kGroups + 1) / 2);
  // A shorter list is its prefix; kept answers (stored, read back) equal it.
  f.limit = 5000;
  const std::vector<m::SourceCounts> first = Sources(*fresh, f);
  BOOST_REQUIRE_EQUAL(first.size(), 5000u);
  BOOST_TEST(AnswerText(first) ==
             AnswerText(std::vector<m::SourceCounts>(all.begin(), all.begin() + 5000)));
  BOOST_TEST(SourcesText(*store, f) == AnswerText(first));
  f.limit = 50000;
  BOOST_TEST(SourcesText(*store, f) == AnswerText(all));
  BOOST_TEST(SourcesText(*OpenStore(path), f) == AnswerText(all));
}

BOOST_AUTO_TEST_CASE(period_answers_are_kept_shared_and_recomputed_after_every_change) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "answers.db");
  auto store = OpenStore(path);  // keeps answers (the default)
  std::unique_ptr<Store> fresh = OpenStore(path, /*keep_answers=*/false);  // computes every answer

  const std::int64_t input = PutInput(*store);
  Generator gen(7);
  const std::int64_t g0 = Generation(*store);
  std::vector<m::Report> saved;
  for (int n = 0; n < 12; ++n) {
    m::Report r = MakeReport(n % 3 == 0 ? "Yahoo" : "google.com", "kept-" + std::to_string(n),
                             "example.com", kDay0 + (n % 4) * 86400);
    for (int k = 0; k < 8; ++k) r.records.push_back(gen.Record());
    const m::ReportAnalysis a = gen.Analysis(r, "fp1");
    BOOST_REQUIRE(Save(*store, input, r, "kept-digest-" + std::to_string(n), &a).kind ==
                  SaveKind::kNew);
    saved.push_back(r);
  }
  // Each new analysed report is one change.
  BOOST_TEST(Generation(*store) == g0 + 12);
  BOOST_TEST(Generation(*fresh) == g0 + 12);

  // Kept answers equal computed ones, for every limit (one kept list serves
  // them all) and after a round trip through their stored form (a second
  // handle reads what the first kept).
  const RollupFilter period = Period(kDayNumber0, kDayNumber0 + 3, "Example.com");
  const std::string all = SourcesText(*fresh, period);
  BOOST_REQUIRE(!all.empty());
  auto reader = OpenStore(path);
  for (std::uint32_t limit : {1u, 2u, 5u, 17u, 10000u, 50000u, 60000u}) {
    RollupFilter f = period;
    f.limit = limit;
    BOOST_TEST(SourcesText(*store, f) == SourcesText(*fresh, f), "limit " << limit);
    BOOST_TEST(SourcesText(*reader, f) == SourcesText(*fresh, f), "limit " << limit);
  }
  BOOST_TEST(TotalsText(*store, period) == TotalsText(*fresh, period));
  BOOST_TEST(TotalsText(*reader, period) == TotalsText(*fresh, period));
  RollupFilter one_path = period;
  one_path.path_key = "path:SendGrid";
  BOOST_TEST(SourcesText(*reader, one_path) == SourcesText(*fresh, one_path));
  BOOST_TEST(KeptAnswers(path) >= 3);

  // A duplicate and a reject change nothing; a reanalysis is a change, and
  // the next answer follows it.
  const std::int64_t before = Generation(*store);
  const m::ReportAnalysis again = gen.Analysis(saved[0], "fp1");
  BOOST_REQUIRE(Save(*store, input, saved[0], "kept-digest-0", &again).kind ==
                SaveKind::kDuplicate);
  BOOST_REQUIRE(store->SaveReject(input, {"xml", "bad.xml", "invalid_input", "not_xml", "x"}, 1)
                    .ok());
  BOOST_TEST(Generation(*store) == before);
  auto ids = AllReportIds(*store);
  auto report = store->GetReport(ids.front());
  BOOST_REQUIRE_MESSAGE(report.ok(), Why(report));
  const Status replaced = store->ReplaceAnalysis(ids.front(), gen.Analysis(*report, "fp2"));
  BOOST_REQUIRE_MESSAGE(replaced.ok(), replaced.ToString());
  BOOST_TEST(Generation(*store) == before + 1);
  BOOST_TEST(TotalsText(*reader, period) == TotalsText(*fresh, period));
  BOOST_TEST(SourcesText(*reader, period) == SourcesText(*fresh, period));

  // The answers really come from the store: rollups emptied behind the
  // store's back (the generation untouched) do not change them, while a
  // store that computes sees the change.
  {
    Poco::Data::Session other = OtherConnection(path);
    other << "DELETE FROM rollup_sources", now;
  }
  const std::string kept = SourcesText(*reader, period);
  BOOST_TEST(!kept.empty());
  BOOST_TEST(SourcesText(*fresh, period).empty());
  // A body that does not decode is computed again.
  {
    Poco::Data::Session other = OtherConnection(path);
    other << (kOnPostgres ? "UPDATE period_answers SET body = '\\x585858'::bytea"
                          : "UPDATE period_answers SET body = X'585858'"),
        now;
  }
  BOOST_TEST(SourcesText(*reader, period).empty());
}

// --- queries
// -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(query_sources_gives_each_groups_signature_most_messages_first) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  m::Record x = MakeRecord("192.0.2.1", 5, m::AppliedDisposition::kNone);
  x.identifiers.envelope_from = "bounce.example.com";
  x.policy_evaluated.reasons = {{m::PolicyOverride::kForwarded, "list"}};
  m::Record y = MakeRecord("192.0.2.1", 50, m::AppliedDisposition::kQuarantine);
  y.auth_results.dkim = {{"example.com", "s2", m::DkimResult::kFail, "body hash"},
                         {"esp.example", std::nullopt, m::DkimResult::kPass, std::nullopt}};
  y.auth_results.spf = {{"helo.example.com", m::SpfScope::kHelo, m::SpfResult::kPass, "ok"}};
  y.policy_evaluated.reasons = {{m::PolicyOverride::kLocalPolicy, std::nullopt},
                                {m::PolicyOverride::kOther, "x"}};
  m::Record x2 = x;  // the same signature from another address
  x2.source_ip = Ip("192.0.2.2");
  x2.count = 20;
  m::Record x3 = x;  // merges with x
  x3.count = 3;
  m::Record z = x;  // differs from x only by having no envelope_from
  z.identifiers.envelope_from = std::nullopt;
  z.source_ip = Ip("192.0.2.2");
  z.count = 1;
  const m::Report a = MakeReport("google.com", "a", "example.com", kDay0, {x, y, x2, x3, z});
  m::Record x4 = x;
  x4.count = 1;
  const m::Report b = MakeReport("Yahoo", "b", "example.com", kDay0 + 2 * 86400, {x4});
  const m::ReportAnalysis aa = AllOn(kOffice, 5);
  const m::ReportAnalysis ba = AllOn(kOffice, 1);
  Save(*store, input, a, "da", &aa);
  Save(*store, input, b, "db", &ba);

  const auto groups = Sources(*store, Everything());
  BOOST_REQUIRE_EQUAL(groups.size(), 4u);
  BOOST_TEST(groups[0].ip.ToString() == "192.0.2.1");
  BOOST_TEST(ShowSignature(*groups[0].signature) == ShowSignature(SignatureOf(y)));
  BOOST_TEST(groups[0].counts.messages == 50u);
  BOOST_TEST(groups[0].counts.quarantined == 50u);
  BOOST_TEST(groups[1].ip.ToString() == "192.0.2.2");
  BOOST_TEST(ShowSignature(*groups[1].signature) == ShowSignature(SignatureOf(x)));
  BOOST_TEST(groups[1].counts.messages == 20u);
  BOOST_TEST(groups[2].ip.ToString() == "192.0.2.1");
  BOOST_TEST(ShowSignature(*groups[2].signature) == ShowSignature(SignatureOf(x)));
  BOOST_TEST(Show(groups[2].counts) == Show(MakeCounts(9, 9, 9, 9, 0, 0, 0, 3)));
  BOOST_TEST(groups[2].first_day == kDayNumber0);
  BOOST_TEST(groups[2].last_day == kDayNumber0 + 2);
  BOOST_TEST(ShowSignature(*groups[3].signature) == ShowSignature(SignatureOf(z)));
  BOOST_TEST(!groups[3].signature->envelope_from.has_value());
  BOOST_TEST(groups[3].counts.messages == 1u);
  for (const m::SourceCounts &g : groups) BOOST_TEST(g.path_key == kOffice.key);

  RollupFilter two = Everything();
  two.limit = 2;
  const auto top = Sources(*store, two);
  BOOST_REQUIRE_EQUAL(top.size(), 2u);
  BOOST_TEST(top[0].counts.messages == 50u);
  BOOST_TEST(top[1].counts.messages == 20u);
}

BOOST_AUTO_TEST_CASE(filters_select_domain_ignoring_case_whole_days_inclusive_and_path) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const std::int64_t d0 = kDayNumber0;
  auto save = [&](const std::string &id, const std::string &domain, std::int64_t day,
                  std::vector<std::pair<std::string, std::uint64_t>> rows,
                  std::vector<const PathInfo *> paths) {
    std::vector<m::Record> records;
    m::ReportAnalysis a;
    a.fingerprint = "fp1";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      records.push_back(MakeRecord(rows[i].first, rows[i].second));
      a.records.push_back(Attributed(*paths[i], true, true, true));
    }
    // The last second of the day still belongs to it.
    const m::Report r =
        MakeReport("org-" + id, id, domain, kDay0 + (day - d0) * 86400 + 86399, records);
    Save(*store, input, r, id, &a);
  };
  // Powers of two, so that every sum names the rows it took.
  save("r1", "example.com", d0, {{"192.0.2.1", 1}}, {&kOffice});
  save("r2", "example.com", d0 + 1, {{"192.0.2.2", 2}, {"192.0.2.3", 4}}, {&kOffice, &kSendGrid});
  save("r3", "example.com", d0 + 2, {{"192.0.2.4", 8}}, {&kSendGrid});
  save("r4", "Example.ORG", d0 + 1, {{"192.0.2.5", 16}}, {&kOffice});

  auto messages = [&](const RollupFilter &f) {
    std::map<std::string, std::uint64_t> out;
    for (const m::PathTotals &t : PathTotals(*store, f)) out[t.path.key] = t.counts.messages;
    return out;
  };
  using Sums = std::map<std::string, std::uint64_t>;
  BOOST_TEST(
      (messages(Period(d0, d0 + 2, "EXAMPLE.COM")) == Sums{{kOffice.key, 3}, {kSendGrid.key, 12}}));
  BOOST_TEST((messages(Period(d0, d0 + 2, "example.org")) == Sums{{kOffice.key, 16}}));
  BOOST_TEST((messages(Period(d0 + 1, d0 + 1)) == Sums{{kOffice.key, 18}, {kSendGrid.key, 4}}));
  BOOST_TEST((messages(Period(d0, d0 + 1)) == Sums{{kOffice.key, 19}, {kSendGrid.key, 4}}));
  BOOST_TEST((messages(Period(d0 + 2, d0 + 2)) == Sums{{kSendGrid.key, 8}}));
  // QueryPathTotals ignores path_key.
  BOOST_TEST((messages(Period(d0 + 1, d0 + 2, std::nullopt, kOffice.key)) ==
              Sums{{kOffice.key, 18}, {kSendGrid.key, 12}}));
  BOOST_TEST(messages(Period(d0 + 3, d0 + 9)).empty());
  BOOST_TEST(messages(Period(d0 - 9, d0 - 1)).empty());
  BOOST_TEST(messages(Period(d0 + 2, d0)).empty());
  BOOST_TEST(messages(Period(d0, d0 + 2, "example.net")).empty());

  const m::Counts one = MakeCounts(1, 1, 1, 1, 0, 0, 0, 1);
  const m::Counts two = MakeCounts(2, 2, 2, 2, 0, 0, 0, 1);
  const m::Counts four = MakeCounts(4, 4, 4, 4, 0, 0, 0, 1);
  const m::Counts eight = MakeCounts(8, 8, 8, 8, 0, 0, 0, 1);
  BOOST_TEST(Join(DailyLines(*store, Period(d0, d0 + 2, "Example.Com", kOffice.key), true)) ==
             Join({DailyLine(d0, kOffice.key, one), DailyLine(d0 + 1, kOffice.key, two)}));
  BOOST_TEST(Join(DailyLines(*store, Period(d0, d0 + 2, std::nullopt, kSendGrid.key), false)) ==
             Join({DailyLine(d0 + 1, "", four), DailyLine(d0 + 2, "", eight)}));
  BOOST_TEST(Join(DailyLines(*store, Period(d0 + 1, d0 + 1), false)) ==
             Join({DailyLine(d0 + 1, "", MakeCounts(22, 22, 22, 22, 0, 0, 0, 3))}));
  BOOST_TEST(Join(ReporterLines(*store, Period(d0, d0 + 2, "EXAMPLE.org"))) ==
             Join({ReporterLine(kOffice.key, "org-r4", MakeCounts(16, 16, 16, 16, 0, 0, 0, 1))}));
  BOOST_TEST(Join(ReporterLines(*store, Period(d0, d0 + 1, std::nullopt, kSendGrid.key))) ==
             Join({ReporterLine(kSendGrid.key, "org-r2", four)}));

  const auto sendgrid = Sources(*store, Period(d0 + 1, d0 + 2, "Example.Com", kSendGrid.key));
  BOOST_REQUIRE_EQUAL(sendgrid.size(), 2u);
  BOOST_TEST(sendgrid[0].ip.ToString() == "192.0.2.4");
  BOOST_TEST(sendgrid[0].counts.messages == 8u);
  BOOST_TEST(sendgrid[1].ip.ToString() == "192.0.2.3");
  BOOST_TEST(Sources(*store, Period(d0, d0, std::nullopt, kSendGrid.key)).empty());
  BOOST_TEST(Sources(*store, Period(d0, d0 + 2, "example.org", kSendGrid.key)).empty());
}

BOOST_AUTO_TEST_CASE(latest_policies_take_each_domains_newest_report_that_is_not_a_copy) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  m::Report newer =
      MakeReport("google.com", "new", "Example.COM", kDay0 + 86400, {MakeRecord("192.0.2.1", 1)});
  newer.policy_published.p = m::Disposition::kReject;
  newer.policy_published.sp = m::Disposition::kQuarantine;
  newer.policy_published.adkim = m::Alignment::kStrict;
  newer.policy_published.pct = 50;
  // Saved after the newer one, so it has the higher row id.
  m::Report older = MakeReport("Yahoo", "old", "example.com", kDay0, {MakeRecord("192.0.2.1", 1)});
  older.policy_published.p = m::Disposition::kNone;
  // A copy of the newer report with another policy: same key, so same end.
  m::Report copy = newer;
  copy.policy_published.domain = "EXAMPLE.com";
  copy.policy_published.p = m::Disposition::kQuarantine;
  m::Report parked = MakeReport("google.com", "p", "Example.NET", kDay0, {});
  parked.policy_published.p = m::Disposition::kReject;
  parked.policy_published.np = m::Disposition::kReject;

  const m::ReportAnalysis one = AllOn(kOffice, 1);
  Save(*store, input, newer, "d-new", &one);
  Save(*store, input, older, "d-old", &one);
  BOOST_REQUIRE(Save(*store, input, copy, "d-copy", &one).kind == SaveKind::kConflict);
  Save(*store, input, parked, "d-parked", nullptr);

  auto policies = store->LatestPolicies();
  BOOST_REQUIRE_MESSAGE(policies.ok(), Why(policies));
  BOOST_REQUIRE_EQUAL(policies->size(), 2u);
  const m::PublishedPolicy &com = (*policies)[0];
  BOOST_TEST(com.domain == "example.com");
  BOOST_TEST(m::ToString(com.policy.p) == std::string("reject"));
  BOOST_REQUIRE(com.policy.sp.has_value());
  BOOST_TEST(m::ToString(*com.policy.sp) == std::string("quarantine"));
  BOOST_TEST((com.policy.pct == std::optional<std::uint32_t>(50)));
  BOOST_TEST(com.as_of == newer.report_metadata.date_range.end);
  const m::PublishedPolicy &net = (*policies)[1];
  BOOST_TEST(net.domain == "example.net");
  BOOST_TEST(m::ToString(net.policy.p) == std::string("reject"));
  BOOST_REQUIRE(net.policy.np.has_value());
  BOOST_TEST(net.as_of == parked.report_metadata.date_range.end);
}

BOOST_AUTO_TEST_CASE(domains_and_data_days_reflect_analysed_data_only) {
  auto store = OpenStore(FreshDatabase());
  auto domains = [&] {
    auto d = store->Domains();
    BOOST_REQUIRE_MESSAGE(d.ok(), Why(d));
    return *d;
  };
  auto days = [&](const std::optional<std::string> &domain) {
    auto d = store->DataDays(domain);
    BOOST_REQUIRE_MESSAGE(d.ok(), Why(d));
    return *d;
  };
  BOOST_TEST(domains().empty());
  BOOST_TEST(days(std::nullopt).first > days(std::nullopt).second);
  BOOST_TEST(days(std::string("example.com")).first > days(std::string("example.com")).second);

  const std::int64_t input = PutInput(*store);
  // Not analysed: not data yet.
  Save(*store, input,
       MakeReport("google.com", "u", "unanalysed.example", kDay0, {MakeRecord("192.0.2.1", 1)}),
       "du", nullptr);
  BOOST_TEST(domains().empty());
  BOOST_TEST(days(std::nullopt).first > days(std::nullopt).second);

  const m::ReportAnalysis one = AllOn(kOffice, 1);
  Save(*store, input,
       MakeReport("google.com", "o", "Example.ORG", kDay0 + 86400, {MakeRecord("192.0.2.1", 1)}),
       "do", &one);
  Save(*store, input,
       MakeReport("google.com", "c1", "example.com", kDay0 + 3 * 86400,
                  {MakeRecord("192.0.2.1", 1)}),
       "dc1", &one);
  Save(*store, input, MakeReport("Yahoo", "c2", "example.com", kDay0, {MakeRecord("192.0.2.1", 1)}),
       "dc2", &one);

  BOOST_TEST((domains() == std::vector<std::string>{"example.com", "example.org"}));
  using Days = std::pair<std::int64_t, std::int64_t>;
  BOOST_TEST((days(std::nullopt) == Days{kDayNumber0, kDayNumber0 + 3}));
  BOOST_TEST((days(std::string("EXAMPLE.ORG")) == Days{kDayNumber0 + 1, kDayNumber0 + 1}));
  BOOST_TEST((days(std::string("example.com")) == Days{kDayNumber0, kDayNumber0 + 3}));
  BOOST_TEST(days(std::string("unanalysed.example")).first >
             days(std::string("unanalysed.example")).second);
}

// --- counts at the limit
// --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(huge_counts_never_make_a_rollup_query_fail) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  using D = m::AppliedDisposition;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    const m::Report r = MakeReport(
        "google.com", "huge-" + std::to_string(i), "example.com", kDay0 + i,
        {MakeRecord("192.0.2.1", std::numeric_limits<std::uint64_t>::max(), D::kQuarantine),
         MakeRecord("192.0.2.1", kInt64Max, D::kReject),
         MakeRecord("192.0.2.2", kInt64Max - 1, D::kNone), MakeRecord("192.0.2.3", 1, D::kNone)});
    const m::ReportAnalysis a = AllOn(kOffice, 4);
    ids.push_back(Save(*store, input, r, "d" + std::to_string(i), &a).report_row_id);
  }
  auto check = [&](const std::string &key, std::uint64_t rows) {
    const auto t = PathOf(*store, Everything(), key);
    BOOST_REQUIRE(t.has_value());
    BOOST_TEST(t->counts.rows == rows);
    BOOST_TEST(t->counts.messages >= (std::uint64_t{1} << 40));
    BOOST_TEST(t->counts.dmarc_pass == t->counts.messages);
    BOOST_TEST(t->counts.quarantined > 0u);
    BOOST_TEST(t->counts.rejected > 0u);
    BOOST_TEST(t->sources == 3u);
  };
  check(kOffice.key, 12);
  BOOST_TEST(DailyLines(*store, Everything(), true).size() == 1u);
  BOOST_TEST(DailyLines(*store, Everything(), false).size() == 1u);
  BOOST_TEST(ReporterLines(*store, Everything()).size() == 1u);
  // 192.0.2.1 sent with two dispositions: two signatures.
  BOOST_TEST(Sources(*store, Everything()).size() == 4u);
  auto totals = store->GetTotals();
  BOOST_TEST_REQUIRE(totals.ok(), Why(totals));

  BOOST_REQUIRE(store->ReplaceAnalysis(ids[1], AllOn(kSendGrid, 4)).ok());
  check(kOffice.key, 8);
  check(kSendGrid.key, 4);
  BOOST_REQUIRE(store->ReplaceAnalysis(ids[1], AllOn(kOffice, 4)).ok());
  check(kOffice.key, 12);
  BOOST_TEST(!PathOf(*store, Everything(), kSendGrid.key).has_value());
}

BOOST_AUTO_TEST_CASE(a_report_of_many_huge_rows_saturates_its_rollups_instead_of_wrapping) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  // More rows of the largest count than a signed 64-bit sum of them holds,
  // all in one path, address and signature.
  constexpr std::size_t kRows = 40000;
  std::vector<m::Record> records(kRows,
                                 MakeRecord("192.0.2.1", std::numeric_limits<std::uint64_t>::max(),
                                            m::AppliedDisposition::kReject));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 2; ++i) {
    const m::Report r =
        MakeReport("google.com", "many-" + std::to_string(i), "example.com", kDay0, records);
    const m::ReportAnalysis a = AllOn(kOffice, kRows);
    ids.push_back(Save(*store, input, r, "d" + std::to_string(i), &a).report_row_id);
    const auto t = PathOf(*store, Everything(), kOffice.key);
    BOOST_REQUIRE(t.has_value());
    BOOST_TEST(t->counts.rows == kRows * static_cast<std::size_t>(i + 1));
    BOOST_TEST(t->counts.messages >= (std::uint64_t{1} << 62));
    BOOST_TEST(t->counts.rejected == t->counts.messages);
    const auto sources = Sources(*store, Everything());
    BOOST_REQUIRE_EQUAL(sources.size(), 1u);
    BOOST_TEST(sources[0].counts.messages >= (std::uint64_t{1} << 62));
  }
  BOOST_REQUIRE(store->ReplaceAnalysis(ids[0], AllOn(kSendGrid, kRows)).ok());
  const auto office = PathOf(*store, Everything(), kOffice.key);
  const auto sendgrid = PathOf(*store, Everything(), kSendGrid.key);
  BOOST_REQUIRE(office.has_value());
  BOOST_REQUIRE(sendgrid.has_value());
  BOOST_TEST(office->counts.rows == kRows);
  BOOST_TEST(sendgrid->counts.rows == kRows);
  BOOST_TEST(office->counts.messages >= (std::uint64_t{1} << 62));
  BOOST_TEST(sendgrid->counts.messages >= (std::uint64_t{1} << 62));
  BOOST_REQUIRE(store->ReplaceAnalysis(ids[1], AllOn(kSendGrid, kRows)).ok());
  BOOST_TEST(!PathOf(*store, Everything(), kOffice.key).has_value());
  BOOST_TEST(Sources(*store, Everything()).size() == 1u);
}

// --- DNS cache
// -------------------------------------------------------------------------------

// Many names in one call, as the dashboard asks for the PTR names of the
// senders it lists: more names than one query takes, some cached, some not,
// one cached under another type.
BOOST_AUTO_TEST_CASE(dns_answers_of_many_names_at_once_equal_those_of_each_name) {
  auto store = OpenStore(FreshDatabase());
  std::vector<std::string> names;
  for (int k = 0; k < 1203; ++k) {
    const std::string name = std::to_string(k % 250) + "." + std::to_string(k / 250) +
                             ".51.198.in-addr.arpa";
    names.push_back(name);
    if (k % 3 == 0) {
      DnsCacheEntry e;
      e.rcode = k % 2 == 0 ? "ok" : "nxdomain";
      if (k % 2 == 0) e.values = {"host-" + std::to_string(k) + ".example.net", "second.example"};
      e.ttl = k;
      e.expires_at = kDay0 + k;
      BOOST_REQUIRE(store->PutDnsAnswer("PTR", name, e).ok());
    }
  }
  DnsCacheEntry other_type;
  other_type.rcode = "ok";
  other_type.values = {"192.0.2.1"};
  BOOST_REQUIRE(store->PutDnsAnswer("A", names[1], other_type).ok());
  names.push_back(names[0]);  // asked twice

  auto many = store->GetDnsAnswers("PTR", names);
  BOOST_REQUIRE_MESSAGE(many.ok(), Why(many));
  std::size_t found = 0;
  for (const std::string &name : names) {
    auto one = store->GetDnsAnswer("PTR", name);
    BOOST_REQUIRE_MESSAGE(one.ok(), Why(one));
    auto at = many->find(name);
    BOOST_TEST_REQUIRE(one->has_value() == (at != many->end()), name);
    if (!one->has_value()) continue;
    ++found;
    BOOST_TEST((*one)->rcode == at->second.rcode);
    BOOST_TEST((*one)->values == at->second.values, name);
    BOOST_TEST((*one)->ttl == at->second.ttl);
    BOOST_TEST((*one)->expires_at == at->second.expires_at);
  }
  BOOST_TEST(many->size() == 401u);  // 0, 3, ..., 1200
  BOOST_TEST(found == 402u);         // names[0] twice
  auto none = store->GetDnsAnswers("PTR", {});
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(dns_answers_round_trip_replace_and_survive_reopening) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  auto store = OpenStore(path);
  DnsCacheEntry txt;
  txt.rcode = "noerror";
  txt.values = {"v=spf1 include:_spf.example.net ~all", "quote \" and \\ backslash",
                "\xc3\xbcn\xc3\xaf"
                "c\xc3\xb6"
                "d\xc3\xa9 \xe2\x9c\x93",
                "", "[\"not json\"]"};
  txt.ttl = 300;
  txt.expires_at = kDay0 + 300;
  DnsCacheEntry negative;
  negative.rcode = "nxdomain";
  negative.ttl = 3600;
  negative.expires_at = kDay0 + 3600;

  auto show = [](const std::optional<DnsCacheEntry> &e) {
    if (!e) return std::string("<none>");
    std::string out = e->rcode + " ttl=" + std::to_string(e->ttl) +
                      " expires=" + std::to_string(e->expires_at) +
                      " n=" + std::to_string(e->values.size());
    for (const std::string &v : e->values) out += " [" + v + "]";
    return out;
  };
  auto get = [&](Store &s, const std::string &qtype, const std::string &name) {
    auto e = s.GetDnsAnswer(qtype, name);
    BOOST_REQUIRE_MESSAGE(e.ok(), Why(e));
    return *e;
  };
  BOOST_TEST(show(get(*store, "TXT", "example.com")) == "<none>");
  BOOST_REQUIRE(store->PutDnsAnswer("TXT", "example.com", txt).ok());
  BOOST_REQUIRE(store->PutDnsAnswer("PTR", "1.2.0.192.in-addr.arpa", negative).ok());
  BOOST_TEST(show(get(*store, "TXT", "example.com")) == show(txt));
  BOOST_TEST(show(get(*store, "PTR", "1.2.0.192.in-addr.arpa")) == show(negative));
  BOOST_TEST(get(*store, "PTR", "1.2.0.192.in-addr.arpa")->values.empty());
  BOOST_TEST(show(get(*store, "A", "example.com")) == "<none>");
  BOOST_TEST(show(get(*store, "TXT", "other.example")) == "<none>");

  DnsCacheEntry replacement;
  replacement.rcode = "servfail";
  replacement.values = {"new"};
  replacement.ttl = 60;
  replacement.expires_at = kDay0 + 60;
  BOOST_REQUIRE(store->PutDnsAnswer("TXT", "example.com", replacement).ok());
  BOOST_TEST(show(get(*store, "TXT", "example.com")) == show(replacement));
  BOOST_TEST(show(get(*store, "PTR", "1.2.0.192.in-addr.arpa")) == show(negative));

  store.reset();
  auto reopened = OpenStore(path);
  BOOST_TEST(show(get(*reopened, "TXT", "example.com")) == show(replacement));
  BOOST_TEST(show(get(*reopened, "PTR", "1.2.0.192.in-addr.arpa")) == show(negative));
}

// --- migrations
// --------------------------------------------------------------------------------

// Every migration file in schema/sql, as (version, name), in order.
std::vector<std::pair<int, std::string>> MigrationFiles() {
  std::vector<std::pair<int, std::string>> out;
  for (const auto &entry :
       std::filesystem::directory_iterator(std::string(DMARC_SOURCE_DIR) + "/schema/sql")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".sql") out.emplace_back(std::stoi(name.substr(0, 4)), name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

BOOST_AUTO_TEST_CASE(migrations_are_applied_once_and_listed_in_order) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "store.db");
  using Applied = std::vector<std::pair<int, std::string>>;
  const Applied expected = MigrationFiles();
  BOOST_REQUIRE_GE(expected.size(), 2u);
  BOOST_TEST(expected[0].second == "0001_initial.sql");
  BOOST_TEST(expected[1].second == "0002_analysis.sql");
  for (const std::string &database : {FreshDatabase(), path, path}) {
    auto store = OpenStore(database);
    auto applied = store->AppliedMigrations();
    BOOST_REQUIRE_MESSAGE(applied.ok(), Why(applied));
    BOOST_TEST((*applied == expected));
  }
}

BOOST_AUTO_TEST_CASE(a_store_of_schema_1_is_migrated_with_its_reports_left_unanalysed) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "old.db");
  std::int64_t report_id = 0;
  {
    // What an older dmarcwatch wrote: migration 0001 and one report.
    std::ifstream in(std::string(DMARC_SOURCE_DIR) + "/schema/sql/0001_initial.sql");
    BOOST_REQUIRE(in.good());
    std::string sql;
    for (std::string line; std::getline(in, line);) {
      const std::size_t comment = line.find("--");
      sql += line.substr(0, comment) + "\n";
    }
    const std::vector<std::pair<std::string, std::string>> expand = {
        {"{{ID}}", kOnPostgres ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                               : "INTEGER PRIMARY KEY"},
        {"{{BLOB}}", kOnPostgres ? "BYTEA" : "BLOB"}};
    for (const auto &[from, to] : expand) {
      for (std::size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at)) {
        sql.replace(at, from.size(), to);
      }
    }
    Poco::Data::Session old = OtherConnection(path);
    old << "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name "
           "TEXT NOT NULL, "
           "applied_at BIGINT NOT NULL)",
        now;
    std::size_t start = 0;
    for (std::size_t end = sql.find(';'); end != std::string::npos;
         start = end + 1, end = sql.find(';', start)) {
      const std::string statement = sql.substr(start, end - start);
      if (statement.find_first_not_of(" \n\t") != std::string::npos) old << statement, now;
    }
    old << "INSERT INTO schema_migrations VALUES (1, '0001_initial.sql', "
           "1718000000)",
        now;
    old << "INSERT INTO inputs (sha256, channel, origin, name, received_at, "
           "size, compression) "
           "VALUES ('aa', 'file', '/spool/a', 'a.xml', 1718236800, 10, "
           "'omitted')",
        now;
    old << "INSERT INTO reports (input_id, org_name, email, report_id, "
           "begin_at, end_at, errors, "
           "domain, domain_as_written, p, channel, origin, payload_chain, "
           "payload_name, "
           "received_at, sha256_raw, content_sha256, record_count, "
           "message_count, warnings, "
           "warning_count, imported_at) VALUES (1, 'google.com', "
           "'n@google.com', 'old-1', "
           "1718236800, 1718323199, '[]', 'example.com', 'Example.com', "
           "'none', 'file', "
           "'/spool/a', 'xml', 'a.xml', 1718236800, 'aa', 'cc', 2, 7, '[]', 0, "
           "1718300000)",
        now;
    old << "INSERT INTO records (report_row_id, row_index, source_ip, count, "
           "disposition, "
           "eval_dkim, eval_spf, reasons, header_from, dkim, spf) VALUES "
           "(1, 0, '192.0.2.1', 3, 'none', 'pass', 'fail', '[]', "
           "'example.com', "
           "'[[\"example.com\",\"s1\",\"pass\",null]]', '[]'), "
           "(1, 1, '192.0.2.2', 4, 'quarantine', 'fail', 'fail', '[]', "
           "'example.com', '[]', "
           "'[[\"example.com\",\"mfrom\",\"fail\",null]]')",
        now;
    old << "SELECT id FROM reports", Poco::Data::Keywords::into(report_id), now;
  }
  auto store = OpenStore(path);
  auto applied = store->AppliedMigrations();
  BOOST_REQUIRE_MESSAGE(applied.ok(), Why(applied));
  BOOST_REQUIRE_EQUAL(applied->size(), MigrationFiles().size());
  BOOST_TEST((*applied)[0].first == 1);
  BOOST_TEST((*applied)[1].first == 2);

  auto report = store->GetReport(report_id);
  BOOST_REQUIRE_MESSAGE(report.ok(), Why(report));
  BOOST_REQUIRE_EQUAL(report->records.size(), 2u);
  BOOST_TEST(report->records[1].count == 4u);
  const m::ReportAnalysis none = GetAnalysis(*store, report_id);
  BOOST_TEST(none.fingerprint.empty());
  BOOST_REQUIRE_EQUAL(none.records.size(), 2u);
  BOOST_TEST(none.records[0].path_key.empty());
  BOOST_TEST(none.records[1].path_key.empty());
  BOOST_TEST(ToAnalyze(*store, "fp1") == std::vector<std::int64_t>{report_id});
  BOOST_TEST(PathLines(*store, Everything()).empty());

  BOOST_REQUIRE(store->ReplaceAnalysis(report_id, AllOn(kOffice, 2, "fp1")).ok());
  const auto office = PathOf(*store, Everything(), kOffice.key);
  BOOST_REQUIRE(office.has_value());
  BOOST_TEST(Show(office->counts) == Show(MakeCounts(7, 7, 7, 7, 0, 4, 0, 2)));
  BOOST_TEST(ToAnalyze(*store, "fp1").empty());

  // The re-analysis wrote the records again as a block (migration 0008)
  // and took them out of the old table; they read back the same.
  Poco::Data::Session other = OtherConnection(path);
  std::int64_t old_rows = -1, block_rows = -1;
  other << "SELECT COUNT(*) FROM records", Poco::Data::Keywords::into(old_rows), now;
  other << "SELECT SUM(row_count) FROM record_blocks", Poco::Data::Keywords::into(block_rows),
      now;
  BOOST_TEST(old_rows == 0);
  BOOST_TEST(block_rows == 2);
  auto again = store->GetReport(report_id);
  BOOST_REQUIRE_MESSAGE(again.ok(), Why(again));
  BOOST_REQUIRE_EQUAL(again->records.size(), 2u);
  BOOST_TEST(again->records[0].source_ip.ToString() == "192.0.2.1");
  BOOST_TEST(again->records[1].count == 4u);
  BOOST_TEST(again->records[1].auth_results.spf.size() == 1u);
  BOOST_TEST(GetAnalysis(*store, report_id).records[1].path_key == kOffice.key);
}

// Migration 0009 rebuilds rollup_sources in its key's order, without the
// day index: a store that had source rollups keeps every one of them.
BOOST_AUTO_TEST_CASE(migration_9_keeps_every_source_rollup_and_drops_the_day_index) {
  TempDir dir;
  const std::string database = DatabaseIn(dir, "m9.db");
  const RollupFilter all = Everything();
  std::string before;
  std::int64_t rows = 0;
  {
    auto store = OpenStore(database, /*keep_answers=*/false);
    const std::int64_t input = PutInput(*store);
    Generator gen(9);
    for (int n = 0; n < 20; ++n) {
      m::Report r = MakeReport("google.com", "m9-" + std::to_string(n), "example.com",
                               kDay0 + (n % 4) * 86400);
      for (int k = 0; k < 5; ++k) r.records.push_back(gen.Record());
      const m::ReportAnalysis a = gen.Analysis(r, "fp1");
      BOOST_REQUIRE(Save(*store, input, r, "m9-" + std::to_string(n), &a).kind ==
                    SaveKind::kNew);
    }
    before = Snapshot(*store, all);
  }
  {
    // rollup_sources as migrations 0002 and 0006 left it, with its rows.
    Poco::Data::Session old = OtherConnection(database);
    old << "CREATE TABLE rollup_sources_copy AS SELECT * FROM rollup_sources", now;
    old << "DROP TABLE rollup_sources", now;
    old << "CREATE TABLE rollup_sources (domain TEXT NOT NULL, day BIGINT NOT NULL, "
           "path_key TEXT NOT NULL, source_ip TEXT NOT NULL, signature_id BIGINT NOT NULL, "
           "messages BIGINT NOT NULL, dmarc_pass BIGINT NOT NULL, spf_aligned BIGINT NOT NULL, "
           "dkim_aligned BIGINT NOT NULL, disagreements BIGINT NOT NULL, "
           "quarantined BIGINT NOT NULL, rejected BIGINT NOT NULL, row_count BIGINT NOT NULL, "
           "PRIMARY KEY (domain, day, path_key, source_ip, signature_id))",
        now;
    old << "CREATE INDEX rollup_sources_day ON rollup_sources (day, domain, path_key)", now;
    old << "INSERT INTO rollup_sources SELECT * FROM rollup_sources_copy", now;
    old << "DROP TABLE rollup_sources_copy", now;
    old << "DELETE FROM schema_migrations WHERE version = 9", now;
    old << "SELECT COUNT(*) FROM rollup_sources", Poco::Data::Keywords::into(rows), now;
  }
  BOOST_TEST(rows > 50);
  auto store = OpenStore(database, /*keep_answers=*/false);
  BOOST_TEST(Snapshot(*store, all) == before);
  Poco::Data::Session after = OtherConnection(database);
  std::int64_t kept_rows = -1, day_index = -1;
  after << "SELECT COUNT(*) FROM rollup_sources", Poco::Data::Keywords::into(kept_rows), now;
  after << (kOnPostgres ? "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'rollup_sources_day'"
                        : "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollup_sources_day'"),
      Poco::Data::Keywords::into(day_index), now;
  BOOST_TEST(kept_rows == rows);
  BOOST_TEST(day_index == 0);
}

// --- saving in batches (ReportWriter)
// ------------------------------------------------------

namespace {

// The report through a ReportWriter, `batch` records at a time.
dmarcwatch::Result<dmarcwatch::store::SaveResult> SaveInBatches(
    Store &store, std::int64_t input_id, const m::Report &report, const std::string &digest,
    const m::ReportAnalysis *analysis, std::size_t batch) {
  m::Report header = report;
  header.records.clear();
  header.warnings.clear();
  auto writer = store.BeginReport(input_id, header, kDay0 + 100000);
  if (!writer.ok()) return writer.status();
  for (std::size_t first = 0; first < report.records.size(); first += batch) {
    const std::size_t last = std::min(report.records.size(), first + batch);
    const std::vector<m::Record> records(report.records.begin() + static_cast<long>(first),
                                         report.records.begin() + static_cast<long>(last));
    std::optional<m::ReportAnalysis> part;
    if (analysis != nullptr) {
      part.emplace();
      part->fingerprint = analysis->fingerprint;
      part->records.assign(analysis->records.begin() + static_cast<long>(first),
                           analysis->records.begin() + static_cast<long>(last));
    }
    const Status added = (*writer)->AddRecords(records, part ? &*part : nullptr);
    if (!added.ok()) return added;
  }
  return (*writer)->Finish(digest, report.warnings);
}

// What a store holds of one report: its list row, every field of its
// records, its warnings and its analysis.
std::string ShowStored(Store &store, std::int64_t id) {
  std::ostringstream out;
  auto row = store.GetReportRow(id);
  BOOST_REQUIRE_MESSAGE(row.ok(), Why(row));
  out << row->org_name << " | " << row->report_id << " | " << row->domain << " | "
      << row->records << " | " << row->messages << " | " << row->warnings << " | "
      << row->content_sha256 << " | "
      << (row->duplicate_of ? std::to_string(*row->duplicate_of) : "-") << "\n";
  auto report = store.GetReport(id);
  BOOST_REQUIRE_MESSAGE(report.ok(), Why(report));
  for (const m::ParseWarning &w : report->warnings) {
    out << "warning " << w.code << " " << w.detail << "\n";
  }
  for (const m::Record &r : report->records) {
    out << r.source_ip.ToString() << " " << r.count << " "
        << m::ToString(r.policy_evaluated.disposition) << " " << r.identifiers.header_from << " "
        << r.identifiers.envelope_from.value_or("-");
    for (const auto &d : r.auth_results.dkim) {
      out << " dkim " << d.domain << " " << m::ToString(d.result);
    }
    for (const auto &f : r.auth_results.spf) {
      out << " spf " << f.domain << " " << m::ToString(f.result);
    }
    out << "\n";
  }
  out << ShowAnalysis(GetAnalysis(store, id));
  return out.str();
}

// 60 records from 7 sources on 4 paths, so that rollup keys recur across
// batches of 7.
std::pair<m::Report, m::ReportAnalysis> BatchedReport() {
  using D = m::AppliedDisposition;
  const std::vector<std::string> ips = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.7",
                                        "192.0.2.9", "2001:db8::2", "203.0.113.5"};
  const std::vector<PathInfo> paths = {kOffice, kSendGrid, kMailgun, kForwarder};
  std::vector<m::Record> records;
  m::ReportAnalysis analysis;
  analysis.fingerprint = "fp-batches";
  for (std::size_t i = 0; i < 60; ++i) {
    const D disposition = i % 5 == 0 ? D::kQuarantine : (i % 7 == 0 ? D::kReject : D::kNone);
    records.push_back(MakeRecord(ips[i % ips.size()], 1 + i * 3, disposition));
    if (i % 4 == 1) records.back().identifiers.envelope_from = "bounce.example.com";
    analysis.records.push_back(
        Attributed(paths[(i / 3) % paths.size()], i % 2 == 0, i % 3 == 0, i % 2 == 0, i % 11 == 0));
  }
  m::Report report = MakeReport("google.com", "batched", "Example.com", kDay0, std::move(records));
  report.warnings = {{"padded_value", "count had whitespace around its value (x3)"},
                     {"unknown_element", "<vendor:x> in <record> was skipped"}};
  return {report, analysis};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_report_saved_in_batches_is_stored_as_if_saved_whole) {
  const auto [report, analysis] = BatchedReport();
  auto whole = OpenStore(FreshDatabase());
  auto batched = OpenStore(FreshDatabase());
  const std::int64_t input_whole = PutInput(*whole);
  const std::int64_t input_batched = PutInput(*batched);
  const auto a = Save(*whole, input_whole, report, "digest-1", &analysis);
  for (std::size_t batch : {std::size_t{7}, std::size_t{60}, std::size_t{1}}) {
    auto into = OpenStore(FreshDatabase());
    const std::int64_t input = PutInput(*into);
    auto b = SaveInBatches(*into, input, report, "digest-1", &analysis, batch);
    BOOST_REQUIRE_MESSAGE(b.ok(), Why(b));
    BOOST_TEST((b->kind == SaveKind::kNew));
    BOOST_TEST(ShowStored(*into, b->report_row_id) == ShowStored(*whole, a.report_row_id),
               "batches of " << batch);
    BOOST_TEST(Snapshot(*into, Everything()) == Snapshot(*whole, Everything()),
               "batches of " << batch);
    auto totals_a = whole->GetTotals();
    auto totals_b = into->GetTotals();
    BOOST_REQUIRE(totals_a.ok() && totals_b.ok());
    BOOST_TEST(totals_b->records == totals_a->records);
    BOOST_TEST(totals_b->messages == totals_a->messages);
  }
  // Without an analysis: stored, not counted, offered for analysis.
  auto b = SaveInBatches(*batched, input_batched, report, "digest-1", nullptr, 7);
  BOOST_REQUIRE_MESSAGE(b.ok(), Why(b));
  BOOST_TEST(PathLines(*batched, Everything()).empty());
  BOOST_TEST(ToAnalyze(*batched, "fp-batches") == std::vector<std::int64_t>{b->report_row_id});
  const Status analysed = batched->ReplaceAnalysis(b->report_row_id, analysis);
  BOOST_REQUIRE_MESSAGE(analysed.ok(), analysed.ToString());
  BOOST_TEST(Snapshot(*batched, Everything()) == Snapshot(*whole, Everything()));
  CheckAgainstRecomputation(*batched, kDayNumber0, kDayNumber0);
}

BOOST_AUTO_TEST_CASE(a_duplicate_saved_in_batches_is_rolled_back_at_the_end) {
  const auto [report, analysis] = BatchedReport();
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const auto a = Save(*store, input, report, "digest-1", &analysis);
  const std::string before = Snapshot(*store, Everything());
  auto totals_before = store->GetTotals();
  BOOST_REQUIRE(totals_before.ok());
  auto b = SaveInBatches(*store, input, report, "digest-1", &analysis, 7);
  BOOST_REQUIRE_MESSAGE(b.ok(), Why(b));
  BOOST_TEST((b->kind == SaveKind::kDuplicate));
  BOOST_TEST(b->report_row_id == a.report_row_id);
  BOOST_TEST(Snapshot(*store, Everything()) == before);
  auto totals_after = store->GetTotals();
  BOOST_REQUIRE(totals_after.ok());
  BOOST_TEST(totals_after->reports == totals_before->reports);
  BOOST_TEST(totals_after->records == totals_before->records);
}

BOOST_AUTO_TEST_CASE(a_conflicting_copy_saved_in_batches_is_kept_and_never_counted) {
  const auto [report, analysis] = BatchedReport();
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  const auto a = Save(*store, input, report, "digest-1", &analysis);
  const std::string before = Snapshot(*store, Everything());
  m::Report other = report;
  other.records[30].count = 1000;
  auto b = SaveInBatches(*store, input, other, "digest-2", &analysis, 7);
  BOOST_REQUIRE_MESSAGE(b.ok(), Why(b));
  BOOST_TEST((b->kind == SaveKind::kConflict));
  BOOST_TEST((b->duplicate_of == std::optional<std::int64_t>(a.report_row_id)));
  BOOST_TEST(Snapshot(*store, Everything()) == before);
  BOOST_TEST(ShowAnalysis(GetAnalysis(*store, b->report_row_id)) == ShowAnalysis(analysis));
  auto copy = store->GetReport(b->report_row_id);
  BOOST_REQUIRE_MESSAGE(copy.ok(), Why(copy));
  BOOST_TEST(copy->records.size() == 60u);
  BOOST_TEST(copy->records[30].count == 1000u);
}

BOOST_AUTO_TEST_CASE(a_batched_save_that_fails_or_is_abandoned_writes_nothing) {
  const auto [report, analysis] = BatchedReport();
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store);
  // A NUL in the third batch: refused like SaveReport refuses it, and the
  // first two batches go with it.
  m::Report bad = report;
  bad.records[20].identifiers.header_from = std::string("exa\0mple.com", 12);
  auto failed = SaveInBatches(*store, input, bad, "digest-1", &analysis, 7);
  BOOST_REQUIRE(!failed.ok());
  BOOST_TEST((failed.status().code() == StatusCode::kInvalidInput));
  BOOST_TEST(failed.status().reason() == "nul_in_text");
  BOOST_TEST(failed.status().message().find("header_from") != std::string::npos);
  {
    m::Report header = report;
    header.records.clear();
    auto writer = store->BeginReport(input, header, kDay0);
    BOOST_REQUIRE_MESSAGE(writer.ok(), Why(writer));
    const std::vector<m::Record> first(report.records.begin(), report.records.begin() + 10);
    const Status added = (*writer)->AddRecords(first, nullptr);
    BOOST_REQUIRE_MESSAGE(added.ok(), added.ToString());
    // Analysis for some batches only is a caller's mistake, refused.
    m::ReportAnalysis part;
    part.records.assign(analysis.records.begin(), analysis.records.begin() + 10);
    const Status mixed = (*writer)->AddRecords(first, &part);
    BOOST_TEST((mixed.code() == StatusCode::kInternal));
    auto finished = (*writer)->Finish("digest-1", {});
    BOOST_REQUIRE(!finished.ok());
    BOOST_TEST((finished.status().code() == StatusCode::kInternal));
  }
  {
    m::Report header = report;
    header.records.clear();
    auto writer = store->BeginReport(input, header, kDay0);
    BOOST_REQUIRE_MESSAGE(writer.ok(), Why(writer));
    const std::vector<m::Record> first(report.records.begin(), report.records.begin() + 10);
    const Status added = (*writer)->AddRecords(first, nullptr);
    BOOST_REQUIRE_MESSAGE(added.ok(), added.ToString());
  }  // dropped without Finish: rolled back
  auto totals = store->GetTotals();
  BOOST_REQUIRE(totals.ok());
  BOOST_TEST(totals->reports == 0u);
  BOOST_TEST(totals->records == 0u);
  BOOST_TEST(PathLines(*store, Everything()).empty());
  // The store goes on as before.
  const auto saved = Save(*store, input, report, "digest-1", &analysis);
  BOOST_TEST((saved.kind == SaveKind::kNew));
}

BOOST_AUTO_TEST_SUITE_END()
