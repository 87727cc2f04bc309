// Several dmarcwatch processes against one PostgreSQL database, as
// docs/scaling.md describes: four `dmarcwatch import` processes started at
// once over overlapping directories of the demo month must store every
// report exactly once, with the same rows and rollups as one importer
// alone (and as SQLite). The server is a real PostgreSQL on loopback
// (postgres_server.h); the binary runs as a user would run it.

#define BOOST_TEST_MODULE shared_postgres
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dmarcwatch/store/store.h"
#include "postgres_server.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
namespace store = dmarcwatch::store;
using dmarcwatch::testing::kBinary;
using dmarcwatch::testing::ReadFile;
using dmarcwatch::testing::PostgresServer;
using dmarcwatch::testing::TempDir;

const fs::path kDemo = fs::path(DMARC_SOURCE_DIR) / "samples/demo";

template <typename T>
std::string Why(const dmarcwatch::Result<T>& r) {
  return r.ok() ? std::string("ok") : r.status().ToString();
}

PostgresServer& Server() {
  PostgresServer& server = PostgresServer::Shared();
  BOOST_REQUIRE_MESSAGE(server.ok(), "no PostgreSQL server: " + server.error());
  return server;
}

std::vector<std::string> ImportArgs(const std::string& db, const fs::path& dir) {
  return {kBinary, "--config", (kDemo / "dmarcwatch.toml").string(), "--db", db, "--offline",
          "import", "--quiet", dir.string()};
}

// An importer with its output in `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = dmarcwatch::testing::Spawn(args, dmarcwatch::testing::SpawnOptions(log));
  BOOST_REQUIRE_GT(pid, 0);
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// What a database holds, in terms that do not depend on row ids or on
// which process stored what.
struct Snapshot {
  store::Totals totals;
  // (org_name, report_id) -> how many rows carry it
  std::map<std::pair<std::string, std::string>, int> keys;
  // path key -> (messages, dmarc_pass, rows)
  std::map<std::string, std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> paths;
};

Snapshot Take(const std::string& db) {
  store::StoreOptions o;
  o.database = db;
  auto opened = store::Store::Open(o);
  BOOST_REQUIRE_MESSAGE(opened.ok(), Why(opened));
  store::Store& s = **opened;
  Snapshot snap;
  auto totals = s.GetTotals();
  BOOST_REQUIRE(totals.ok());
  snap.totals = *totals;
  store::ReportFilter all;
  all.limit = 100000;
  auto rows = s.ListReports(all);
  BOOST_REQUIRE(rows.ok());
  for (const store::ReportRow& r : *rows) ++snap.keys[{r.org_name, r.report_id}];
  store::RollupFilter everything;
  everything.from_day = 0;
  everything.to_day = 1000000;
  auto paths = s.QueryPathTotals(everything);
  BOOST_REQUIRE_MESSAGE(paths.ok(), Why(paths));
  for (const auto& p : *paths) {
    snap.paths[p.path.key] = {p.counts.messages, p.counts.dmarc_pass, p.counts.rows};
  }
  return snap;
}

void CheckSame(const Snapshot& got, const Snapshot& want, const std::string& what) {
  BOOST_TEST(got.totals.inputs == want.totals.inputs, what);
  BOOST_TEST(got.totals.reports == want.totals.reports, what);
  BOOST_TEST(got.totals.conflicts == want.totals.conflicts, what);
  BOOST_TEST(got.totals.records == want.totals.records, what);
  BOOST_TEST(got.totals.messages == want.totals.messages, what);
  BOOST_TEST(got.totals.rejects == want.totals.rejects, what);
  BOOST_TEST(got.keys.size() == want.keys.size(), what);
  BOOST_TEST((got.keys == want.keys), what << ": the same (org, report_id) keys");
  BOOST_TEST(got.paths.size() == want.paths.size(), what);
  BOOST_TEST((got.paths == want.paths), what << ": the same rollups per path");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_postgres)

BOOST_AUTO_TEST_CASE(four_concurrent_importers_store_every_report_exactly_once) {
  PostgresServer& server = Server();
  TempDir dir("pg-import");

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kDemo / "reports")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  BOOST_REQUIRE_GE(files.size(), 100u);

  // Four overlapping directories: each file is in three of them, and every
  // file is in at least one.
  constexpr int kWorkers = 4;
  std::vector<fs::path> dirs;
  for (int w = 0; w < kWorkers; ++w) {
    dirs.push_back(dir.path() / ("in" + std::to_string(w)));
    fs::create_directories(dirs.back());
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (int w = 0; w < kWorkers; ++w) {
      if (static_cast<int>(i % kWorkers) == w) continue;
      fs::copy_file(files[i], dirs[w] / files[i].filename());
    }
  }

  // Baselines: one importer over every file, on PostgreSQL and on SQLite.
  const std::string single = server.CreateDatabase();
  {
    const std::string log = dir / "single.log";
    const auto started = std::chrono::steady_clock::now();
    const int rc = Wait(Spawn(ImportArgs(single, kDemo / "reports"), log));
    BOOST_TEST_MESSAGE("one importer, PostgreSQL: " << Seconds(started) << " s");
    BOOST_REQUIRE_MESSAGE(rc == 0, "single importer exited " << rc << ": " << ReadFile(log));
  }
  const Snapshot baseline = Take(single);
  BOOST_TEST(baseline.totals.reports >= files.size());
  BOOST_TEST(!baseline.paths.empty());  // the demo configuration analysed them
  for (const auto& [key, n] : baseline.keys) BOOST_TEST(n == 1, key.first << " " << key.second);
  {
    const std::string sqlite = dir / "single.db";
    const std::string log = dir / "sqlite.log";
    const auto started = std::chrono::steady_clock::now();
    const int rc = Wait(Spawn(ImportArgs(sqlite, kDemo / "reports"), log));
    BOOST_TEST_MESSAGE("one importer, SQLite: " << Seconds(started) << " s");
    BOOST_REQUIRE_MESSAGE(rc == 0, "SQLite importer exited " << rc << ": " << ReadFile(log));
    CheckSame(Take(sqlite), baseline, "SQLite against PostgreSQL");
  }

  // Four importers at once into one fresh database.
  const std::string shared = server.CreateDatabase();
  std::vector<pid_t> pids;
  const auto started = std::chrono::steady_clock::now();
  for (int w = 0; w < kWorkers; ++w) {
    pids.push_back(Spawn(ImportArgs(shared, dirs[w]), dir / ("worker" + std::to_string(w) + ".log")));
  }
  for (int w = 0; w < kWorkers; ++w) {
    const int rc = Wait(pids[w]);
    BOOST_TEST(rc == 0, "worker " << w << " exited " << rc << ": "
                                  << ReadFile(dir / ("worker" + std::to_string(w) + ".log")));
  }
  BOOST_TEST_MESSAGE(kWorkers << " importers at once, PostgreSQL: " << Seconds(started) << " s");
  const Snapshot got = Take(shared);
  for (const auto& [key, n] : got.keys) {
    BOOST_TEST(n == 1, "report " << key.first << " " << key.second << " stored " << n << " times");
  }
  CheckSame(got, baseline, "four importers against one");
}

BOOST_AUTO_TEST_SUITE_END()
