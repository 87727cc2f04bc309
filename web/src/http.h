#pragma once
// The web module's private request/response plumbing: what a handler sees
// (Request, with the session and a borrowed store) and returns (Reply), the
// route table, and the shared state handlers use.

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/web/auth.h"
#include "dmarcwatch/web/server.h"

namespace dmarcwatch::web::internal {

// Keeps a few open stores for the handler threads: a Store is used by one
// thread at a time, and opening one per request would re-check migrations.
class StorePool {
 public:
  explicit StorePool(std::function<Result<std::unique_ptr<store::Store>>()> open)
      : open_(std::move(open)) {}

  class Lease {
   public:
    Lease(StorePool& pool, std::unique_ptr<store::Store> store)
        : pool_(pool), store_(std::move(store)) {}
    ~Lease() { pool_.Return(std::move(store_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    store::Store& operator*() { return *store_; }
    store::Store* operator->() { return store_.get(); }

   private:
    StorePool& pool_;
    std::unique_ptr<store::Store> store_;
  };

  Result<std::unique_ptr<Lease>> Borrow();

 private:
  void Return(std::unique_ptr<store::Store> store);
  std::function<Result<std::unique_ptr<store::Store>>()> open_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::Store>> idle_;
};

struct Session {
  std::string token_hash;
  std::string user;  // "" = anonymous (no users configured)
  std::string csrf_token;
  std::vector<std::string> domains;  // scope; {"*"} = all
  bool SeesAll() const;
  bool Sees(const std::string& domain) const;
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Reply Json(const Poco::JSON::Object::Ptr& object, int status = 200);
  // A document written already (JsonWriter).
  static Reply JsonText(std::string body, int status = 200);
  static Reply Error(int status, const std::string& code, const std::string& message);
  static Reply Text(int status, const std::string& text,
                    const std::string& type = "text/plain; charset=utf-8");
  // An attachment download.
  static Reply File(const std::string& bytes, const std::string& type, const std::string& filename);
};

struct Request {
  Poco::Net::HTTPServerRequest* raw = nullptr;
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded; the last value of a name wins
  std::map<std::string, std::string> params; // {id} from the route
  std::string body;
  std::string client;  // address
  std::optional<Session> session;
  store::Store* store = nullptr;  // borrowed for the request

  std::string Query(const std::string& name, const std::string& fallback = "") const;
  std::string Header(const std::string& name) const;
};

// Answers of the rollup views, which read many rows (docs/performance.md),
// kept per key (route, URI, scope) while the data generation is the same
// and for at most ttl seconds. Concurrent requests for a key that is being
// computed wait for that computation instead of repeating it (a page
// opened by many people at once after an import costs one query).
// Bounded: when full, it is emptied. Thread-safe.
class ReplyCache {
 public:
  ReplyCache(std::size_t max_entries, std::int64_t ttl_seconds)
      : max_entries_(max_entries), ttl_(ttl_seconds) {}
  // The kept answer, or compute()'s (kept when its status is 200). `hit`
  // says which.
  Reply GetOrCompute(const std::string& key, std::uint64_t generation, model::UnixTime now,
                     const std::function<Reply()>& compute, bool& hit);

 private:
  struct Entry {
    std::uint64_t generation = 0;
    model::UnixTime stored_at = 0;
    Reply reply;
  };
  bool Fresh(const Entry& e, std::uint64_t generation, model::UnixTime now) const {
    return e.generation == generation && now >= e.stored_at && now - e.stored_at < ttl_;
  }
  const std::size_t max_entries_;
  const std::int64_t ttl_;
  std::mutex mu_;
  std::condition_variable computed_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::uint64_t> computing_;  // key -> generation being computed
};

struct Shared;
using Handler = std::function<Reply(Shared&, Request&)>;

struct Route {
  std::string method;
  std::string pattern;     // "/api/v1/reports/{id}"
  std::string name;        // for metrics: "reports_detail"
  bool needs_session;      // 401 without one
  bool needs_store;
  Handler handler;
};

// What every handler may use. Lives as long as the server.
struct Shared {
  WebOptions options;
  WebServices services;
  std::shared_ptr<Metrics> metrics;
  StorePool stores;
  LoginLimiter limiter;
  ReplyCache cache;
  bool tls = false;

  Shared(WebOptions o, WebServices s, std::shared_ptr<Metrics> m)
      : options(std::move(o)),
        services(std::move(s)),
        metrics(std::move(m)),
        stores(services.open_store),
        limiter(options.login_attempts, options.login_window),
        cache(options.cache_entries, options.cache_seconds) {}

  model::UnixTime Now() const { return services.clock(); }
  const WebUser* User(const std::string& name) const;
  // The domains a session may see: configured first, then those with data.
  std::vector<std::string> VisibleDomains(const Session& session, store::Store& store) const;
};

// The API's routes (api.cpp) and the static assets (assets.cpp).
std::vector<Route> ApiRoutes();
std::vector<Route> AssetRoutes();

// Parses "a=1&b=x%20y" (application/x-www-form-urlencoded).
std::map<std::string, std::string> ParseQuery(const std::string& query);

}  // namespace dmarcwatch::web::internal
