// The web server in-process on port 0, with a real SQLite store holding the
// demo month: every API endpoint, logins and sessions, CSRF, domain scope,
// limits, security headers, uploads, TLS.

#define BOOST_TEST_MODULE web
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/alerts.h"
#include "dmarcwatch/store/store.h"
#include "dmarcwatch/web/json.h"
#include "dmarcwatch/web/auth.h"
#include "dmarcwatch/web/server.h"
#include "http.h"
#include "json_writer.h"

namespace fs = std::filesystem;
namespace web = dmarcwatch::web;
namespace store = dmarcwatch::store;
namespace analysis = dmarcwatch::analysis;
namespace model = dmarcwatch::model;
using Poco::JSON::Object;
using dmarcwatch::Status;

namespace {

// The store as the analysis module's read interface (the application has
// its own; a test binary links only its module).
class Rollups : public analysis::RollupReader {
 public:
  explicit Rollups(store::Store& s) : s_(s) {}
  dmarcwatch::Result<std::vector<model::PathTotals>> PathTotals(const model::RollupQuery& q) override {
    return s_.QueryPathTotals(q);
  }
  dmarcwatch::Result<std::vector<model::SourceCounts>> Sources(const model::RollupQuery& q) override {
    return s_.QuerySources(q);
  }
  dmarcwatch::Result<std::vector<model::DailyCounts>> Daily(const model::RollupQuery& q,
                                                            bool by_path) override {
    return s_.QueryDaily(q, by_path);
  }
  dmarcwatch::Result<std::vector<model::ReporterCounts>> Reporters(
      const model::RollupQuery& q) override {
    return s_.QueryReporters(q);
  }
  dmarcwatch::Result<std::vector<model::PublishedPolicy>> Policies() override {
    return s_.LatestPolicies();
  }
  dmarcwatch::Result<std::pair<std::int64_t, std::int64_t>> DataDays(
      const std::optional<std::string>& d) override {
    return s_.DataDays(d);
  }
  dmarcwatch::Result<std::vector<std::string>> Domains() override { return s_.Domains(); }

 private:
  store::Store& s_;
};

analysis::AnalysisConfig DemoConfig() {
  analysis::AnalysisConfig c;
  c.domains = {"example.com", "example.net"};
  analysis::DeclaredPath office;
  office.name = "Office MTA";
  office.kind = model::PathKind::kDirect;
  office.ips = {*model::IpNetwork::Parse("192.0.2.0/28")};
  analysis::DeclaredPath sendgrid;
  sendgrid.name = "SendGrid";
  sendgrid.provider = "sendgrid";
  sendgrid.dkim_domains = {"example.com"};
  c.paths = {office, sendgrid};
  return c;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kHostileReport =
    "<feedback><report_metadata><org_name>&lt;script&gt;alert(1)&lt;/script&gt;</org_name>"
    "<email>x@evil.test</email><report_id>xss-1</report_id><date_range><begin>1793404800</begin>"
    "<end>1793491199</end></date_range></report_metadata><policy_published><domain>example.com"
    "</domain><p>none</p></policy_published><record><row><source_ip>203.0.113.66</source_ip>"
    "<count>2</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
    "<spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com"
    "</header_from></identifiers><auth_results><spf><domain>&lt;img src=x onerror=alert(2)&gt;"
    "</domain><result>fail</result></spf></auth_results></record></feedback>";

struct Response {
  int status = 0;
  std::string body;
  Poco::Net::NameValueCollection headers;
  std::string cookie;  // the session cookie value set, if any
  Object::Ptr Json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }
};

// One server over a store imported from the demo data, for the whole module.
// The fixture is built before any test case runs, where a failed
// BOOST_REQUIRE would say nothing useful: fail loudly with the reason.
template <typename Why>
void Must(bool ok, Why why) {
  if (!ok) throw std::runtime_error(why());
}

struct Server {
  fs::path dir;
  std::string db;
  analysis::AnalysisConfig config = DemoConfig();
  std::unique_ptr<web::Server> server;
  std::shared_ptr<web::Metrics> metrics = std::make_shared<web::Metrics>();
  std::string upload_token = "upload-token-for-tests-0123456789";
  model::UnixTime now = 1793577600;  // 2026-11-01
  std::atomic<std::uint64_t> generation{0};  // as serve's: bumped by each upload

  Server() {
    dir = fs::temp_directory_path() / ("dmarcwatch-web-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "web.db").string();
    store::StoreOptions o;
    o.database = db;
    auto s = std::move(*store::Store::Open(o));
    auto analyzer = std::move(*analysis::Analyzer::Create(config, analysis::Catalog::Builtin()));
    auto import = [&](const std::string& bytes, const std::string& name) {
      auto processed = dmarcwatch::ingest::ProcessInput(bytes, {"file", name, name, now}, {});
      store::InputRecord input;
      input.sha256 = processed.sha256_raw;
      input.channel = "file";
      input.origin = name;
      input.name = name;
      input.raw = bytes;
      input.size = bytes.size();
      auto id = s->PutInput(input);
      Must(id.ok(), [&] { std::ostringstream m; m << name << ": " << (id.ok() ? "" : id.status().ToString()); return m.str(); });
      for (std::size_t i = 0; i < processed.reports.size(); ++i) {
        auto a = analyzer->Analyze(processed.reports[i]);
        auto saved = s->SaveReport(*id, processed.reports[i], processed.content_digests[i], now, &a);
        Must(saved.ok(), [&] { std::ostringstream m; m << name << ": " << (saved.ok() ? "" : saved.status().ToString()); return m.str(); });
      }
      for (const auto& r : processed.rejections) {
        Status saved = s->SaveReject(*id, {r.chain, r.name, "invalid_input", r.status.reason(),
                                          r.status.message()}, now);
        Must(saved.ok(), [&] { return saved.ToString(); });
      }
    };
    const fs::path demo = fs::path(DMARC_SOURCE_DIR) / "samples/demo/reports";
    for (const auto& entry : fs::directory_iterator(demo)) {
      import(ReadFile(entry.path()), entry.path().string());
    }
    import(kHostileReport, "hostile.xml");
    import("not a report at all", "junk.txt");
    Start(false);
  }
  ~Server() {
    if (server) server->Stop(1);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  web::WebOptions Options(bool tls) {
    web::WebOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.max_body_bytes = 64 * 1024;
    o.login_attempts = 3;
    o.login_window = 600;
    o.users = {{"admin", *web::HashSecret("correct horse battery"), {"*"}},
               {"customer", *web::HashSecret("customer password"), {"example.net"}}};
    o.upload_tokens = {{"tests", *web::HashSecret(upload_token)}};
    o.domains = config.domains;
    if (tls) {
      o.tls_cert = (dir / "cert.pem").string();
      o.tls_key = (dir / "key.pem").string();
    }
    return o;
  }

  web::WebServices Services() {
    web::WebServices s;
    const std::string path = db;
    s.open_store = [path]() {
      store::StoreOptions o;
      o.database = path;
      return store::Store::Open(o);
    };
    s.rollups = [](store::Store& st) -> std::unique_ptr<analysis::RollupReader> {
      return std::make_unique<Rollups>(st);
    };
    s.analysis_config = &config;
    s.catalog = &analysis::Catalog::Builtin();
    s.upload = [this](std::string_view bytes, const std::string& token)
        -> dmarcwatch::Result<web::UploadOutcome> {
      store::StoreOptions o;
      o.database = db;
      auto st = std::move(*store::Store::Open(o));
      auto processed = dmarcwatch::ingest::ProcessInput(bytes, {"upload", token, "upload", now}, {});
      store::InputRecord input;
      input.sha256 = processed.sha256_raw;
      input.channel = "upload";
      input.origin = token;
      input.name = "upload";
      input.raw = std::string(bytes);
      input.size = bytes.size();
      auto id = st->PutInput(input);
      if (!id.ok()) return id.status();
      web::UploadOutcome out;
      out.input_id = *id;
      for (std::size_t i = 0; i < processed.reports.size(); ++i) {
        auto saved = st->SaveReport(*id, processed.reports[i], processed.content_digests[i], now);
        if (!saved.ok()) return saved.status();
        out.reports.push_back({saved->report_row_id, store::ToString(saved->kind), "", "", "", 0, 0});
      }
      for (const auto& r : processed.rejections) {
        out.rejected.push_back({r.chain, r.name, r.status.reason(), r.status.message()});
      }
      ++generation;
      return out;
    };
    // The app's status JSON is tested with the binary; here, that the
    // route hands over the request's store and passes the text through.
    s.status_json = [](store::Store& st) -> dmarcwatch::Result<std::string> {
      auto totals = st.GetTotals();
      if (!totals.ok()) return totals.status();
      return "{\"version\":1,\"store\":{\"reports\":" + std::to_string(totals->reports) + "}}";
    };
    s.clock = [this] { return now; };
    s.data_generation = [this](store::Store&) { return generation.load(); };
    return s;
  }

  void Start(bool tls) {
    if (server) server->Stop(1);
    auto started = web::Server::Start(Options(tls), Services(), metrics);
    Must(started.ok(), [&] { std::ostringstream m; m << (started.ok() ? "" : started.status().ToString()); return m.str(); });
    server = std::move(*started);
  }
};

Server* g = nullptr;
struct Fixture {
  Fixture() { g = new Server; }
  ~Fixture() {
    delete g;
    g = nullptr;
  }
};

Response Call(const std::string& method, const std::string& uri, const std::string& body = "",
              const std::string& cookie = "", const std::string& csrf = "",
              const std::string& content_type = "application/json",
              const std::string& authorization = "") {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(g->server->port()));
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest request(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!cookie.empty()) {
    Poco::Net::NameValueCollection cookies;
    cookies.add("dmarcwatch_session", cookie);
    request.setCookies(cookies);
  }
  if (!csrf.empty()) request.set("X-CSRF-Token", csrf);
  if (!authorization.empty()) request.set("Authorization", authorization);
  if (!body.empty() || method == "POST") {
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Response r;
  r.status = static_cast<int>(response.getStatus());
  Poco::StreamCopier::copyToString(in, r.body);
  for (const auto& [name, value] : response) r.headers.add(name, value);
  std::vector<Poco::Net::HTTPCookie> cookies;
  response.getCookies(cookies);
  for (const auto& c : cookies) {
    if (c.getName() == "dmarcwatch_session") r.cookie = c.getValue();
  }
  return r;
}

struct Login {
  std::string cookie, csrf;
};

Login LogIn(const std::string& name, const std::string& password) {
  auto r = Call("POST", "/api/v1/login",
                "{\"name\":\"" + name + "\",\"password\":\"" + password + "\"}");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return {r.cookie, r.Json()->getValue<std::string>("csrf_token")};
}

}  // namespace

BOOST_GLOBAL_FIXTURE(Fixture);

BOOST_AUTO_TEST_SUITE(web_server)

BOOST_AUTO_TEST_CASE(health_and_metrics_need_no_login) {
  auto h = Call("GET", "/healthz");
  BOOST_TEST(h.status == 200);
  BOOST_TEST(h.body == "ok\n");
  auto m = Call("GET", "/metrics");
  BOOST_TEST(m.status == 200);
  BOOST_TEST(m.body.find("dmarcwatch_reports_total ") != std::string::npos);
  BOOST_TEST(m.body.find("# TYPE dmarcwatch_http_requests_total counter") != std::string::npos);
  BOOST_TEST(m.headers.get("Content-Type").find("version=0.0.4") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_response_carries_a_strict_content_security_policy) {
  for (const char* uri : {"/", "/healthz", "/api/v1/session", "/no/such/page"}) {
    auto r = Call("GET", uri);
    const std::string csp = r.headers.get("Content-Security-Policy", "");
    BOOST_TEST(csp.find("script-src 'self'") != std::string::npos, uri);
    BOOST_TEST(csp.find("unsafe-inline") == std::string::npos, uri);
    BOOST_TEST(csp.find("frame-ancestors 'none'") != std::string::npos, uri);
    BOOST_TEST(r.headers.get("X-Content-Type-Options", "") == "nosniff", uri);
    BOOST_TEST(r.headers.get("X-Frame-Options", "") == "DENY", uri);
  }
}

BOOST_AUTO_TEST_CASE(the_dashboard_and_its_assets_are_embedded) {
  auto page = Call("GET", "/");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.headers.get("Content-Type").find("text/html") == 0u);
  BOOST_TEST(page.body.find("/assets/app.js") != std::string::npos);
  BOOST_TEST(page.body.find("<script>") == std::string::npos);  // no inline script
  auto chart = Call("GET", "/assets/chart.min.js");
  BOOST_TEST(chart.status == 200);
  BOOST_TEST(chart.body.size() > 100000u);
  BOOST_TEST(chart.body.find("Chart.js v3") != std::string::npos);
  BOOST_TEST(Call("GET", "/assets/nothing.js").status == 404);
  BOOST_TEST(Call("GET", "/assets/../../etc/passwd").status == 404);
}

BOOST_AUTO_TEST_CASE(the_api_needs_a_session_when_users_are_configured) {
  auto anonymous = Call("GET", "/api/v1/session");
  BOOST_TEST(anonymous.status == 401);
  BOOST_TEST(anonymous.Json()->getObject("error")->getValue<bool>("auth_required"));
  BOOST_TEST(anonymous.cookie.empty());
  for (const char* uri : {"/api/v1/overview", "/api/v1/domains", "/api/v1/reports",
                          "/api/v1/rejected", "/api/v1/config"}) {
    BOOST_TEST(Call("GET", uri).status == 401, uri);
  }
  BOOST_TEST(Call("GET", "/api/v1/overview", "", "forged-cookie-value").status == 401);
}

BOOST_AUTO_TEST_CASE(login_sets_a_strict_http_only_cookie_and_logout_ends_it) {
  auto r = Call("POST", "/api/v1/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  const std::string set_cookie = r.headers.get("Set-Cookie");
  BOOST_TEST(set_cookie.find("HttpOnly") != std::string::npos);
  BOOST_TEST(set_cookie.find("SameSite=Strict") != std::string::npos);
  BOOST_TEST(set_cookie.find("Secure") == std::string::npos);  // plain HTTP here
  const std::string cookie = r.cookie;
  const std::string csrf = r.Json()->getValue<std::string>("csrf_token");
  BOOST_TEST(Call("GET", "/api/v1/domains", "", cookie).status == 200);
  BOOST_TEST(Call("POST", "/api/v1/logout", "", cookie).status == 403);  // no CSRF token
  BOOST_TEST(Call("POST", "/api/v1/logout", "", cookie, "wrong").status == 403);
  BOOST_TEST(Call("POST", "/api/v1/logout", "", cookie, csrf).status == 204);
  BOOST_TEST(Call("GET", "/api/v1/domains", "", cookie).status == 401);
}

BOOST_AUTO_TEST_CASE(a_wrong_password_and_an_unknown_user_get_the_same_answer) {
  auto wrong = Call("POST", "/api/v1/login", "{\"name\":\"admin\",\"password\":\"nope\"}");
  auto unknown = Call("POST", "/api/v1/login", "{\"name\":\"nobody\",\"password\":\"nope\"}");
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(unknown.status == 401);
  BOOST_TEST(wrong.body == unknown.body);
  auto form = Call("POST", "/api/v1/login", "name=admin&password=x", "", "", "text/plain");
  BOOST_TEST(form.status == 415);  // a cross-site form cannot log anyone in
}

BOOST_AUTO_TEST_CASE(logins_are_rate_limited) {
  g->now += 601;  // earlier tests' failures from this address are forgotten
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(Call("POST", "/api/v1/login", "{\"name\":\"customer\",\"password\":\"x\"}").status == 401);
  }
  // The right password is refused too while the limit holds.
  auto limited = Call("POST", "/api/v1/login", "{\"name\":\"customer\",\"password\":\"customer password\"}");
  BOOST_TEST(limited.status == 429);
  g->now += 601;  // the window passes
  auto later = Call("POST", "/api/v1/login",
                    "{\"name\":\"customer\",\"password\":\"customer password\"}");
  BOOST_TEST(later.status == 200);
}

BOOST_AUTO_TEST_CASE(a_scoped_user_sees_only_its_domains) {
  g->now += 601;
  Login customer = LogIn("customer", "customer password");
  auto domains = Call("GET", "/api/v1/domains", "", customer.cookie).Json()->getArray("domains");
  BOOST_REQUIRE_EQUAL(domains->size(), 1u);
  BOOST_TEST(domains->getObject(0)->getValue<std::string>("domain") == "example.net");
  BOOST_TEST(Call("GET", "/api/v1/overview?domain=example.com", "", customer.cookie).status == 404);
  BOOST_TEST(Call("GET", "/api/v1/overview", "", customer.cookie).Json()->getValue<std::string>(
                 "domain") == "example.net");
  auto reports = Call("GET", "/api/v1/reports?limit=500", "", customer.cookie).Json()->getArray("reports");
  BOOST_REQUIRE(reports->size() > 0u);
  for (std::size_t i = 0; i < reports->size(); ++i) {
    BOOST_TEST(reports->getObject(static_cast<unsigned>(i))->getValue<std::string>("domain") ==
               "example.net");
  }
  BOOST_TEST(Call("GET", "/api/v1/rejected", "", customer.cookie).Json()->getArray("rejected")->size() == 0u);
  // Mailboxes and the store belong to no domain.
  BOOST_TEST(Call("GET", "/api/v1/status", "", customer.cookie).status == 403);
  // A report of another domain is not found, as if it did not exist.
  auto all = LogIn("admin", "correct horse battery");
  auto com = Call("GET", "/api/v1/reports?domain=example.com&limit=1", "", all.cookie).Json();
  const auto id = com->getArray("reports")->getObject(0)->getValue<std::int64_t>("id");
  BOOST_TEST(Call("GET", "/api/v1/reports/" + std::to_string(id), "", customer.cookie).status == 404);
  BOOST_TEST(Call("GET", "/api/v1/reports/" + std::to_string(id), "", all.cookie).status == 200);
  Response status = Call("GET", "/api/v1/status", "", all.cookie);
  BOOST_TEST(status.status == 200);
  BOOST_TEST(status.Json()->getObject("store")->getValue<std::int64_t>("reports") > 0);
}

BOOST_AUTO_TEST_CASE(incidents_are_listed_by_domain_scope_and_acknowledged_with_csrf) {
  g->now += 601;
  std::int64_t com_id = 0, net_id = 0;
  {
    store::StoreOptions o;
    o.database = g->db;
    auto st = std::move(*store::Store::Open(o));
    auto tx = store::BeginAlertTransaction(*st);
    BOOST_REQUIRE(tx.ok());
    store::AlertIncidentRow row;
    row.rule = "pass_rate";
    row.state = "open";
    row.severity = "critical";
    row.opened_at = row.first_seen = row.last_seen = g->now;
    row.notified_severity = "critical";
    row.domain = "example.com";
    row.subject = "path:<b>SendGrid</b>";
    row.title = "SendGrid fails DMARC <script>";
    auto com = (*tx)->InsertIncident(row);
    row.domain = "example.net";
    row.subject = "unknown";
    row.title = "unknown sources fail DMARC";
    auto net = (*tx)->InsertIncident(row);
    BOOST_REQUIRE(com.ok() && net.ok());
    BOOST_REQUIRE((*tx)->Commit().ok());
    com_id = *com;
    net_id = *net;
  }
  Login customer = LogIn("customer", "customer password");
  Login admin = LogIn("admin", "correct horse battery");
  auto seen = [](const Login& who, const std::string& query) {
    std::set<std::int64_t> ids;
    auto list = Call("GET", "/api/v1/incidents" + query, "", who.cookie).Json()->getArray("incidents");
    for (std::size_t i = 0; i < list->size(); ++i) {
      ids.insert(list->getObject(static_cast<unsigned>(i))->getValue<std::int64_t>("id"));
    }
    return ids;
  };
  BOOST_TEST((seen(admin, "") == std::set<std::int64_t>{com_id, net_id}));
  BOOST_TEST((seen(admin, "?domain=example.com") == std::set<std::int64_t>{com_id}));
  BOOST_TEST((seen(customer, "") == std::set<std::int64_t>{net_id}));
  BOOST_TEST(Call("GET", "/api/v1/incidents?state=maybe", "", admin.cookie).status == 400);
  // The title is data: it comes back as the same characters.
  auto list = Call("GET", "/api/v1/incidents?domain=example.com", "", admin.cookie).Json()->getArray("incidents");
  BOOST_TEST(list->getObject(0)->getValue<std::string>("title") == "SendGrid fails DMARC <script>");
  BOOST_TEST(list->getObject(0)->getValue<bool>("acknowledged") == false);

  const std::string com_ack = "/api/v1/incidents/" + std::to_string(com_id) + "/ack";
  BOOST_TEST(Call("POST", com_ack, "", admin.cookie).status == 403);  // no CSRF token
  BOOST_TEST(Call("POST", com_ack, "", customer.cookie, customer.csrf).status == 404);  // not its domain
  BOOST_TEST(Call("POST", "/api/v1/incidents/999999/ack", "", admin.cookie, admin.csrf).status == 404);
  Response acked = Call("POST", com_ack, "", admin.cookie, admin.csrf);
  BOOST_REQUIRE_EQUAL(acked.status, 200);
  BOOST_TEST(acked.Json()->getValue<bool>("acknowledged") == true);
  BOOST_TEST(!acked.Json()->isNull("acknowledged_at"));
  {
    store::StoreOptions o;
    o.database = g->db;
    auto st = std::move(*store::Store::Open(o));
    auto row = store::GetAlertIncident(*st, com_id);
    BOOST_REQUIRE(row.ok() && row->has_value());
    BOOST_TEST((*row)->acknowledged);
    auto other = store::GetAlertIncident(*st, net_id);
    BOOST_TEST(!(*other)->acknowledged);
  }
}

BOOST_AUTO_TEST_CASE(period_views_are_kept_until_the_data_changes_and_per_scope) {
  g->now += 601;
  Login admin = LogIn("admin", "correct horse battery");
  Login customer = LogIn("customer", "customer password");
  const std::string uri = "/api/v1/overview?domain=example.net";
  Response first = Call("GET", uri, "", admin.cookie);
  BOOST_REQUIRE_EQUAL(first.status, 200);
  BOOST_TEST(first.headers.get("X-Dmarcwatch-Cache", "") == "miss");
  Response again = Call("GET", uri, "", admin.cookie);
  BOOST_TEST(again.headers.get("X-Dmarcwatch-Cache", "") == "hit");
  BOOST_TEST(again.body == first.body);
  // Another scope never gets this answer, even for the same URI.
  BOOST_TEST(Call("GET", uri, "", customer.cookie).headers.get("X-Dmarcwatch-Cache", "") == "miss");
  // New data: computed again.
  ++g->generation;
  BOOST_TEST(Call("GET", uri, "", admin.cookie).headers.get("X-Dmarcwatch-Cache", "") == "miss");
  BOOST_TEST(Call("GET", uri, "", admin.cookie).headers.get("X-Dmarcwatch-Cache", "") == "hit");
  // Past web cache time (60 s by default): another process may have written.
  g->now += 61;
  BOOST_TEST(Call("GET", uri, "", admin.cookie).headers.get("X-Dmarcwatch-Cache", "") == "miss");
  // Routes that are cheap are never kept.
  BOOST_TEST(!Call("GET", "/api/v1/reports", "", admin.cookie).headers.has("X-Dmarcwatch-Cache"));
}

// Two requests for an answer being computed: the second waits for the
// first instead of running the query again.
BOOST_AUTO_TEST_CASE(a_reply_being_computed_is_waited_for_not_computed_again) {
  web::internal::ReplyCache cache(16, 60);
  std::mutex mu;
  std::condition_variable cv;
  bool first_running = false, release = false;
  std::atomic<int> computed{0};
  web::internal::Reply first_reply;
  bool first_hit = true;
  std::thread first([&] {
    first_reply = cache.GetOrCompute("k", 1, 100, [&] {
      ++computed;
      std::unique_lock<std::mutex> lock(mu);
      first_running = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      web::internal::Reply r;
      r.body = "answer";
      return r;
    }, first_hit);
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return first_running; });
  }
  bool second_hit = false;
  web::internal::Reply second_reply;
  std::thread second([&] {
    second_reply = cache.GetOrCompute("k", 1, 100, [&] {
      ++computed;
      web::internal::Reply r;
      r.body = "computed again";
      return r;
    }, second_hit);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  BOOST_TEST(computed.load() == 1);
  BOOST_TEST(!first_hit);
  BOOST_TEST(second_hit);
  BOOST_TEST(second_reply.body == "answer");
  // Another generation, or past the time to live: computed again.
  bool hit = true;
  BOOST_TEST(cache.GetOrCompute("k", 2, 100, [] { web::internal::Reply r; r.body = "g2"; return r; }, hit).body == "g2");
  BOOST_TEST(!hit);
  BOOST_TEST(cache.GetOrCompute("k", 2, 170, [] { web::internal::Reply r; r.body = "late"; return r; }, hit).body == "late");
  BOOST_TEST(!hit);
  // Errors are not kept.
  auto error = [] { web::internal::Reply r; r.status = 503; return r; };
  BOOST_TEST(cache.GetOrCompute("e", 1, 100, error, hit).status == 503);
  BOOST_TEST(cache.GetOrCompute("e", 1, 100, error, hit).status == 503);
  BOOST_TEST(!hit);
}

BOOST_AUTO_TEST_CASE(overview_path_and_senders_come_from_the_rollups) {
  Login admin = LogIn("admin", "correct horse battery");
  auto o = Call("GET", "/api/v1/overview?domain=example.com&from=2026-10-01&to=2026-10-31", "",
                admin.cookie);
  BOOST_REQUIRE_EQUAL(o.status, 200);
  auto overview = o.Json();
  BOOST_TEST(overview->getArray("daily")->size() == 31u);
  auto paths = overview->getArray("paths");
  BOOST_REQUIRE(paths->size() >= 3u);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < paths->size(); ++i) {
    sum += paths->getObject(static_cast<unsigned>(i))->getObject("counts")->getValue<std::uint64_t>("messages");
  }
  BOOST_TEST(sum == overview->getObject("totals")->getValue<std::uint64_t>("messages"));
  // The failing SendGrid path comes first and says what to fix.
  auto first = paths->getObject(0);
  BOOST_TEST(first->getValue<std::string>("key") == "path:SendGrid");
  BOOST_TEST(first->getObject("top_finding")->getValue<std::string>("advice").find("_domainkey") !=
             std::string::npos);

  auto p = Call("GET", "/api/v1/path?domain=example.com&key=path:SendGrid&from=2026-10-01&to=2026-10-31",
                "", admin.cookie);
  BOOST_REQUIRE_EQUAL(p.status, 200);
  auto path = p.Json();
  BOOST_TEST(path->getArray("sources")->size() > 0u);
  BOOST_TEST(path->getArray("identifiers")->size() > 0u);
  BOOST_TEST(path->getArray("findings")->size() > 0u);
  BOOST_TEST(path->getArray("reporters")->size() > 0u);
  BOOST_TEST(Call("GET", "/api/v1/path?domain=example.com&key=path:Nope", "", admin.cookie).status == 404);
  // Each path's page, diagnosed from that path's groups alone, describes it
  // as the overview does (counts, sources, top finding), declared paths
  // that sent nothing included.
  for (std::size_t i = 0; i < paths->size(); ++i) {
    auto listed = paths->getObject(static_cast<unsigned>(i));
    const std::string key = listed->getValue<std::string>("key");
    std::string encoded;
    Poco::URI::encode(key, "&=+#?", encoded);
    auto page = Call("GET",
                     "/api/v1/path?domain=example.com&from=2026-10-01&to=2026-10-31&key=" + encoded,
                     "", admin.cookie);
    BOOST_REQUIRE_EQUAL(page.status, 200);
    auto detail = page.Json();
    BOOST_REQUIRE(listed->has("findings"));
    const auto text = [](const Poco::JSON::Array::Ptr& a) {
      Poco::JSON::Object::Ptr wrapper = new Poco::JSON::Object;
      wrapper->set("findings", a);
      return web::ToText(wrapper);
    };
    BOOST_TEST(text(detail->getArray("findings")) == text(listed->getArray("findings")), key);
    listed->remove("findings");
    BOOST_TEST(web::ToText(detail->getObject("path")) == web::ToText(listed), key);
  }

  auto s = Call("GET", "/api/v1/senders?domain=example.com&kind=unknown&result=fail", "", admin.cookie);
  auto senders = s.Json()->getArray("senders");
  BOOST_REQUIRE(senders->size() > 0u);
  for (std::size_t i = 0; i < senders->size(); ++i) {
    BOOST_TEST(senders->getObject(static_cast<unsigned>(i))->getValue<std::string>("kind") == "unknown");
  }
  // Unfiltered, the senders add up to the period's messages, most first.
  auto all = Call("GET", "/api/v1/senders?domain=example.com&from=2026-10-01&to=2026-10-31", "",
                  admin.cookie).Json();
  auto every = all->getArray("senders");
  std::uint64_t sent = 0, previous = std::numeric_limits<std::uint64_t>::max();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < every->size(); ++i) {
    auto x = every->getObject(static_cast<unsigned>(i));
    const std::uint64_t n = x->getObject("counts")->getValue<std::uint64_t>("messages");
    BOOST_TEST(n <= previous);
    previous = n;
    sent += n;
    BOOST_TEST(seen.insert(x->getValue<std::string>("ip") + " " + x->getValue<std::string>("path")).second);
  }
  BOOST_TEST(!all->getValue<bool>("truncated"));
  BOOST_TEST(sent == overview->getObject("totals")->getValue<std::uint64_t>("messages"));
  BOOST_TEST(Call("GET", "/api/v1/senders?result=maybe", "", admin.cookie).status == 400);
  BOOST_TEST(Call("GET", "/api/v1/overview?from=yesterday", "", admin.cookie).status == 400);
  BOOST_TEST(Call("GET", "/api/v1/overview?from=2026-10-10&to=2026-10-01", "", admin.cookie).status == 400);
  auto paths_doc = Call("GET", "/api/v1/paths?domain=example.com", "", admin.cookie).Json();
  BOOST_TEST(paths_doc->getValue<int>("version") == 1);
}

BOOST_AUTO_TEST_CASE(every_list_exports_csv) {
  Login admin = LogIn("admin", "correct horse battery");
  for (const char* uri : {"/api/v1/overview?format=csv", "/api/v1/senders?format=csv",
                          "/api/v1/reports?format=csv", "/api/v1/rejected?format=csv",
                          "/api/v1/path?key=path:SendGrid&format=csv"}) {
    auto r = Call("GET", uri, "", admin.cookie);
    BOOST_TEST(r.status == 200, uri);
    BOOST_TEST(r.headers.get("Content-Type").find("text/csv") == 0u, uri);
    BOOST_TEST(r.headers.get("Content-Disposition").find("attachment") == 0u, uri);
    BOOST_TEST(r.body.find("\r\n") != std::string::npos, uri);
  }
}

BOOST_AUTO_TEST_CASE(report_strings_are_passed_as_data_never_as_markup) {
  Login admin = LogIn("admin", "correct horse battery");
  auto list = Call("GET", "/api/v1/reports?domain=example.com&limit=1000", "", admin.cookie);
  BOOST_TEST(list.headers.get("Content-Type").find("application/json") == 0u);
  auto reports = list.Json()->getArray("reports");
  std::int64_t id = 0;
  for (std::size_t i = 0; i < reports->size(); ++i) {
    auto r = reports->getObject(static_cast<unsigned>(i));
    if (r->getValue<std::string>("report_id") == "xss-1") id = r->getValue<std::int64_t>("id");
  }
  BOOST_REQUIRE(id > 0);
  auto detail = Call("GET", "/api/v1/reports/" + std::to_string(id), "", admin.cookie);
  BOOST_TEST(detail.Json()->getObject("report")->getValue<std::string>("org") ==
             "<script>alert(1)</script>");
  // The CSV cannot inject a formula either.
  auto xml = Call("GET", "/api/v1/reports/" + std::to_string(id) + "/xml", "", admin.cookie);
  BOOST_TEST(xml.status == 200);
  BOOST_TEST(xml.headers.get("Content-Disposition").find("attachment") == 0u);
  BOOST_TEST(xml.body.find("xss-1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejected_inputs_can_be_downloaded_as_received) {
  Login admin = LogIn("admin", "correct horse battery");
  auto list = Call("GET", "/api/v1/rejected", "", admin.cookie).Json()->getArray("rejected");
  BOOST_REQUIRE(list->size() >= 1u);
  const auto id = list->getObject(0)->getValue<std::int64_t>("id");
  auto original = Call("GET", "/api/v1/rejected/" + std::to_string(id) + "/original", "", admin.cookie);
  BOOST_TEST(original.status == 200);
  BOOST_TEST(original.body == "not a report at all");
}

BOOST_AUTO_TEST_CASE(uploads_need_a_token_and_are_idempotent) {
  const std::string report = ReadFile(fs::path(DMARC_CORPUS_DIR) / "aggregate/cry-inc__google.xml");
  auto no_token = Call("POST", "/api/v1/reports", report, "", "", "application/xml");
  BOOST_TEST(no_token.status == 401);
  BOOST_TEST(no_token.headers.get("WWW-Authenticate", "") == "Bearer");
  auto wrong = Call("POST", "/api/v1/reports", report, "", "", "application/xml", "Bearer nope");
  BOOST_TEST(wrong.status == 401);
  auto first = Call("POST", "/api/v1/reports", report, "", "", "application/xml",
                    "Bearer " + g->upload_token);
  BOOST_REQUIRE_MESSAGE(first.status == 201, first.body);
  BOOST_TEST(first.Json()->getArray("reports")->getObject(0)->getValue<std::string>("result") == "new");
  auto again = Call("POST", "/api/v1/reports", report, "", "", "application/xml",
                    "Bearer " + g->upload_token);
  BOOST_TEST(again.Json()->getArray("reports")->getObject(0)->getValue<std::string>("result") ==
             "duplicate");
  auto junk = Call("POST", "/api/v1/reports", "garbage", "", "", "application/xml",
                   "Bearer " + g->upload_token);
  BOOST_TEST(junk.status == 201);
  BOOST_TEST(junk.Json()->getArray("rejected")->getObject(0)->getValue<std::string>("reason") ==
             "unrecognised_payload");
}

BOOST_AUTO_TEST_CASE(bodies_over_the_limit_are_refused) {
  const std::string big(70 * 1024, 'x');
  auto r = Call("POST", "/api/v1/reports", big, "", "", "application/xml", "Bearer " + g->upload_token);
  BOOST_TEST(r.status == 413);
}

// Writes `head`, waits, then writes `body` in 16 KiB pieces, and reads what
// the server answers until it closes. Throws what the socket throws.
std::string RawExchange(const std::string& head, const std::string& body,
                        std::chrono::milliseconds pause) {
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(g->server->port())));
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  socket.sendBytes(head.data(), static_cast<int>(head.size()));
  std::this_thread::sleep_for(pause);
  for (std::size_t at = 0; at < body.size(); at += 16 * 1024) {
    const std::size_t n = std::min<std::size_t>(16 * 1024, body.size() - at);
    std::size_t sent = 0;
    while (sent < n) {
      sent += static_cast<std::size_t>(
          socket.sendBytes(body.data() + at + sent, static_cast<int>(n - sent)));
    }
  }
  std::string answer;
  char buf[4096];
  for (int n; (n = socket.receiveBytes(buf, sizeof(buf))) > 0;) answer.append(buf, n);
  return answer;
}

// A client that sends its whole body before it reads (most do) must get
// the 413, not a connection reset: the server reads and drops the rest of
// the body before it closes. The pause makes sure the server has answered
// before the body comes; closing at once would reset the writes after it.
BOOST_AUTO_TEST_CASE(a_refused_body_is_drained_so_the_client_reads_the_answer) {
  for (const bool declared : {true, false}) {
    BOOST_TEST_CONTEXT("length declared: " << declared) {
      const std::string body(512 * 1024, 'x');  // 8 times web.max_body_bytes
      std::string head = "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer " + g->upload_token + "\r\n";
      head += declared ? "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"
                       : std::string("Transfer-Encoding: chunked\r\n\r\n");
      std::string sent = body;
      if (!declared) {
        // One chunk of the whole body, in hex, then the last chunk.
        std::ostringstream chunk;
        chunk << std::hex << body.size() << "\r\n" << body << "\r\n0\r\n\r\n";
        sent = chunk.str();
      }
      std::string answer;
      BOOST_REQUIRE_NO_THROW(answer = RawExchange(head, sent, std::chrono::milliseconds(300)));
      BOOST_TEST(answer.rfind("HTTP/1.1 413 Request Entity Too Large\r\n", 0) == 0,
                 answer.substr(0, 200));
      BOOST_TEST(model::AsciiLower(answer).find("\r\nconnection: close\r\n") != std::string::npos,
                 answer.substr(0, 400));
      BOOST_TEST(answer.find("body_too_large") != std::string::npos);
    }
  }
}

// A body the server did not read is never taken for the next request on
// the connection: here the body of a refused POST holds a whole request.
BOOST_AUTO_TEST_CASE(an_unread_body_is_never_read_as_a_request) {
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string head = "POST /api/v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n";
  std::string answer;
  BOOST_REQUIRE_NO_THROW(answer = RawExchange(head + smuggled, "", std::chrono::milliseconds(0)));
  BOOST_TEST(answer.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0, answer.substr(0, 200));
  // One answer only, then the connection closed.
  BOOST_TEST(answer.find("HTTP/1.1", 1) == std::string::npos, answer);
}

BOOST_AUTO_TEST_CASE(unknown_paths_and_methods_get_404_and_405) {
  BOOST_TEST(Call("GET", "/api/v1/nothing").status == 404);
  BOOST_TEST(Call("DELETE", "/api/v1/reports").status == 405);
  auto e = Call("GET", "/api/v1/nothing");
  BOOST_TEST(e.Json()->getObject("error")->getValue<std::string>("code") == "not_found");
}

BOOST_AUTO_TEST_CASE(the_configuration_page_shows_paths_with_the_catalog) {
  Login admin = LogIn("admin", "correct horse battery");
  auto c = Call("GET", "/api/v1/config", "", admin.cookie).Json();
  auto paths = c->getArray("paths");
  BOOST_REQUIRE_EQUAL(paths->size(), 2u);
  BOOST_TEST(paths->getObject(1)->getObject("catalog")->getValue<std::string>("id") == "sendgrid");
  BOOST_TEST(!c->getObject("dns")->getValue<bool>("enabled"));
  auto providers = Call("GET", "/api/v1/providers", "", admin.cookie).Json();
  BOOST_TEST(providers->getArray("providers")->size() >= 40u);
}

BOOST_AUTO_TEST_CASE(without_users_only_loopback_is_allowed_and_sessions_are_anonymous) {
  auto options = g->Options(false);
  options.users.clear();
  options.host = "0.0.0.0";
  auto refused = web::Server::Start(options, g->Services(), g->metrics);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().reason() == "not_loopback");
  options.host = "127.0.0.1";
  auto open = web::Server::Start(options, g->Services(), g->metrics);
  BOOST_REQUIRE(open.ok());
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>((*open)->port()));
  Poco::Net::HTTPRequest request("GET", "/api/v1/session", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  BOOST_TEST(static_cast<int>(response.getStatus()) == 200);
  BOOST_TEST(body.find("\"auth_required\":false") != std::string::npos);
  BOOST_TEST(response.get("Set-Cookie", "").find("HttpOnly") != std::string::npos);
  (*open)->Stop(1);
}

BOOST_AUTO_TEST_CASE(a_second_server_on_a_port_in_use_fails_to_start) {
  // Sharing the port (SO_REUSEPORT) would split the connections between
  // the two, silently; the second must fail instead, as a port in use does.
  auto options = g->Options(false);
  options.port = g->server->port();
  auto second = web::Server::Start(options, g->Services(), g->metrics);
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.status().reason() == "listen_failed");
  BOOST_TEST(second.status().message().find("in use") != std::string::npos,
             second.status().message());
}

BOOST_AUTO_TEST_CASE(tls_serves_https_with_secure_cookies) {
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout '" +
                          (g->dir / "key.pem").string() + "' -out '" + (g->dir / "cert.pem").string() +
                          "' >/dev/null 2>&1";
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  auto tls = web::Server::Start(g->Options(true), g->Services(), g->metrics);
  BOOST_REQUIRE_MESSAGE(tls.ok(), (tls.ok() ? "" : tls.status().ToString()));
  BOOST_TEST((*tls)->tls());
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_CLIENT_USE, "", "", (g->dir / "cert.pem").string(),
      Poco::Net::Context::VERIFY_RELAXED, 9, false);
  Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>((*tls)->port()), context);
  Poco::Net::HTTPRequest request("POST", "/api/v1/login", Poco::Net::HTTPMessage::HTTP_1_1);
  const std::string body = "{\"name\":\"admin\",\"password\":\"correct horse battery\"}";
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::string answer;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
  BOOST_TEST(static_cast<int>(response.getStatus()) == 200);
  BOOST_TEST(response.get("Set-Cookie", "").find("Secure") != std::string::npos);
  BOOST_TEST(response.get("Strict-Transport-Security", "").find("max-age=") == 0u);
  // A refused body is drained over TLS too: the client that sends it whole
  // before reading gets the 413.
  Poco::Net::HTTPSClientSession upload("127.0.0.1", static_cast<Poco::UInt16>((*tls)->port()),
                                       context);
  upload.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest big("POST", "/api/v1/reports", Poco::Net::HTTPMessage::HTTP_1_1);
  const std::string too_large(512 * 1024, 'x');
  big.setContentType("application/xml");
  big.setContentLength(static_cast<std::streamsize>(too_large.size()));
  big.set("Authorization", "Bearer " + g->upload_token);
  Poco::Net::HTTPResponse refused;
  BOOST_REQUIRE_NO_THROW({
    upload.sendRequest(big) << too_large;
    Poco::StreamCopier::copyToString(upload.receiveResponse(refused), answer);
  });
  BOOST_TEST(static_cast<int>(refused.getStatus()) == 413);
  (*tls)->Stop(1);
}

BOOST_AUTO_TEST_CASE(secrets_hash_and_verify) {
  auto hash = web::HashSecret("a password of some length");
  BOOST_REQUIRE(hash.ok());
  BOOST_TEST(hash->rfind("$argon2id$", 0) == 0u);
  BOOST_TEST(web::VerifySecret(*hash, "a password of some length"));
  BOOST_TEST(!web::VerifySecret(*hash, "another password"));
  BOOST_TEST(!web::VerifySecret("not a hash", "x"));
  BOOST_TEST(web::RandomToken(16).size() == 32u);
  BOOST_TEST(web::RandomToken() != web::RandomToken());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_writer)

// The writer and Poco::JSON write the same text for the same values, in
// the same order, hostile strings included; the text parses back to them.
BOOST_AUTO_TEST_CASE(writes_what_poco_json_writes) {
  static constexpr char kNul[] = "nul \0 and \x01 \x1f \x7f";  // sized, the NUL inside kept
  const std::vector<std::string> strings = {
      "", "plain", "quote \" and back\\slash", "</script><img src=x onerror=alert(1)>",
      std::string(kNul, sizeof kNul - 1), "tab\tline\nfeed\r", "caf\xc3\xa9",
      "\xe2\x80\xa8 line separator", "\xf0\x9f\x93\xa7 mail", "slash / and &amp;"};
  for (const std::string& s : strings) {
    model::Counts c;
    c.messages = 18446744073709551615ull;
    c.rows = 3;
    web::internal::JsonWriter w;
    w.BeginObject()
        .Key("s").String(s)
        .Key("k\"ey").OptString(s)
        .Key("none").OptString(std::nullopt)
        .Key("empty").StringOrNull("")
        .Key("n").Int(-42)
        .Key("t").Bool(true)
        .Key("list").BeginArray().String(s).UInt(7).BeginObject().EndObject().EndArray()
        .Key("counts").Counts(c)
        .EndObject();
    const std::string written = w.Take();

    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("s", s);
    o->set("k\"ey", s);
    o->set("none", Poco::Dynamic::Var());
    o->set("empty", web::OrNull(""));
    o->set("n", std::int64_t{-42});
    o->set("t", true);
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    list->add(s);
    list->add(std::uint64_t{7});
    list->add(Object::Ptr(new Object(Poco::JSON_PRESERVE_KEY_ORDER)));
    o->set("list", list);
    o->set("counts", web::CountsJson(c));
    BOOST_TEST(written == web::ToText(o), written);

    auto parsed = Poco::JSON::Parser().parse(written).extract<Object::Ptr>();
    BOOST_TEST(parsed->getValue<std::string>("s") == s);
    BOOST_TEST(parsed->isNull("none"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
