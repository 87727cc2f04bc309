// The dmarcwatch binary as a user runs it: exit codes, output formats, and
// an import killed with SIGKILL midway that a re-run completes with nothing
// lost and nothing doubled.

#define BOOST_TEST_MODULE cli
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "dmarcwatch/store/store.h"
#include "test_support.h"

namespace fs = std::filesystem;
namespace store = dmarcwatch::store;

namespace {

const fs::path kCorpus = DMARC_CORPUS_DIR;
using dmarcwatch::testing::kBinary;
using dmarcwatch::testing::TempDir;
using dmarcwatch::testing::WriteFile;

dmarcwatch::testing::RunResult Run(const std::vector<std::string>& args, bool with_stderr = true) {
  return dmarcwatch::testing::RunDmarcwatch(args, with_stderr);
}

// A valid aggregate report with `records` rows, distinct by `id`.
std::string MakeReport(int id, int records) {
  std::string xml =
      "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>kill.test</org_name>"
      "<email>r@kill.test</email><report_id>kill-" +
      std::to_string(id) +
      "</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>"
      "</report_metadata><policy_published><domain>example.com</domain><p>none</p>"
      "</policy_published>";
  for (int r = 0; r < records; ++r) {
    xml += "<record><row><source_ip>10." + std::to_string(r / 250) + "." +
           std::to_string(r % 250) + ".1</source_ip><count>" + std::to_string(r + 1) +
           "</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
           "<spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com"
           "</header_from></identifiers><auth_results><spf><domain>example.com</domain>"
           "<result>pass</result></spf></auth_results></record>";
  }
  return xml + "</feedback>";
}


std::uint64_t StoredReports(const std::string& db) {
  store::StoreOptions o;
  o.database = db;
  auto s = store::Store::Open(o);
  if (!s.ok()) return 0;
  auto t = (*s)->GetTotals();
  return t.ok() ? t->reports : 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(import_exits_zero_with_rejections_and_prints_a_summary) {
  TempDir dir;
  const std::string db = (dir.path() / "t.db").string();
  auto r = Run({"--db", db, "--offline", "import", (kCorpus / "malformed").string()});
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("rejected") != std::string::npos);
  BOOST_TEST(r.output.find("xml_malformed") != std::string::npos);
  BOOST_TEST(r.output.find("| reports: ") != std::string::npos);

  auto rejected = Run({"--db", db, "rejected", "--format", "json"}, false);
  BOOST_REQUIRE_EQUAL(rejected.exit_code, 0);
  Poco::JSON::Parser parser;
  auto root = parser.parse(rejected.output).extract<Poco::JSON::Object::Ptr>();
  auto list = root->getArray("rejected");
  BOOST_REQUIRE(list);
  BOOST_TEST(list->size() >= 15u);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    BOOST_TEST(!o->getValue<std::string>("reason").empty());
    BOOST_TEST(!o->getValue<std::string>("message").empty());
  }
}

BOOST_AUTO_TEST_CASE(bad_usage_exits_two_and_an_unwritable_store_exits_one) {
  BOOST_TEST(Run({"import"}).exit_code == 2);
  BOOST_TEST(Run({"import", "--no-such-option", "x"}).exit_code == 2);
  BOOST_TEST(Run({"no-such-command"}).exit_code == 2);
  BOOST_TEST(Run({"reports", "--format", "yaml"}).exit_code == 2);
  auto r = Run({"--db", "/proc/dmarcwatch-no/x.db", "--offline", "import", (kCorpus / "aggregate").string()});
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("cannot open the store") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(every_command_has_help) {
  for (const char* cmd : {"import", "reports", "rejected"}) {
    auto r = Run({cmd, "--help"});
    BOOST_TEST(r.exit_code == 0, cmd);
    BOOST_TEST(r.output.find("usage: dmarcwatch " + std::string(cmd)) != std::string::npos, cmd);
    BOOST_TEST(r.output.find("--db") != std::string::npos, cmd);
  }
  auto top = Run({"--help"});
  BOOST_TEST(top.exit_code == 0);
  BOOST_TEST(top.output.find("import") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reports_json_has_the_documented_shape) {
  TempDir dir;
  const std::string db = (dir.path() / "t.db").string();
  BOOST_REQUIRE_EQUAL(Run({"--db", db, "--offline", "import", (kCorpus / "aggregate").string()}).exit_code, 0);
  auto r = Run({"--db", db, "reports", "--format", "json", "--domain", "EXAMPLE.com"}, false);
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  Poco::JSON::Parser parser;
  auto root = parser.parse(r.output).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(root->getValue<int>("version") == 1);
  auto list = root->getArray("reports");
  BOOST_REQUIRE(list && list->size() > 0);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    BOOST_TEST(o->getValue<std::string>("domain") == "example.com");
    for (const char* key : {"org", "report_id", "begin", "end", "records", "messages",
                            "duplicate_of"}) {
      BOOST_TEST(o->has(key), key);
    }
    const auto begin = o->getValue<std::string>("begin");
    BOOST_TEST(begin.size() == 20u);
    BOOST_TEST(begin.back() == 'Z');
  }
  auto since = Run({"--db", db, "reports", "--format", "json", "--since", "2024-06-01"}, false);
  auto all = Run({"--db", db, "reports", "--format", "json"}, false);
  auto n_since = parser.parse(since.output).extract<Poco::JSON::Object::Ptr>()->getArray("reports")->size();
  auto n_all = parser.parse(all.output).extract<Poco::JSON::Object::Ptr>()->getArray("reports")->size();
  BOOST_TEST(n_since > 0u);
  BOOST_TEST(n_since < n_all);
}

BOOST_AUTO_TEST_CASE(an_import_killed_midway_is_completed_by_a_rerun_without_loss_or_doubles) {
  TempDir dir;
  const fs::path in = dir.path() / "in";
  fs::create_directories(in);
  // Enough reports for several of import's batches (kBatchInputs, 256):
  // only committed batches are seen, so the kill lands between two.
  constexpr int kReports = 1500;
  constexpr int kRecords = 100;
  for (int i = 0; i < kReports; ++i) {
    WriteFile((in / ("r" + std::to_string(10000 + i) + ".xml")).string(), MakeReport(i, kRecords));
  }
  const std::string db = (dir.path() / "kill.db").string();

  const pid_t pid = dmarcwatch::testing::Spawn(
      {kBinary, "--db", db, "--offline", "import", "--quiet", in.string()},
      dmarcwatch::testing::SpawnOptions((dir.path() / "import.log").string(), SIGKILL));
  BOOST_REQUIRE_GT(pid, 0);

  // Kill it once some, but not all, reports are in.
  std::uint64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    seen = fs::exists(db) ? StoredReports(db) : 0;
    if (seen >= 20) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status),
                        "the import finished before it could be killed, with "
                            << seen << " reports seen, exit status "
                            << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", output: "
                            << dmarcwatch::testing::ReadFile((dir.path() / "import.log").string()));
  const std::uint64_t after_kill = StoredReports(db);
  BOOST_TEST_MESSAGE("killed with " << after_kill << " of " << kReports << " reports stored");
  BOOST_TEST(after_kill >= 20u);
  BOOST_TEST(after_kill < static_cast<std::uint64_t>(kReports));

  // Whatever was committed is whole: every stored report has all its records.
  {
    store::StoreOptions o;
    o.database = db;
    auto s = store::Store::Open(o);
    BOOST_REQUIRE(s.ok());
    auto t = (*s)->GetTotals();
    BOOST_REQUIRE(t.ok());
    BOOST_TEST(t->records == t->reports * kRecords);
  }

  auto rerun = Run({"--db", db, "--offline", "import", "--quiet", in.string()});
  BOOST_TEST(rerun.exit_code == 0, rerun.output);
  store::StoreOptions o;
  o.database = db;
  auto s = store::Store::Open(o);
  BOOST_REQUIRE(s.ok());
  auto t = (*s)->GetTotals();
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t->reports == static_cast<std::uint64_t>(kReports));
  BOOST_TEST(t->conflicts == 0u);
  BOOST_TEST(t->records == static_cast<std::uint64_t>(kReports) * kRecords);
  store::ReportFilter all;
  all.limit = kReports * 2;
  auto rows = (*s)->ListReports(all);
  BOOST_REQUIRE(rows.ok());
  std::set<std::string> ids;
  for (const auto& r : *rows) ids.insert(r.report_id);
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kReports));
  BOOST_TEST(rows->size() == static_cast<std::size_t>(kReports));
}

BOOST_AUTO_TEST_SUITE_END()
