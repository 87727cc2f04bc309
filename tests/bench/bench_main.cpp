// dmarcwatch-bench: the benchmark suite's measuring tool. It drives the real
// `dmarcwatch` binary (import, paths) and a running `dmarcwatch serve`, and
// runs the DNS path against a local unbound, then prints a table. It asserts
// nothing: docs/performance.md records what it printed, and how.
//
//   dmarcwatch-bench ingest  --bin build/dmarcwatch --dir DIR [--runs 3] [--db FILE]
//   dmarcwatch-bench query   --url http://127.0.0.1:PORT [--runs 50]
//   dmarcwatch-bench paths   --bin build/dmarcwatch --db FILE [--runs 20]
//   dmarcwatch-bench clients --url http://127.0.0.1:PORT [--clients 200] [--seconds 20]
//   dmarcwatch-bench dns     [--ips 10000] [--db FILE]
//   dmarcwatch-bench limits  --dir DIR [--db FILE] [--rows 1000000] [--config FILE]
//
// Network: only 127.0.0.1 (the server under test and the unbound it starts).

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "../../schema/store/src/compression.h"  // the store's own zlib, for limits
#include "analysis_service.h"
#include "config.h"
#include "dashboard_client.h"
#include "importer.h"
#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/sources.h"
#include "dmarcwatch/ingest/unpack.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/store.h"
#include "pugixml.hpp"
#include "unbound_server.h"

namespace dmarcwatch::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage:\n"
    "  dmarcwatch-bench ingest  --bin DMARCWATCH --dir DIR [--runs 3] [--db FILE] [--config FILE]\n"
    "  dmarcwatch-bench query   --url http://127.0.0.1:PORT [--runs 50]\n"
    "  dmarcwatch-bench paths   --bin DMARCWATCH --db FILE [--runs 20] [--config FILE]\n"
    "  dmarcwatch-bench clients --url http://127.0.0.1:PORT [--clients 200] [--seconds 20]\n"
    "  dmarcwatch-bench dns     [--ips 10000] [--db FILE]\n"
    "  dmarcwatch-bench limits  --dir DIR [--db FILE] [--rows 1000000] [--config FILE]\n"
    "ingest imports DIR into a fresh database per run (--offline) and reports rows/s,\n"
    "reports/s and peak RSS. query times every dashboard endpoint one request at a\n"
    "time; clients runs that many concurrent dashboard clients. paths times the CLI.\n"
    "dns looks up PTR + forward confirmation of distinct IPs against a local unbound,\n"
    "cold and then from the store's DNS cache. limits times each stage an import\n"
    "runs before it stores a row (unpack, SHA-256, the kept zlib copy, the parse,\n"
    "attribution) and, for comparison, pugixml alone, plain SQLite inserts of\n"
    "records, and the corpus's per-source rollup keys upserted alone.\n";

struct UsageError {
  std::string message;
};

class Arguments {
 public:
  Arguments(int argc, char** argv) {
    for (int i = 2; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg.substr(0, 2) != "--" || i + 1 >= argc) {
        throw UsageError{"expected --name value, got " + std::string(arg)};
      }
      values_[std::string(arg.substr(2))] = argv[++i];
    }
  }
  std::string Text(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::string Required(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError{"--" + name + " is required"};
    return it->second;
  }
  std::uint64_t Number(const std::string& name, std::uint64_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::uint64_t v = 0;
    const std::string& s = it->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      throw UsageError{"--" + name + " wants a whole number"};
    }
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The q-quantile (nearest rank) of `v`. REQUIRES: v non-empty.
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

double Median(std::vector<double> v) { return Quantile(std::move(v), 0.5); }

// ---- Child processes ---------------------------------------------------------------------

struct ChildResult {
  int exit_code = -1;
  double wall_s = 0;
  double cpu_s = 0;        // user + system
  long peak_rss_kb = 0;    // ru_maxrss of the child
  std::string out;         // stdout
};

// Runs argv to completion, stdout captured, stderr passed through.
ChildResult RunChild(const std::vector<std::string>& argv) {
  ChildResult r;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return r;
  const Clock::time_point start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) > 0;) r.out.append(buf, n);
  close(pipe_fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  r.wall_s = Seconds(Clock::now() - start);
  r.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  r.peak_rss_kb = usage.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// The number after `label` in the import summary ("records 1,234,567").
std::uint64_t SummaryNumber(const std::string& out, const std::string& label) {
  const std::size_t at = out.rfind(label);
  if (at == std::string::npos) return 0;
  std::uint64_t n = 0;
  for (std::size_t k = at + label.size(); k < out.size(); ++k) {
    const char c = out[k];
    if (c >= '0' && c <= '9') {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    } else if (c != ',') {
      break;
    }
  }
  return n;
}

void RemoveDatabase(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::remove(db + suffix, ec);
  }
}

void Exec(sqlite3* handle, const char* sql) {
  sqlite3_exec(handle, sql, nullptr, nullptr, nullptr);
}

// A fresh SQLite file for the plain-SQLite comparisons of `limits`, in WAL
// mode with synchronous = NORMAL and the store's 16 MB page cache; nothing
// when it cannot be opened.
sqlite3* OpenScratchDatabase(const std::string& db) {
  RemoveDatabase(db);
  sqlite3* handle = nullptr;
  if (sqlite3_open(db.c_str(), &handle) != SQLITE_OK) {
    sqlite3_close(handle);
    return nullptr;
  }
  Exec(handle, "PRAGMA journal_mode = WAL");
  Exec(handle, "PRAGMA synchronous = NORMAL");
  Exec(handle, "PRAGMA cache_size = -16384");
  return handle;
}

// ---- ingest ------------------------------------------------------------------------------

int RunIngest(const Arguments& args) {
  const std::string bin = fs::absolute(args.Required("bin")).string();
  const std::string dir = args.Required("dir");
  const std::string db = args.Text("db", "/tmp/dmarcwatch-bench-ingest.db");
  const std::string config = args.Text("config");
  const std::uint64_t runs = args.Number("runs", 3);

  // The largest uncompressed report and the input's total size, for the
  // memory target (1.5 x the largest report + 64 MB).
  std::uint64_t largest = 0, input_bytes = 0, files = 0;
  ingest::UnpackLimits limits;
  limits.max_input_bytes = std::uint64_t{1} << 40;
  limits.max_inflated_bytes = std::uint64_t{1} << 40;
  Status walked = ingest::ForEachInput(
      dir, limits,
      [&](ingest::SourceItem&& item) -> Status {
        ++files;
        input_bytes += item.bytes.size();
        for (const ingest::Payload& p : ingest::Unpack(item.bytes, item.name, limits).reports) {
          largest = std::max<std::uint64_t>(largest, p.bytes.size());
        }
        return Status::Ok();
      },
      [](const std::string&, const Status&) {});
  if (!walked.ok()) {
    std::fprintf(stderr, "dmarcwatch-bench: %s\n", walked.ToString().c_str());
    return 1;
  }
  std::printf("input: %s, %llu files, %.1f MB on disk, largest report %.1f MB uncompressed\n",
              dir.c_str(), static_cast<unsigned long long>(files), static_cast<double>(input_bytes) / 1e6,
              static_cast<double>(largest) / 1e6);
  std::printf("%-4s %10s %12s %9s %9s %11s %10s %12s %12s\n", "run", "reports", "rows", "wall_s",
              "cpu_s", "rows/s", "reports/s", "peak_rss_MB", "rss_limit_MB");
  std::vector<double> rates, report_rates, rss;
  for (std::uint64_t run = 1; run <= runs; ++run) {
    RemoveDatabase(db);
    std::vector<std::string> argv = {bin, "--offline", "--log-level", "warning", "--db", db};
    if (!config.empty()) {
      argv.push_back("--config");
      argv.push_back(config);
    }
    for (const char* a : {"import", "--quiet", dir.c_str()}) argv.emplace_back(a);
    const ChildResult r = RunChild(argv);
    if (r.exit_code != 0) {
      std::fprintf(stderr, "dmarcwatch-bench: import exited %d\n%s", r.exit_code, r.out.c_str());
      return 1;
    }
    const std::uint64_t rows = SummaryNumber(r.out, "| records ");
    const std::uint64_t reports = SummaryNumber(r.out, "reports: ");
    const double rate = static_cast<double>(rows) / r.wall_s;
    const double report_rate = static_cast<double>(reports) / r.wall_s;
    const double rss_mb = static_cast<double>(r.peak_rss_kb) / 1024.0;
    rates.push_back(rate);
    report_rates.push_back(report_rate);
    rss.push_back(rss_mb);
    std::printf("%-4llu %10llu %12llu %9.2f %9.2f %11.0f %10.1f %12.1f %12.1f\n",
                static_cast<unsigned long long>(run), static_cast<unsigned long long>(reports),
                static_cast<unsigned long long>(rows), r.wall_s, r.cpu_s, rate, report_rate,
                rss_mb, 1.5 * static_cast<double>(largest) / (1 << 20) + 64);
    std::fflush(stdout);
  }
  std::printf("median: %.0f rows/s, %.1f reports/s, peak RSS %.1f MB\n", Median(rates),
              Median(report_rates), Median(rss));
  return 0;
}

// ---- HTTP --------------------------------------------------------------------------------

using Client = dmarcwatch::testing::DashboardClient;

Poco::JSON::Object::Ptr ParseObject(const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

std::string Encode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "&=+?#/:", out);
  return out;
}

// The dashboard's requests, discovered from the server: a path key, a
// report id and a rejected input id come from the lists.
std::vector<std::pair<std::string, std::string>> DashboardRequests(Client& client) {
  std::vector<std::pair<std::string, std::string>> out = {
      {"session", "/api/v1/session"},     {"domains", "/api/v1/domains"},
      {"overview", "/api/v1/overview"},   {"paths", "/api/v1/paths"},
      {"senders", "/api/v1/senders"},     {"reports", "/api/v1/reports"},
      {"rejected", "/api/v1/rejected"},   {"config", "/api/v1/config"},
      {"providers", "/api/v1/providers"}, {"status", "/api/v1/status"},
  };
  std::string body;
  if (client.Get("/api/v1/paths", body) == 200) {
    if (auto o = ParseObject(body)) {
      auto paths = o->getArray("paths");
      // The biggest path, by messages: the slowest detail page.
      std::string key;
      std::int64_t most = -1;
      for (std::size_t k = 0; paths && k < paths->size(); ++k) {
        auto p = paths->getObject(static_cast<unsigned>(k));
        auto counts = p->getObject("counts");
        const std::int64_t m = counts ? counts->getValue<std::int64_t>("messages") : 0;
        if (m > most) {
          most = m;
          key = p->getValue<std::string>("key");
        }
      }
      if (!key.empty()) out.push_back({"path (largest)", "/api/v1/path?key=" + Encode(key)});
    }
  }
  if (client.Get("/api/v1/senders?result=fail", body) == 200) {
    out.push_back({"senders?result=fail", "/api/v1/senders?result=fail"});
  }
  if (client.Get("/api/v1/reports?limit=1", body) == 200) {
    if (auto o = ParseObject(body)) {
      auto reports = o->getArray("reports");
      if (reports && reports->size() > 0) {
        const std::string id = reports->getObject(0)->get("id").toString();
        out.push_back({"report", "/api/v1/reports/" + id});
        out.push_back({"report_xml", "/api/v1/reports/" + id + "/xml"});
      }
    }
  }
  return out;
}

int RunQuery(const Arguments& args) {
  const Poco::URI base(args.Required("url"));
  const std::uint64_t runs = args.Number("runs", 50);
  Client client(base.getHost(), base.getPort());
  if (!client.Login()) {
    std::fprintf(stderr, "dmarcwatch-bench: cannot open a session at %s: %s\n",
                 base.toString().c_str(), client.last_error().c_str());
    return 1;
  }
  std::printf("%-22s %6s %9s %9s %9s %9s %8s\n", "endpoint", "runs", "p50_ms", "p95_ms", "max_ms",
              "bytes", "status");
  for (const auto& [name, path] : DashboardRequests(client)) {
    std::vector<double> ms;
    std::string body;
    int status = 0;
    client.Get(path, body);  // warm-up, not counted
    for (std::uint64_t k = 0; k < runs; ++k) {
      const Clock::time_point start = Clock::now();
      const int s = client.Get(path, body);
      ms.push_back(Millis(Clock::now() - start));
      if (s != 200) status = s;
      if (status == 0 && s == 200) status = 200;
    }
    std::printf("%-22s %6llu %9.2f %9.2f %9.2f %9zu %8d\n", name.c_str(),
                static_cast<unsigned long long>(runs), Quantile(ms, 0.5), Quantile(ms, 0.95),
                Quantile(ms, 1.0), body.size(), status);
    std::fflush(stdout);
  }
  return 0;
}

int RunClients(const Arguments& args) {
  const Poco::URI base(args.Required("url"));
  const std::uint64_t clients = args.Number("clients", 200);
  const std::uint64_t seconds = args.Number("seconds", 20);
  // One dashboard page load: what the overview page and a path page fetch.
  Client probe(base.getHost(), base.getPort());
  if (!probe.Login()) {
    std::fprintf(stderr, "dmarcwatch-bench: cannot open a session: %s\n",
                 probe.last_error().c_str());
    return 1;
  }
  std::vector<std::string> page = {"/api/v1/session", "/api/v1/domains", "/api/v1/overview",
                                   "/api/v1/paths"};
  for (const auto& [name, path] : DashboardRequests(probe)) {
    if (name == "path (largest)" || name == "senders" || name == "reports") page.push_back(path);
  }

  std::mutex mu;
  std::vector<double> latencies;
  std::map<std::string, std::uint64_t> errors;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> ready{0};
  std::atomic<bool> go{false};
  const Clock::time_point deadline_base = Clock::now();
  std::vector<std::thread> threads;
  Clock::time_point start;
  for (std::uint64_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client client(base.getHost(), base.getPort());
      std::vector<double> mine;
      std::map<std::string, std::uint64_t> my_errors;
      if (!client.Login()) ++my_errors["login: " + client.last_error()];
      ++ready;
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const Clock::time_point until = Clock::now() + std::chrono::seconds(seconds);
      std::string body;
      for (std::size_t k = c % page.size(); Clock::now() < until; k = (k + 1) % page.size()) {
        const Clock::time_point t0 = Clock::now();
        const int s = client.Get(page[k], body);
        mine.push_back(Millis(Clock::now() - t0));
        ++requests;
        if (s != 200) {
          ++my_errors[s == 0 ? "connection: " + client.last_error() : "http " +
                                                                          std::to_string(s)];
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [k, v] : my_errors) errors[k] += v;
    });
  }
  while (ready.load() < clients) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  start = Clock::now();
  go = true;
  for (std::thread& t : threads) t.join();
  const double elapsed = Seconds(Clock::now() - start);
  (void)deadline_base;
  std::uint64_t error_count = 0;
  for (const auto& [k, v] : errors) error_count += v;
  std::printf("%8s %8s %10s %10s %9s %9s %9s %9s\n", "clients", "seconds", "requests", "errors",
              "req/s", "p50_ms", "p95_ms", "p99_ms");
  std::printf("%8llu %8.1f %10llu %10llu %9.1f %9.2f %9.2f %9.2f\n",
              static_cast<unsigned long long>(clients), elapsed,
              static_cast<unsigned long long>(requests.load()),
              static_cast<unsigned long long>(error_count),
              static_cast<double>(requests.load()) / elapsed,
              latencies.empty() ? 0 : Quantile(latencies, 0.5),
              latencies.empty() ? 0 : Quantile(latencies, 0.95),
              latencies.empty() ? 0 : Quantile(latencies, 0.99));
  for (const auto& [k, v] : errors) {
    std::printf("  error %s: %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  }
  return error_count == 0 ? 0 : 1;
}

// ---- paths (CLI) -------------------------------------------------------------------------

int RunPaths(const Arguments& args) {
  const std::string bin = fs::absolute(args.Required("bin")).string();
  const std::string db = args.Required("db");
  const std::string config = args.Text("config");
  const std::uint64_t runs = args.Number("runs", 20);
  std::vector<std::string> argv = {bin, "--offline", "--log-level", "warning", "--db", db};
  if (!config.empty()) {
    argv.push_back("--config");
    argv.push_back(config);
  }
  argv.emplace_back("paths");
  std::vector<double> ms;
  std::size_t bytes = 0;
  RunChild(argv);  // warm-up: the page cache
  for (std::uint64_t k = 0; k < runs; ++k) {
    const ChildResult r = RunChild(argv);
    if (r.exit_code != 0) {
      std::fprintf(stderr, "dmarcwatch-bench: paths exited %d\n", r.exit_code);
      return 1;
    }
    ms.push_back(r.wall_s * 1000);
    bytes = r.out.size();
  }
  std::printf("%-22s %6s %9s %9s %9s %9s\n", "command", "runs", "p50_ms", "p95_ms", "max_ms",
              "bytes");
  std::printf("%-22s %6llu %9.2f %9.2f %9.2f %9zu\n", "dmarcwatch paths",
              static_cast<unsigned long long>(runs), Quantile(ms, 0.5), Quantile(ms, 0.95),
              Quantile(ms, 1.0), bytes);
  return 0;
}

// ---- dns ---------------------------------------------------------------------------------

// 198.18.0.0/15 is set aside for benchmarks (RFC 2544); the n-th address.
std::string BenchAddress(std::uint64_t n) {
  return "198." + std::to_string(18 + n / 65536) + "." + std::to_string(n / 256 % 256) + "." +
         std::to_string(n % 256);
}

int RunDns(const Arguments& args) {
  const std::uint64_t count = args.Number("ips", 10000);
  if (count == 0 || count > 131072) throw UsageError{"--ips wants 1 to 131072"};
  const std::string db = args.Text("db", "/tmp/dmarcwatch-bench-dns.db");

  std::ostringstream zones;
  zones << "  local-zone: \"bench.example.\" static\n"
        << "  local-data: 'ready.bench.example. A 192.0.2.1'\n"
        << "  local-zone: \"18.198.in-addr.arpa.\" static\n"
        << "  local-zone: \"19.198.in-addr.arpa.\" static\n";
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string name = "h" + std::to_string(i) + ".bench.example";
    zones << "  local-data-ptr: \"" << BenchAddress(i) << " " << name << "\"\n"
          << "  local-data: '" << name << ". 3600 A " << BenchAddress(i) << "'\n";
  }
  testing::UnboundServer unbound;
  unbound.Start(zones.str(), "ready.bench.example");
  if (!unbound.ok()) {
    std::fprintf(stderr, "dmarcwatch-bench: %s\n", unbound.error().c_str());
    return 1;
  }

  RemoveDatabase(db);
  store::StoreOptions store_options;
  store_options.database = db;
  auto store = store::Store::Open(store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "dmarcwatch-bench: %s\n", store.status().ToString().c_str());
    return 1;
  }
  analysis::DnsOptions options;
  options.servers = {unbound.address()};
  auto ares = analysis::MakeAresResolver(options);
  if (!ares.ok()) {
    std::fprintf(stderr, "dmarcwatch-bench: %s\n", ares.status().ToString().c_str());
    return 1;
  }
  app::StoreDnsCache cache(**store);
  const auto clock = [] {
    return static_cast<model::UnixTime>(
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  analysis::CachingResolver caching(**ares, cache, options, clock);

  std::vector<model::IpAddress> ips;
  for (std::uint64_t i = 0; i < count; ++i) ips.push_back(*model::IpAddress::Parse(BenchAddress(i)));

  std::printf("%-34s %8s %10s %10s %10s %10s\n", "run", "ips", "ms", "confirmed", "hits",
              "misses");
  for (const char* run : {"cold (unbound, store cache empty)", "warm (store cache)"}) {
    const std::uint64_t hits = caching.hits(), misses = caching.misses();
    const Clock::time_point start = Clock::now();
    const std::vector<analysis::PtrResult> results = analysis::ForwardConfirmedPtrs(caching, ips);
    const double ms = Millis(Clock::now() - start);
    const auto confirmed = std::count_if(results.begin(), results.end(), [](const auto& r) {
      return r.confirmed.size() == 1;
    });
    std::printf("%-34s %8llu %10.1f %10lld %10llu %10llu\n", run,
                static_cast<unsigned long long>(count), ms, static_cast<long long>(confirmed),
                static_cast<unsigned long long>(caching.hits() - hits),
                static_cast<unsigned long long>(caching.misses() - misses));
    std::fflush(stdout);
  }
  unbound.Stop();
  unbound.RemoveFiles();
  return 0;
}


// ---- limits ------------------------------------------------------------------------------

// What this machine can do at best, for comparison with ingest: pugixml
// parsing the reports' XML, dmarcwatch's parser (pugixml + model), and
// SQLite inserting record-shaped rows with one prepared statement.
int RunLimits(const Arguments& args) {
  const std::string dir = args.Required("dir");
  const std::string db = args.Text("db", "/tmp/dmarcwatch-bench-limits.db");
  const std::uint64_t rows = args.Number("rows", 1000000);
  app::KeepFreedHeap();  // as `dmarcwatch import` runs

  // The files as read, in memory: the stages below do no disk I/O.
  std::vector<std::string> files;
  std::uint64_t file_bytes = 0;
  ingest::UnpackLimits limits;
  limits.max_input_bytes = std::uint64_t{1} << 40;
  limits.max_inflated_bytes = std::uint64_t{1} << 40;
  std::vector<std::string> names;
  Status walked = ingest::ForEachInput(
      dir, limits,
      [&](ingest::SourceItem&& item) -> Status {
        file_bytes += item.bytes.size();
        names.push_back(item.name);
        files.push_back(std::move(item.bytes));
        return Status::Ok();
      },
      [](const std::string&, const Status&) {});
  if (!walked.ok() || files.empty()) {
    std::fprintf(stderr, "dmarcwatch-bench: no reports in %s\n", dir.c_str());
    return 1;
  }
  std::printf("%-44s %12s %10s %12s\n", "stage (one core)", "rows", "seconds", "rows/s");
  const auto line = [](const char* what, std::uint64_t n, double s) {
    std::printf("%-44s %12llu %10.2f %12.0f\n", what, static_cast<unsigned long long>(n), s,
                static_cast<double>(n) / s);
    std::fflush(stdout);
  };

  // What every import does before it stores anything: unpack each input
  // (gzip and zip inflated), hash it (duplicate inputs), keep a zlib copy
  // of it (level 1, the default storage.compression_level) and parse it.
  std::vector<std::string> xml;
  std::uint64_t records = 0, bytes = 0;
  double front_seconds = 0;
  // Each report's per-source rollup keys (path, source, a signature id
  // standing for its results), for the rollup comparison below.
  struct ReportSources {
    std::string domain;
    std::int64_t day = 0;
    std::vector<std::tuple<std::string, std::string, std::int64_t>> keys;
  };
  std::vector<ReportSources> sources;
  {
    const Clock::time_point start = Clock::now();
    for (std::size_t k = 0; k < files.size(); ++k) {
      for (ingest::Payload& p : ingest::Unpack(files[k], names[k], limits).reports) {
        bytes += p.bytes.size();
        xml.push_back(std::move(p.bytes));
      }
    }
    const double s = Seconds(Clock::now() - start);
    for (const std::string& text : xml) {
      for (std::size_t at = text.find("<record>"); at != std::string::npos;
           at = text.find("<record>", at + 1)) {
        ++records;
      }
    }
    front_seconds += s;
    line("unpack (gzip and zip inflated)", records, s);
  }
  {
    const Clock::time_point start = Clock::now();
    std::size_t hashed = 0;
    for (const std::string& file : files) hashed += ingest::Sha256Hex(file).size();
    const double s = Seconds(Clock::now() - start);
    front_seconds += s;
    line("SHA-256 of each input", hashed == 0 ? 0 : records, s);
  }
  {
    const Clock::time_point start = Clock::now();
    std::uint64_t packed = 0;
    for (const std::string& file : files) {
      packed += store::Compress(file, store::LevelFor(file, 1)).value_or("").size();
    }
    const double s = Seconds(Clock::now() - start);
    front_seconds += s;
    line("zlib copy of each input (level 1; 0 if gz/zip)", packed == 0 ? 0 : records, s);
  }
  {
    Clock::time_point start = Clock::now();
    std::size_t nodes = 0;
    for (const std::string& text : xml) {
      pugi::xml_document doc;
      doc.load_buffer(text.data(), text.size());
      nodes += doc.first_child().empty() ? 0 : 1;
    }
    line("pugixml load_buffer (DOM only)", records, Seconds(Clock::now() - start));
    if (nodes == 0) std::printf("(no document parsed)\n");
  }
  {
    // Attribution as `import` runs it: the configuration's analysis (--config,
    // else the domain example.com and nothing declared) against the built-in
    // catalog, without DNS.
    std::vector<app::ConfigError> errors;
    const std::string config_path = args.Text("config");
    Result<app::Config> config =
        config_path.empty()
            ? app::ParseConfig("[[domains]]\nname = \"example.com\"\n", "limits", errors)
            : app::LoadConfig(config_path, errors);
    if (!config.ok()) {
      std::fprintf(stderr, "dmarcwatch-bench: %s\n", config.status().message().c_str());
      return 1;
    }
    auto analyzer = analysis::Analyzer::Create(config->Analysis(), analysis::Catalog::Builtin());
    if (!analyzer.ok()) return 1;
    Clock::duration parsing{}, analysing{};
    std::uint64_t parsed = 0, analysed = 0;
    for (const std::string& text : xml) {
      // As the importer parses: into a collecting sink, with the content
      // digest that duplicate detection compares.
      const Clock::time_point start = Clock::now();
      ingest::ReportCollector collector;
      auto summary = ingest::ParseAggregateReport(text, ingest::ParseLimits{}, collector);
      const Clock::time_point middle = Clock::now();
      if (!summary.ok() || summary->content_digest.empty()) continue;
      parsed += summary->records;
      const model::ReportAnalysis analysis = (*analyzer)->Analyze(collector.report);
      analysed += analysis.records.size();
      analysing += Clock::now() - middle;
      parsing += middle - start;
      // Outside the timings: the per-source rollup keys this report adds.
      ReportSources& report = sources.emplace_back();
      report.domain = collector.report.policy_published.domain;
      report.day = model::DayNumber(collector.report.report_metadata.date_range.begin);
      for (std::size_t r = 0; r < analysis.records.size(); ++r) {
        const model::RecordAnalysis& a = analysis.records[r];
        report.keys.emplace_back(a.path_key, collector.report.records[r].source_ip.ToString(),
                                 1 + (a.dmarc_pass ? 1 : 0) + (a.spf_aligned ? 2 : 0) +
                                     (a.dkim_aligned ? 4 : 0));
      }
    }
    front_seconds += Seconds(parsing);
    line("ParseAggregateReport (pugixml, model, digest)", parsed, Seconds(parsing));
    front_seconds += Seconds(analysing);
    line("attribution and alignment (no DNS)", analysed, Seconds(analysing));
  }
  line("all of the above: before any row is stored", records, front_seconds);
  {
    sqlite3* handle = OpenScratchDatabase(db);
    if (handle == nullptr) return 1;
    const auto exec = [&](const char* sql) { Exec(handle, sql); };
    exec("CREATE TABLE records (id INTEGER PRIMARY KEY, report_row_id BIGINT NOT NULL, "
         "row_index BIGINT NOT NULL, source_ip TEXT NOT NULL, count BIGINT NOT NULL, "
         "disposition TEXT NOT NULL, eval_dkim TEXT NOT NULL, eval_spf TEXT NOT NULL, "
         "reasons TEXT NOT NULL, header_from TEXT NOT NULL, envelope_from TEXT, "
         "envelope_to TEXT, dkim TEXT NOT NULL, spf TEXT NOT NULL, path_key TEXT, "
         "path_kind TEXT, path_name TEXT, provider TEXT, attribution_rule BIGINT, "
         "evidence TEXT, spf_aligned BIGINT, dkim_aligned BIGINT, dmarc_pass BIGINT, "
         "disagrees BIGINT, signature_id BIGINT)");
    exec("CREATE UNIQUE INDEX records_report_row ON records (report_row_id, row_index)");
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(handle,
                       "INSERT INTO records (report_row_id, row_index, source_ip, count, "
                       "disposition, eval_dkim, eval_spf, reasons, header_from, envelope_from, "
                       "envelope_to, dkim, spf, path_key, path_kind, path_name, provider, "
                       "attribution_rule, evidence, spf_aligned, dkim_aligned, dmarc_pass, "
                       "disagrees, signature_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       -1, &insert, nullptr);
    const std::string dkim = "[[\"example.com\",\"mta\",\"pass\",null]]";
    const std::string spf = "[[\"example.com\",\"mfrom\",\"pass\",null]]";
    const Clock::time_point start = Clock::now();
    const std::uint64_t per_report = 500;
    for (std::uint64_t k = 0; k < rows; ++k) {
      if (k % per_report == 0) exec(k == 0 ? "BEGIN IMMEDIATE" : "COMMIT; BEGIN IMMEDIATE");
      const std::string ip = "16." + std::to_string(k % 251) + "." + std::to_string(k / 251 % 251) +
                             "." + std::to_string(k % 7);
      const auto text = [&](int column, const std::string& v) {
        sqlite3_bind_text(insert, column, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      };
      sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(k / per_report + 1));
      sqlite3_bind_int64(insert, 2, static_cast<sqlite3_int64>(k % per_report));
      text(3, ip);
      sqlite3_bind_int64(insert, 4, 3);
      static const std::string kNone = "none", kPass = "pass", kEmpty = "[]",
                               kDomain = "example.com", kPath = "path:Office MTA",
                               kKind = "direct", kName = "Office MTA", kEvidence = "ip 16.0.0.0/4";
      text(5, kNone);
      text(6, kPass);
      text(7, kPass);
      text(8, kEmpty);
      text(9, kDomain);
      text(10, kDomain);
      sqlite3_bind_null(insert, 11);
      text(12, dkim);
      text(13, spf);
      text(14, kPath);
      text(15, kKind);
      text(16, kName);
      sqlite3_bind_null(insert, 17);
      sqlite3_bind_int64(insert, 18, 1);
      text(19, kEvidence);
      for (int c = 20; c <= 23; ++c) sqlite3_bind_int64(insert, c, 1);
      sqlite3_bind_int64(insert, 24, 1);
      sqlite3_step(insert);
      sqlite3_reset(insert);
    }
    exec("COMMIT");
    line("SQLite INSERT records (500 rows/tx, 1 index)", rows, Seconds(Clock::now() - start));
    sqlite3_finalize(insert);
    sqlite3_close(handle);
    RemoveDatabase(db);
  }
  {
    // The per-source rollup alone, as `import` writes it: this corpus's own
    // keys, summed and sorted per report, upserted into a table of
    // rollup_sources's shape and key (migration 0009), 256 reports per
    // transaction (an import's batch). Nothing else is written.
    sqlite3* handle = OpenScratchDatabase(db);
    if (handle == nullptr) return 1;
    const auto exec = [&](const char* sql) { Exec(handle, sql); };
    exec("PRAGMA wal_autocheckpoint = 4000");
    exec("CREATE TABLE rollup_sources (domain TEXT NOT NULL, day BIGINT NOT NULL, "
         "path_key TEXT NOT NULL, source_ip TEXT NOT NULL, signature_id BIGINT NOT NULL, "
         "messages BIGINT NOT NULL, dmarc_pass BIGINT NOT NULL, spf_aligned BIGINT NOT NULL, "
         "dkim_aligned BIGINT NOT NULL, disagreements BIGINT NOT NULL, "
         "quarantined BIGINT NOT NULL, rejected BIGINT NOT NULL, row_count BIGINT NOT NULL, "
         "PRIMARY KEY (domain, day, path_key, source_ip, signature_id)) WITHOUT ROWID");
    std::string sql =
        "INSERT INTO rollup_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
        "(domain, day, path_key, source_ip, signature_id) DO UPDATE SET ";
    const char* kCounts[] = {"messages", "dmarc_pass", "spf_aligned", "dkim_aligned",
                             "disagreements", "quarantined", "rejected", "row_count"};
    for (const char* c : kCounts) {
      if (c != kCounts[0]) sql += ", ";
      sql += std::string(c) + " = rollup_sources." + c + " + excluded." + c;
    }
    sqlite3_stmt* upsert = nullptr;
    sqlite3_prepare_v2(handle, sql.c_str(), -1, &upsert, nullptr);
    const Clock::time_point start = Clock::now();
    std::uint64_t keys = 0;
    for (std::size_t k = 0; k < sources.size(); ++k) {
      if (k % 256 == 0) exec(k == 0 ? "BEGIN IMMEDIATE" : "COMMIT; BEGIN IMMEDIATE");
      ReportSources& report = sources[k];
      std::sort(report.keys.begin(), report.keys.end());
      for (std::size_t r = 0; r < report.keys.size(); ++r) {
        if (r + 1 < report.keys.size() && report.keys[r + 1] == report.keys[r]) continue;
        const auto& [path, source, signature] = report.keys[r];
        sqlite3_bind_text(upsert, 1, report.domain.data(), static_cast<int>(report.domain.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(upsert, 2, report.day);
        sqlite3_bind_text(upsert, 3, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
        sqlite3_bind_text(upsert, 4, source.data(), static_cast<int>(source.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(upsert, 5, signature);
        for (int c = 6; c <= 13; ++c) sqlite3_bind_int64(upsert, c, 1);
        sqlite3_step(upsert);
        sqlite3_reset(upsert);
        ++keys;
      }
    }
    exec("COMMIT");
    line("SQLite upsert rollup_sources (256 reports/tx)", keys, Seconds(Clock::now() - start));
    sqlite3_finalize(upsert);
    sqlite3_close(handle);
    RemoveDatabase(db);
  }
  std::printf("input: %zu files (%.1f MB), %zu reports, %llu rows, %.1f MB of XML\n",
              files.size(), static_cast<double>(file_bytes) / 1e6, xml.size(),
              static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage.data(), argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : 0;
  }
  const std::string_view command = argv[1];
  try {
    const Arguments args(argc, argv);
    if (command == "ingest") return RunIngest(args);
    if (command == "query") return RunQuery(args);
    if (command == "paths") return RunPaths(args);
    if (command == "clients") return RunClients(args);
    if (command == "dns") return RunDns(args);
    if (command == "limits") return RunLimits(args);
    throw UsageError{"unknown command " + std::string(command)};
  } catch (const UsageError& e) {
    std::fprintf(stderr, "dmarcwatch-bench: %s\n\n%s", e.message.c_str(), kUsage.data());
    return kExitUsage;
  }
}

}  // namespace
}  // namespace dmarcwatch::bench

int main(int argc, char** argv) { return dmarcwatch::bench::Main(argc, argv); }
