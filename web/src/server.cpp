// The HTTP server: Poco's HTTPServer, one dispatcher per request, and the
// rules every request goes through (routing, sessions, CSRF, limits,
// security headers, the access log, and one catch site).

#include <Poco/AutoPtr.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/ThreadPool.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/PatternFormatter.h>
#include <Poco/URI.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "dmarcwatch/model/text.h"
#include "dmarcwatch/store/sessions.h"
#include "dmarcwatch/web/json.h"
#include "http.h"

namespace dmarcwatch::web {

using internal::Reply;
using internal::Request;
using internal::Route;
using internal::Session;
using internal::Shared;

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace internal {

// ---- small pieces ----------------------------------------------------------

Result<std::unique_ptr<StorePool::Lease>> StorePool::Borrow() {
  std::unique_ptr<store::Store> store;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      store = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!store) {
    auto opened = open_();
    if (!opened.ok()) return std::move(opened).status();
    store = std::move(*opened);
  }
  return std::make_unique<Lease>(*this, std::move(store));
}

void StorePool::Return(std::unique_ptr<store::Store> store) {
  if (!store) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 32) idle_.push_back(std::move(store));
}

bool Session::SeesAll() const {
  for (const std::string& d : domains) {
    if (d == "*") return true;
  }
  return false;
}

bool Session::Sees(const std::string& domain) const {
  if (SeesAll()) return true;
  const std::string lower = model::AsciiLower(domain);
  for (const std::string& d : domains) {
    if (d == lower) return true;
  }
  return false;
}

Reply Reply::Json(const Poco::JSON::Object::Ptr& object, int status) {
  return JsonText(ToText(object), status);
}

Reply Reply::JsonText(std::string body, int status) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply Reply::Error(int status, const std::string& code, const std::string& message) {
  Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  e->set("code", code);
  e->set("message", message);
  Poco::JSON::Object::Ptr root = new Poco::JSON::Object;
  root->set("error", e);
  return Json(root, status);
}

Reply Reply::Text(int status, const std::string& text, const std::string& type) {
  Reply r;
  r.status = status;
  r.content_type = type;
  r.body = text;
  return r;
}

Reply Reply::File(const std::string& bytes, const std::string& type, const std::string& filename) {
  Reply r;
  r.content_type = type;
  r.body = bytes;
  std::string safe;
  for (char c : filename) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    safe += ok ? c : '_';
  }
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + safe + "\"");
  return r;
}

std::string Request::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::string Request::Header(const std::string& name) const {
  return raw != nullptr ? raw->get(name, "") : std::string();
}

const WebUser* Shared::User(const std::string& name) const {
  for (const WebUser& u : options.users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

std::vector<std::string> Shared::VisibleDomains(const Session& session,
                                                store::Store& store) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& d) {
    if (session.Sees(d) && std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  };
  for (const std::string& d : options.domains) add(d);
  auto stored = store.Domains();
  if (stored.ok()) {
    for (const std::string& d : *stored) add(d);
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at <= query.size()) {
    std::size_t amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(at, amp - at);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      std::string key = pair.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      for (std::string* s : {&key, &value}) {
        std::replace(s->begin(), s->end(), '+', ' ');
        std::string decoded;
        try {
          Poco::URI::decode(*s, decoded);
        } catch (const Poco::Exception&) {
          decoded = *s;
        }
        *s = decoded;
      }
      if (out.size() < 64) out[key] = value;
    }
    at = amp + 1;
  }
  return out;
}

}  // namespace internal

namespace {

constexpr const char* kCookie = "dmarcwatch_session";

// The headers every response carries. The dashboard loads only its own
// scripts and styles, so nothing injected into a page could run.
void SecurityHeaders(Poco::Net::HTTPServerResponse& response, bool tls) {
  response.set("Content-Security-Policy",
               "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
  response.set("Permissions-Policy", "geolocation=(), camera=(), microphone=()");
  if (tls) response.set("Strict-Transport-Security", "max-age=31536000");
}

bool Matches(const std::string& pattern, const std::string& path,
             std::map<std::string, std::string>& params) {
  std::size_t p = 0, s = 0;
  while (p < pattern.size() && s <= path.size()) {
    if (pattern[p] == '{') {
      const std::size_t close = pattern.find('}', p);
      const std::string name = pattern.substr(p + 1, close - p - 1);
      std::size_t end = path.find('/', s);
      if (end == std::string::npos) end = path.size();
      if (end == s) return false;
      params[name] = path.substr(s, end - s);
      p = close + 1;
      s = end;
      continue;
    }
    if (s >= path.size() || pattern[p] != path[s]) return false;
    ++p;
    ++s;
  }
  return p == pattern.size() && s == path.size();
}

// Reads the body when it fits in `limit` bytes. A body declared longer is
// not read at all; one that turns out longer is read to limit + 64 KiB.
// Poco 1.11 has no body limit of its own.
bool ReadBody(Poco::Net::HTTPServerRequest& request, std::uint64_t limit, std::string& body) {
  if (request.hasContentLength() && request.getContentLength64() > 0 &&
      static_cast<std::uint64_t>(request.getContentLength64()) > limit) {
    return false;
  }
  std::istream& in = request.stream();
  char buf[64 * 1024];
  while (in) {
    in.read(buf, sizeof(buf));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    if (body.size() + n > limit) return false;
    body.append(buf, n);
  }
  return true;
}

bool HasBody(const Poco::Net::HTTPServerRequest& request) {
  return request.getChunkedTransferEncoding() ||
         (request.hasContentLength() && request.getContentLength64() > 0);
}

// After answering a request whose body we did not read to its end (refused
// as too large, or answered before reading it), the connection closes. A
// client still sending that body would have its unread input, our answer
// among it, erased by the reset that closing at once provokes (RFC 9112
// section 9.6). So, as that section says, we close in stages: half-close
// our side, then read and drop what the client still sends, within bounds
// against a client that sends forever, and only then close.
void CloseGently(Poco::Net::HTTPServerRequest& request) {
  constexpr std::uint64_t kMaxDrainBytes = 64ull << 20;
  constexpr auto kMaxDrainTime = std::chrono::seconds(5);
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (impl == nullptr) return;
  try {
    Poco::Net::StreamSocket& socket = impl->socket();
    socket.shutdownSend();
    const auto deadline = std::chrono::steady_clock::now() + kMaxDrainTime;
    std::istream& in = request.stream();
    char buf[64 * 1024];
    std::uint64_t dropped = 0;
    while (in && dropped < kMaxDrainBytes) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      socket.setReceiveTimeout(Poco::Timespan(left.count()));
      in.read(buf, sizeof(buf));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      dropped += n;
    }
  } catch (const std::exception&) {
    // The client is gone or too slow: close now.
  }
}

std::string CookieValue(const Poco::Net::HTTPServerRequest& request) {
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  return cookies.get(kCookie, "");
}

// The routes whose answers ReplyCache keeps: those that read the rollups
// of a period.
bool IsCached(const std::string& route) {
  return route == "overview" || route == "paths" || route == "path" || route == "senders";
}

class Dispatcher : public Poco::Net::HTTPRequestHandler {
 public:
  Dispatcher(Shared& shared, const std::vector<Route>& routes, Poco::Logger& access)
      : shared_(shared), routes_(routes), access_(access) {}

  void handleRequest(Poco::Net::HTTPServerRequest& raw,
                     Poco::Net::HTTPServerResponse& response) override {
    const auto start = std::chrono::steady_clock::now();
    std::string route_name = "unknown";
    Reply reply;
    std::string user = "-";
    try {
      reply = Handle(raw, response, route_name, user);
    } catch (const std::exception& e) {
      // The one catch site: a bug or an environment failure, never input.
      const std::string incident = RandomToken(6);
      Poco::Logger::get("dmarc.web.http")
          .error("event=request_failed incident=" + incident + " route=" + route_name +
                 " detail=\"" + model::Printable(e.what()) + "\"");
      reply = Reply::Error(500, "internal", "internal error; incident " + incident);
    }
    try {
      SecurityHeaders(response, shared_.tls);
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
      response.setContentType(reply.content_type);
      if (reply.content_type.rfind("application/json", 0) == 0 ||
          reply.content_type.rfind("text/csv", 0) == 0) {
        response.set("Cache-Control", "no-store");
      }
      for (const auto& [name, value] : reply.headers) response.set(name, value);
      response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
      const bool unread_body = !body_read_ && HasBody(raw);
      if (unread_body) response.setKeepAlive(false);
      std::ostream& out = response.send();
      if (raw.getMethod() != "HEAD") {
        out.write(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
      }
      if (unread_body) {
        out.flush();
        CloseGently(raw);
      }
    } catch (const std::exception&) {
      // The client went away; nothing more to do.
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    shared_.metrics->RecordRequest(route_name, reply.status, seconds);
    access_.information(model::Printable(raw.clientAddress().host().toString(), 64) + " " +
                        model::Printable(user, 64) + " \"" + model::Printable(raw.getMethod(), 10) +
                        " " + model::Printable(raw.getURI(), 200) + "\" " +
                        std::to_string(reply.status) + " " + std::to_string(reply.body.size()) +
                        " " + std::to_string(static_cast<int>(seconds * 1000)) + "ms");
  }

 private:
  Reply Handle(Poco::Net::HTTPServerRequest& raw, Poco::Net::HTTPServerResponse& response,
               std::string& route_name, std::string& user) {
    Request req;
    req.raw = &raw;
    req.method = raw.getMethod() == "HEAD" ? "GET" : raw.getMethod();
    req.client = raw.clientAddress().host().toString();
    const std::string uri = raw.getURI();
    const std::size_t q = uri.find('?');
    try {
      Poco::URI::decode(uri.substr(0, q), req.path);
    } catch (const Poco::Exception&) {
      return Reply::Error(400, "bad_request", "the request path is not valid");
    }
    if (q != std::string::npos) req.query = internal::ParseQuery(uri.substr(q + 1));

    const Route* route = nullptr;
    bool path_known = false;
    for (const Route& r : routes_) {
      std::map<std::string, std::string> params;
      if (!Matches(r.pattern, req.path, params)) continue;
      path_known = true;
      if (r.method != req.method) continue;
      route = &r;
      req.params = std::move(params);
      break;
    }
    if (route == nullptr) {
      return path_known ? Reply::Error(405, "method_not_allowed", "method not allowed here")
                        : Reply::Error(404, "not_found", "no such page");
    }
    route_name = route->name;

    const bool changes_state = req.method != "GET";
    if (changes_state) {
      body_read_ = ReadBody(raw, shared_.options.max_body_bytes, req.body);
      if (!body_read_) {
        return Reply::Error(413, "body_too_large",
                            "the request body is over web.max_body_bytes (" +
                                std::to_string(shared_.options.max_body_bytes) + ")");
      }
    }

    std::unique_ptr<internal::StorePool::Lease> lease;
    if (route->needs_store || route->needs_session) {
      auto borrowed = shared_.stores.Borrow();
      if (!borrowed.ok()) {
        return Reply::Error(503, "store_unavailable", borrowed.status().message());
      }
      lease = std::move(*borrowed);
      req.store = &**lease;
    }
    // The session, when the request brings a valid cookie.
    const std::string cookie = CookieValue(raw);
    if (!cookie.empty() && req.store != nullptr) {
      auto found = store::GetSession(*req.store, Sha256(cookie), shared_.Now());
      if (found.ok() && found->has_value()) {
        Session s;
        s.token_hash = Sha256(cookie);
        s.user = (*found)->user;
        s.csrf_token = (*found)->csrf_token;
        if (s.user.empty()) {
          // Anonymous sessions exist only while no users are configured.
          if (shared_.options.users.empty()) s.domains = {"*"};
        } else if (const WebUser* u = shared_.User(s.user)) {
          s.domains = u->domains;
        }
        if (!s.domains.empty()) req.session = std::move(s);
      }
    }
    if (req.session) user = req.session->user.empty() ? "(local)" : req.session->user;
    if (route->needs_session && !req.session) {
      return Reply::Error(401, "unauthenticated", "log in first");
    }
    // CSRF: a state-changing request proves it comes from our own page.
    if (changes_state && route->needs_session) {
      const std::string token = req.Header("X-CSRF-Token");
      if (token.empty() || !ConstantTimeEquals(token, req.session->csrf_token)) {
        return Reply::Error(403, "csrf", "missing or wrong X-CSRF-Token header");
      }
    }
    // The rollup views read many rows; the same question in the same scope
    // gets the same answer until the data changes.
    if (IsCached(route->name) && req.session && req.store != nullptr &&
        shared_.services.data_generation &&
        shared_.options.cache_seconds > 0) {
      std::string key = route->name + '\n' + uri + '\n' + req.session->user + '\n';
      for (const std::string& d : req.session->domains) key += d + ',';
      bool hit = false;
      Reply reply = shared_.cache.GetOrCompute(
          key, shared_.services.data_generation(*req.store), shared_.Now(),
          [&] { return route->handler(shared_, req); }, hit);
      reply.headers.emplace_back("X-Dmarcwatch-Cache", hit ? "hit" : "miss");
      return reply;
    }
    Reply reply = route->handler(shared_, req);
    (void)response;
    return reply;
  }

  Shared& shared_;
  const std::vector<Route>& routes_;
  Poco::Logger& access_;
  bool body_read_ = false;  // the request's body, if any, was read to its end
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(Shared& shared, const std::vector<Route>& routes, Poco::Logger& access)
      : shared_(shared), routes_(routes), access_(access) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Dispatcher(shared_, routes_, access_);
  }

 private:
  Shared& shared_;
  const std::vector<Route>& routes_;
  Poco::Logger& access_;
};

}  // namespace

internal::Reply internal::ReplyCache::GetOrCompute(const std::string& key,
                                                  std::uint64_t generation, model::UnixTime now,
                                                  const std::function<Reply()>& compute,
                                                  bool& hit) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = entries_.find(key);
      if (it != entries_.end() && Fresh(it->second, generation, now)) {
        hit = true;
        return it->second.reply;
      }
      auto running = computing_.find(key);
      if (running == computing_.end() || running->second != generation) break;
      computed_.wait(lock);  // another thread computes this answer
    }
    computing_[key] = generation;
  }
  hit = false;
  Reply reply;
  try {
    reply = compute();
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    computing_.erase(key);
    computed_.notify_all();
    throw;
  }
  std::lock_guard<std::mutex> lock(mu_);
  computing_.erase(key);
  if (reply.status == 200) {
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[key] = {generation, now, reply};
  }
  computed_.notify_all();
  return reply;
}

struct Server::Impl {
  std::unique_ptr<Shared> shared;
  std::vector<Route> routes;
  std::unique_ptr<Poco::ThreadPool> pool;  // outlives http (declared first)
  std::unique_ptr<Poco::Net::HTTPServer> http;
  int port = 0;
  bool stopped = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(0); }

int Server::port() const { return impl_->port; }
bool Server::tls() const { return impl_->shared->tls; }

void Server::Stop(int grace_seconds) {
  if (impl_->stopped || !impl_->http) return;
  impl_->stopped = true;
  impl_->http->stop();  // no new connections
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
  while (impl_->http->currentConnections() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->http->stopAll(true);
}

Result<std::unique_ptr<Server>> Server::Start(WebOptions options, WebServices services,
                                              std::shared_ptr<Metrics> metrics) {
  if (options.users.empty() && !IsLoopback(options.host)) {
    return Status::InvalidInput(
        "not_loopback", "without [[users]] the dashboard listens on loopback only, not on " +
                            options.host + " (add users, or listen on 127.0.0.1)");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidInput("tls_files", "web.tls_cert and web.tls_key go together");
  }
  if (!services.open_store || !services.rollups || services.analysis_config == nullptr ||
      services.catalog == nullptr || !services.clock) {
    return Status::Internal("web services are incomplete");
  }
  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_unique<Shared>(std::move(options), std::move(services), metrics);
  Shared& shared = *impl->shared;
  impl->routes = internal::ApiRoutes();
  for (Route& r : internal::AssetRoutes()) impl->routes.push_back(std::move(r));

  Poco::Logger& access = Poco::Logger::get("dmarc.web.access");
  if (!shared.options.access_log.empty()) {
    Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(shared.options.access_log));
    Poco::AutoPtr<Poco::PatternFormatter> format(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%SZ %t"));
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(format, file));
    access.setChannel(channel);
    access.setLevel(Poco::Message::PRIO_INFORMATION);
  }

  try {
    const std::string host = shared.options.host.empty() ? "0.0.0.0" : shared.options.host;
    const Poco::Net::SocketAddress address(host == "localhost" ? "127.0.0.1" : host,
                                           static_cast<Poco::UInt16>(shared.options.port));
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    // Connections waiting for a thread wait in the kernel's accept queue
    // first: as deep as our own queue, so a burst is queued, not refused.
    const int backlog = std::max(64, shared.options.max_queued);
    if (!shared.options.tls_cert.empty()) {
      Poco::Net::initializeSSL();
      Poco::Net::Context::Ptr context = new Poco::Net::Context(
          Poco::Net::Context::TLS_SERVER_USE, shared.options.tls_key, shared.options.tls_cert, "",
          Poco::Net::Context::VERIFY_NONE, 9, false, "HIGH:!aNULL:!MD5:!RC4");
      context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                                Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
      socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
      shared.tls = true;
    } else {
      socket = std::make_unique<Poco::Net::ServerSocket>();
    }
    // SO_REUSEADDR, not SO_REUSEPORT (which Poco's binding constructors
    // set too): a second server on a port in use must fail, not share its
    // connections with the first.
    socket->bind(address, true, false);
    socket->listen(backlog);
    impl->port = socket->address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(shared.options.threads);
    params->setMaxQueued(shared.options.max_queued);
    params->setTimeout(Poco::Timespan(shared.options.request_timeout, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(shared.options.keep_alive_timeout, 0));
    // A kept-alive connection holds its thread: after this many requests
    // it is closed, so that the connections waiting get their turn.
    params->setMaxKeepAliveRequests(20);
    params->setServerName("dmarcwatch");
    // Our own pool: the server would otherwise take Poco's default pool,
    // whose 16 threads cap web.threads silently.
    impl->pool = std::make_unique<Poco::ThreadPool>(std::min(2, shared.options.threads),
                                                    shared.options.threads);
    impl->http = std::make_unique<Poco::Net::HTTPServer>(new Factory(shared, impl->routes, access),
                                                         *impl->pool, *socket, params);
    impl->http->start();
  } catch (const Poco::Exception& e) {
    return Status::Unavailable("listen_failed", "cannot listen on " + shared.options.host + ":" +
                                                    std::to_string(shared.options.port) + ": " +
                                                    e.displayText());
  }
  Poco::Logger::get("dmarc.web.http")
      .information("event=server_started host=" + shared.options.host +
                   " port=" + std::to_string(impl->port) + (shared.tls ? " tls=yes" : " tls=no"));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

}  // namespace dmarcwatch::web
