// The real-world corpus (tests/corpus, see its README and MANIFEST.tsv):
// every file of aggregate/, eml/ and malformed/ imports into a real SQLite
// store with exactly the values in EXPECTED.tsv, rejects what it says to
// reject with a reason, and a second import adds nothing.

#define BOOST_TEST_MODULE corpus
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/store.h"
#include "importer.h"

namespace fs = std::filesystem;
namespace analysis = dmarcwatch::analysis;
namespace ingest = dmarcwatch::ingest;
namespace model = dmarcwatch::model;
namespace store = dmarcwatch::store;
using dmarcwatch::app::Importer;
using dmarcwatch::app::ImportTotals;

namespace {

const fs::path kCorpus = DMARC_CORPUS_DIR;

// EXPECTED.tsv is tab-separated with CSV-style quoting ("" inside quotes).
std::vector<std::string> SplitTsvLine(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == '\t') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return fields;
}

struct Expected {
  std::string file, expect, chain, type, org, report_id, domain, records, messages, begin, end;
};

std::vector<Expected> LoadExpected() {
  std::ifstream in(kCorpus / "EXPECTED.tsv");
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << (kCorpus / "EXPECTED.tsv"));
  std::string line;
  std::getline(in, line);
  const auto header = SplitTsvLine(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  std::vector<Expected> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto f = SplitTsvLine(line);
    f.resize(header.size());
    rows.push_back({f[col["file"]], f[col["expect"]], f[col["payload_chain"]], f[col["type"]],
                    f[col["reporter_org"]], f[col["report_id"]], f[col["policy_domain"]],
                    f[col["record_count"]], f[col["message_count"]], f[col["begin_utc"]],
                    f[col["end_utc"]]});
  }
  return rows;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One line per report, comparable with an EXPECTED row.
std::string Key(const std::string& org, const std::string& id, const std::string& domain,
                const std::string& records, const std::string& messages, const std::string& begin,
                const std::string& end) {
  return org + " | " + id + " | " + domain + " | " + records + " | " + messages + " | " + begin +
         " | " + end;
}

bool InScope(const Expected& e) {
  return e.file.rfind("aggregate/", 0) == 0 || e.file.rfind("eml/", 0) == 0 ||
         e.file.rfind("malformed/", 0) == 0;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("dmarcwatch-corpus-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A report of `records` rows from senders on declared, provider and unknown
// paths, with values that leave warnings; `variant` changes one count.
std::string LargeReport(int records, int variant) {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n<version>1.0</version>\n"
      "<report_metadata><org_name>google.com</org_name><email>noreply@google.com</email>"
      "<report_id>large-1</report_id><date_range><begin>1793404800</begin>"
      "<end>1793491199</end></date_range></report_metadata>\n"
      "<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>"
      "</policy_published>\n";
  for (int i = 0; i < records; ++i) {
    const std::string ip = i % 3 == 0   ? "192.0.2." + std::to_string(i % 14 + 1)
                           : i % 3 == 1 ? "198.51.100." + std::to_string(i % 200)
                                        : "2001:db8::" + std::to_string(i % 5000);
    const std::string dkim = i % 4 == 0 ? "sendgrid.info" : "example.com";
    const int count = i == 7000 ? variant : 1 + i % 17;
    xml += "<record><row><source_ip>" + ip + "</source_ip><count>" +
           (i % 1000 == 0 ? " " + std::to_string(count) + " " : std::to_string(count)) +
           "</count><policy_evaluated><disposition>" + (i % 9 == 0 ? "quarantine" : "none") +
           "</disposition><dkim>" + (i % 2 == 0 ? "pass" : "fail") + "</dkim><spf>" +
           (i % 5 == 0 ? "pass" : "fail") + "</spf></policy_evaluated></row>"
           "<identifiers><header_from>example.com</header_from></identifiers><auth_results>"
           "<dkim><domain>" + dkim + "</domain><selector>s" + std::to_string(i % 3) +
           "</selector><result>" + (i % 2 == 0 ? "pass" : "fail") + "</result></dkim>"
           "<spf><domain>bounce.example.com</domain><result>" + (i % 5 == 0 ? "pass" : "softfail") +
           "</result></spf></auth_results>" + (i % 2500 == 1 ? "<vendor_x>1</vendor_x>" : "") +
           "</record>\n";
  }
  return xml + "</feedback>\n";
}

analysis::AnalysisConfig LargeReportConfig() {
  analysis::AnalysisConfig c;
  c.domains = {"example.com"};
  analysis::DeclaredPath office;
  office.name = "Office MTA";
  office.kind = model::PathKind::kDirect;
  office.ips = {*model::IpNetwork::Parse("192.0.2.0/28")};
  c.paths = {office};
  return c;
}

// Everything a store holds of its reports and rollups, as text.
std::string StoreContents(store::Store& db) {
  std::ostringstream out;
  auto totals = db.GetTotals();
  BOOST_REQUIRE(totals.ok());
  out << "totals " << totals->inputs << " " << totals->reports << " " << totals->conflicts << " "
      << totals->records << " " << totals->messages << " " << totals->rejects << "\n";
  auto reports = db.ListReports({});
  BOOST_REQUIRE(reports.ok());
  for (const store::ReportRow& r : *reports) {
    out << "report " << r.id << " " << r.org_name << " " << r.report_id << " " << r.domain << " "
        << r.records << " " << r.messages << " " << r.warnings << " " << r.content_sha256 << " "
        << (r.duplicate_of ? std::to_string(*r.duplicate_of) : "-") << " " << r.payload_chain
        << " " << r.payload_name << "\n";
    auto report = db.GetReport(r.id);
    BOOST_REQUIRE(report.ok());
    out << "content " << ingest::ContentDigest(*report) << " " << report->records.size() << "\n";
    for (const auto& w : report->warnings) out << "warning " << w.code << " " << w.detail << "\n";
    auto analysed = db.GetAnalysis(r.id);
    BOOST_REQUIRE(analysed.ok());
    out << "analysis " << analysed->fingerprint << "\n";
    for (const model::RecordAnalysis& a : analysed->records) {
      out << a.path_key << " " << a.rule << " " << a.evidence << " " << a.spf_aligned
          << a.dkim_aligned << a.dmarc_pass << a.disagrees << "\n";
    }
  }
  store::RollupFilter all;
  all.from_day = 0;
  all.to_day = 100000;
  all.limit = 1000000;
  auto paths = db.QueryPathTotals(all);
  auto daily = db.QueryDaily(all, true);
  auto reporters = db.QueryReporters(all);
  auto sources = db.QuerySources(all);
  BOOST_REQUIRE(paths.ok() && daily.ok() && reporters.ok() && sources.ok());
  auto counts = [](const model::Counts& c) {
    return std::to_string(c.messages) + "/" + std::to_string(c.dmarc_pass) + "/" +
           std::to_string(c.spf_aligned) + "/" + std::to_string(c.dkim_aligned) + "/" +
           std::to_string(c.disagreements) + "/" + std::to_string(c.quarantined) + "/" +
           std::to_string(c.rejected) + "/" + std::to_string(c.rows);
  };
  for (const auto& p : *paths) {
    out << "path " << p.path.key << " " << model::ToString(p.path.kind) << " " << p.path.name
        << " " << counts(p.counts) << " " << p.sources << " " << p.reporters << "\n";
  }
  for (const auto& d : *daily) {
    out << "day " << d.day << " " << d.path_key << " " << counts(d.counts) << "\n";
  }
  for (const auto& r : *reporters) {
    out << "reporter " << r.path_key << " " << r.reporter << " " << counts(r.counts) << "\n";
  }
  std::vector<std::string> lines;
  for (const auto& src : *sources) {
    lines.push_back(src.path_key + " " + src.ip.ToString() + " " + src.signature->header_from +
                    " " + std::to_string(src.signature->dkim.size()) + " " + counts(src.counts));
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) out << "source " << l << "\n";
  return out.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(corpus)

BOOST_AUTO_TEST_CASE(every_file_yields_exactly_the_expected_reports) {
  const auto expected = LoadExpected();
  std::map<std::string, std::vector<const Expected*>> by_file;
  for (const Expected& e : expected) {
    if (InScope(e)) by_file[e.file].push_back(&e);
  }
  BOOST_REQUIRE_GE(by_file.size(), 130u);
  std::size_t reports_checked = 0;
  for (const auto& [file, rows] : by_file) {
    const std::string bytes = ReadFile(kCorpus / file);
    ingest::InputInfo info{"file", file, fs::path(file).filename().string(), 0};
    ingest::ProcessedInput out = ingest::ProcessInput(bytes, info, {});

    std::multiset<std::string> want, got;
    std::size_t want_rejected = 0, want_skipped = 0;
    for (const Expected* e : rows) {
      if (e->expect == "reject") {
        ++want_rejected;
      } else if (e->type == "aggregate") {
        want.insert(Key(e->org, e->report_id, e->domain, e->records, e->messages, e->begin,
                        e->end));
      } else {
        ++want_skipped;  // SMTP TLS reports carried by email: recognised, not imported
      }
    }
    for (const model::Report& r : out.reports) {
      got.insert(Key(r.report_metadata.org_name, r.report_metadata.report_id,
                     r.policy_published.domain, std::to_string(r.records.size()),
                     std::to_string(r.MessageCount()),
                     model::FormatIso8601(r.report_metadata.date_range.begin),
                     model::FormatIso8601(r.report_metadata.date_range.end)));
      ++reports_checked;
    }
    BOOST_TEST((got == want), file << ": reports differ from EXPECTED.tsv");
    if (got != want) {
      for (const auto& k : want) BOOST_TEST_MESSAGE("  want " << k);
      for (const auto& k : got) BOOST_TEST_MESSAGE("  got  " << k);
      for (const auto& r : out.rejections) BOOST_TEST_MESSAGE("  rejected " << r.status.ToString());
    }
    BOOST_TEST(out.rejections.size() == want_rejected, file << ": rejections");
    for (const auto& r : out.rejections) {
      BOOST_TEST(!r.status.reason().empty(), file << ": a rejection without a reason");
      BOOST_TEST(r.status.message().find('\n') == std::string::npos);
    }
    // Human-readable parts of report emails are skipped too; only report
    // payloads of other kinds count here.
    std::size_t skipped_reports = 0;
    for (const auto& s : out.skipped) skipped_reports += s.reason != "not_a_report";
    BOOST_TEST(skipped_reports == want_skipped, file << ": skipped payloads");
  }
  BOOST_TEST(reports_checked >= 100u);
}

BOOST_AUTO_TEST_CASE(importing_the_corpus_twice_adds_nothing_the_second_time) {
  TempDir dir;
  store::StoreOptions options;
  options.database = (dir.path / "corpus.db").string();
  auto opened = store::Store::Open(options);
  BOOST_REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.status().ToString()));
  auto& db = **opened;
  model::UnixTime now = 1'750'000'000;
  Importer importer(db, ingest::IngestOptions{}, [&] { return now; });

  auto import_all = [&] {
    ImportTotals totals;
    for (const char* sub : {"aggregate", "eml", "malformed"}) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(kCorpus / sub)) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) {
        ingest::InputInfo info{"file", f.string(), f.filename().string(), now};
        auto outcome = importer.Import(ReadFile(f), info);
        BOOST_REQUIRE_MESSAGE(outcome.ok(),
                              f << ": " << (outcome.ok() ? "" : outcome.status().ToString()));
        totals.Add(*outcome);
      }
    }
    return totals;
  };

  const ImportTotals first = import_all();
  auto after_first = db.GetTotals();
  BOOST_REQUIRE(after_first.ok());
  // The corpus holds the same report several times (as .xml, .gz, .zip and
  // inside emails), so even the first pass finds duplicates.
  BOOST_TEST(first.reports_new > 0u);
  BOOST_TEST(first.duplicates > 0u);
  BOOST_TEST(after_first->reports == first.reports_new + first.conflicts);

  // Distinct reports expected: unique (org, id, domain, begin, end, records,
  // messages) among accepted aggregate rows.
  std::set<std::string> distinct;
  for (const Expected& e : LoadExpected()) {
    if (InScope(e) && e.expect == "accept" && e.type == "aggregate") {
      distinct.insert(Key(e.org, e.report_id, e.domain, e.records, e.messages, e.begin, e.end));
    }
  }
  // Four pairs in the corpus share reporter, report id, domain and range
  // but differ in content (the 0.1 and 2.0 versions of one sample, an old
  // draft of another, a re-cased copy, a latin-1 copy): each second copy is
  // kept and flagged as a conflict, and is not a distinct report.
  BOOST_TEST(first.conflicts == 4u);
  BOOST_TEST(after_first->conflicts == 4u);
  BOOST_TEST(after_first->reports - after_first->conflicts == distinct.size());

  now += 3600;
  const ImportTotals second = import_all();
  auto after_second = db.GetTotals();
  BOOST_REQUIRE(after_second.ok());
  BOOST_TEST(second.reports_new == 0u);
  BOOST_TEST(second.conflicts == 0u);
  BOOST_TEST(second.duplicates == first.reports_new + first.duplicates + first.conflicts);
  BOOST_TEST(after_second->reports == after_first->reports);
  BOOST_TEST(after_second->records == after_first->records);
  BOOST_TEST(after_second->inputs == after_first->inputs);
  BOOST_TEST(after_second->rejects == after_first->rejects);
}

BOOST_AUTO_TEST_CASE(a_report_too_large_to_hold_whole_is_stored_as_if_it_were) {
  // 10,000 rows: the importer writes them in batches as they are parsed.
  // The reference is the importer's way for small reports: parse whole,
  // analyse, SaveReport.
  TempDir dir;
  auto open = [&](const std::string& name) {
    store::StoreOptions options;
    options.database = (dir.path / name).string();
    auto opened = store::Store::Open(options);
    BOOST_REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.status().ToString()));
    return std::move(*opened);
  };
  auto streamed = open("streamed.db");
  auto whole = open("whole.db");
  const model::UnixTime now = 1'793'500'000;
  auto analyzer = analysis::Analyzer::Create(LargeReportConfig(), analysis::Catalog::Builtin());
  BOOST_REQUIRE_MESSAGE(analyzer.ok(), (analyzer.ok() ? "" : analyzer.status().ToString()));
  Importer importer(*streamed, ingest::IngestOptions{}, [&] { return now; }, analyzer->get());

  auto save_whole = [&](const std::string& bytes, const ingest::InputInfo& info) {
    ingest::ProcessedInput processed = ingest::ProcessInput(bytes, info, {});
    store::InputRecord input;
    input.sha256 = processed.sha256_raw;
    input.channel = info.channel;
    input.origin = info.origin;
    input.name = info.name;
    input.received_at = info.received_at;
    input.size = bytes.size();
    input.raw = bytes;
    auto id = whole->PutInput(input);
    BOOST_REQUIRE(id.ok());
    std::vector<store::SaveKind> kinds;
    for (std::size_t i = 0; i < processed.reports.size(); ++i) {
      const model::ReportAnalysis a = (*analyzer)->Analyze(processed.reports[i]);
      auto saved =
          whole->SaveReport(*id, processed.reports[i], processed.content_digests[i], now, &a);
      BOOST_REQUIRE_MESSAGE(saved.ok(), (saved.ok() ? "" : saved.status().ToString()));
      kinds.push_back(saved->kind);
    }
    return kinds;
  };
  auto import = [&](const std::string& bytes, const ingest::InputInfo& info) {
    auto outcome = importer.Import(bytes, info);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), (outcome.ok() ? "" : outcome.status().ToString()));
    std::vector<store::SaveKind> kinds;
    for (const auto& r : outcome->reports) {
      kinds.push_back(r.kind);
      // What the CLI and the upload API print of each report.
      BOOST_TEST(r.org_name == "google.com");
      BOOST_TEST(r.report_id == "large-1");
      BOOST_TEST(r.domain == "example.com");
      BOOST_TEST(r.records == 10000u);
      BOOST_TEST(r.messages > 10000u);
      BOOST_TEST(r.warnings > 0u);  // their text is compared with StoreContents
    }
    return kinds;
  };

  const std::string first = LargeReport(10000, 3);
  const ingest::InputInfo info{"file", "/in/large.xml", "large.xml", now};
  using K = store::SaveKind;
  BOOST_TEST((import(first, info) == std::vector<K>{K::kNew}));
  BOOST_TEST((save_whole(first, info) == std::vector<K>{K::kNew}));
  const std::string after_first = StoreContents(*whole);
  BOOST_TEST(StoreContents(*streamed) == after_first);

  // The same report again, in another file: a duplicate, nothing written.
  const ingest::InputInfo again{"file", "/in/large-again.xml", "large-again.xml", now};
  const std::string reformatted = "\n" + first;
  BOOST_TEST((import(reformatted, again) == std::vector<K>{K::kDuplicate}));
  BOOST_TEST((save_whole(reformatted, again) == std::vector<K>{K::kDuplicate}));
  BOOST_TEST(StoreContents(*streamed) == StoreContents(*whole));

  // The same key with other content: kept as a conflict, never counted.
  const std::string other = LargeReport(10000, 4);
  const ingest::InputInfo changed{"file", "/in/large-2.xml", "large-2.xml", now};
  BOOST_TEST((import(other, changed) == std::vector<K>{K::kConflict}));
  BOOST_TEST((save_whole(other, changed) == std::vector<K>{K::kConflict}));
  BOOST_TEST(StoreContents(*streamed) == StoreContents(*whole));

  // A report that fails late (a bad address in its last record) is a
  // rejection, and none of its batches stay.
  std::string bad = LargeReport(9000, 5);
  const std::size_t ip_at = bad.rfind("<source_ip>") + 11;
  bad.replace(ip_at, bad.find('<', ip_at) - ip_at, "not-an-address");
  const std::string bad_report_id = "large-bad";
  bad.replace(bad.find("large-1"), 7, bad_report_id);
  auto outcome = importer.Import(bad, {"file", "/in/bad.xml", "bad.xml", now});
  BOOST_REQUIRE(outcome.ok());
  BOOST_TEST(outcome->reports.empty());
  BOOST_REQUIRE_EQUAL(outcome->rejections.size(), 1u);
  BOOST_TEST(outcome->rejections[0].status.reason() == "bad_source_ip");
  auto totals = streamed->GetTotals();
  BOOST_REQUIRE(totals.ok());
  BOOST_TEST(totals->reports == 2u);
  BOOST_TEST(totals->records == 20000u);
}

BOOST_AUTO_TEST_SUITE_END()
