#pragma once
// The embedded web server: the dashboard (static assets compiled into the
// binary), the JSON API of docs/api.md, /healthz and /metrics.
//
// Built on Poco::Net::HTTPServer with a bounded thread pool and queue,
// request and keep-alive timeouts, a body limit, optional TLS (NetSSL).
// Every response carries a strict Content-Security-Policy (no inline
// script or style) and the usual security headers; every value from a
// report is escaped by the client, which renders text only.
//
// Logins: users (Argon2id hashes) and sessions kept in the store, cookies
// HttpOnly + SameSite=Strict (+ Secure under TLS), CSRF tokens on every
// state-changing request, login rate limiting, per-user domain scope.
// Without users the server accepts only loopback addresses and hands out
// anonymous sessions.
//
// What the server needs from the rest of the program comes in through
// WebServices (no dependency on app/). Thread-safe: handlers run on the
// pool's threads, each with a store borrowed from a small pool.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/analysis/spf.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::web {

struct WebUser {
  std::string name;
  std::string password_hash;          // "$argon2id$..."
  std::vector<std::string> domains;   // "*" = every domain
};

struct UploadToken {
  std::string name;
  std::string token_hash;             // "$argon2id$..."
};

struct WebOptions {
  std::string host = "127.0.0.1";     // as in web.listen; "" or "0.0.0.0" = all IPv4
  int port = 8080;                    // 0: any free port (tests); see Server::port()
  std::string tls_cert;               // PEM files; both or neither
  std::string tls_key;
  int threads = 16;
  int max_queued = 512;
  std::int64_t request_timeout = 30;  // seconds
  std::int64_t keep_alive_timeout = 5;
  std::uint64_t max_body_bytes = 64ull << 20;
  std::int64_t session_ttl = 12 * 3600;
  int login_attempts = 5;
  std::int64_t login_window = 15 * 60;
  std::string access_log;             // file; "" = logger dmarc.web.access
  std::vector<WebUser> users;
  std::vector<UploadToken> upload_tokens;
  std::vector<std::string> domains;   // configured domains, shown first
  // How long an answer of a rollup view (overview, paths, path, senders)
  // is kept for the same query and scope; 0 keeps none.
  std::int64_t cache_seconds = 60;
  std::size_t cache_entries = 512;
};

// What an upload did, for the 201 answer of POST /api/v1/reports.
struct UploadOutcome {
  std::int64_t input_id = 0;
  struct Report {
    std::int64_t id = 0;
    std::string result;  // "new", "duplicate", "conflict"
    std::string org, report_id, domain;
    std::uint64_t records = 0, messages = 0;
  };
  struct Rejected {
    std::string payload, name, reason, message;
  };
  std::vector<Report> reports;
  std::vector<Rejected> rejected;
  std::vector<Rejected> skipped;  // message empty
};

struct WebServices {
  // Opens a store (one per worker thread, pooled by the server).
  std::function<Result<std::unique_ptr<store::Store>>()> open_store;
  // The rollups of a store, as analysis reads them.
  std::function<std::unique_ptr<analysis::RollupReader>(store::Store&)> rollups;
  const analysis::AnalysisConfig* analysis_config = nullptr;
  const analysis::Catalog* catalog = nullptr;
  // SPF expansions for the domain-level findings and the configuration
  // page; empty function when DNS is off.
  std::function<std::vector<analysis::SpfExpansion>(const std::string& domain)> spf_for_domain;
  // Imports one uploaded input (POST /api/v1/reports).
  std::function<Result<UploadOutcome>(std::string_view bytes, const std::string& token_name)>
      upload;
  // The JSON of `dmarcwatch status --format json`, for /api/v1/status.
  std::function<Result<std::string>(store::Store&)> status_json;
  std::function<model::UnixTime()> clock;
  // A number that changes whenever what the rollups say changes (an
  // ingest, a reanalysis, in this process or another: see
  // store::Store::RollupGeneration): the answers of the rollup views are
  // kept until it changes, and for WebOptions::cache_seconds at most.
  // Empty: nothing is kept.
  std::function<std::uint64_t(store::Store&)> data_generation;
};

// Counters for /metrics, shared with the rest of the process (serve
// records ingest there).
class Metrics {
 public:
  Metrics();
  ~Metrics();
  void RecordRequest(const std::string& route, int status, double seconds);
  void RecordIngest(double seconds, std::uint64_t new_reports, std::uint64_t duplicates,
                    std::uint64_t rejected);
  // The process's own counters in Prometheus text format.
  std::string Text() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Server {
 public:
  // Listens and starts serving. kInvalidInput for a bad option (a
  // non-loopback address without users, one TLS file without the other),
  // kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Start(WebOptions options, WebServices services,
                                               std::shared_ptr<Metrics> metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port actually bound (useful with port 0).
  int port() const;
  bool tls() const;
  // Stops accepting, lets running requests finish (up to `grace_seconds`).
  void Stop(int grace_seconds = 10);

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopback(const std::string& host);

}  // namespace dmarcwatch::web
