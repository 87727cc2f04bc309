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

#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/store.h"
#include "importer.h"

namespace fs = std::filesystem;
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

BOOST_AUTO_TEST_SUITE_END()
