// The JSON API of docs/api.md. Every handler reads what it needs through the
// borrowed store (rollups for the path views, never raw rows), checks the
// session's domain scope, and returns JSON or CSV. Report strings are passed
// through untouched: the client renders them as text.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPCookie.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "dmarcwatch/analysis/diagnosis.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/unpack.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/alerts.h"
#include "dmarcwatch/store/sessions.h"
#include "dmarcwatch/web/json.h"
#include "http.h"
#include "json_writer.h"

namespace dmarcwatch::web::internal {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr NewObject() { return new Object(Poco::JSON_PRESERVE_KEY_ORDER); }

// ---- CSV -------------------------------------------------------------------

std::string CsvField(const std::string& v) {
  // A leading =, +, - or @ would be a formula in a spreadsheet (CSV
  // injection): report strings are attacker-controlled.
  std::string value = v;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@')) {
    value = "'" + value;
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Reply Csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
          const std::string& filename) {
  std::string body;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) body += (i ? "," : "") + CsvField(cells[i]);
    body += "\r\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return Reply::File(body, "text/csv; charset=utf-8", filename);
}

bool WantsCsv(const Request& req) { return req.Query("format") == "csv"; }

// ---- parameters ------------------------------------------------------------

struct Scope {
  std::string domain;
  std::int64_t from = 0, to = 0;
};

// The domain a request asks for (or the first the session sees) and the
// period; an error reply when either is not acceptable.
std::optional<Reply> ResolveScope(Shared& shared, Request& req, Scope& scope,
                                  bool domain_required = true) {
  const std::vector<std::string> visible = shared.VisibleDomains(*req.session, *req.store);
  std::string domain = model::AsciiLower(req.Query("domain"));
  if (domain.empty()) {
    if (visible.empty()) {
      if (!domain_required) return std::nullopt;
      return Reply::Error(404, "not_found", "no domain to show: configure [[domains]] or import reports");
    }
    domain = visible.front();
  } else if (std::find(visible.begin(), visible.end(), domain) == visible.end()) {
    return Reply::Error(404, "not_found", "no such domain");
  }
  scope.domain = domain;
  auto rollups = shared.services.rollups(*req.store);
  const std::int64_t today = model::DayNumber(shared.Now());
  auto [from, to] = analysis::DefaultPeriod(*rollups, domain, today);
  auto day = [](const std::string& text) -> std::optional<std::int64_t> {
    if (text.size() != 10) return std::nullopt;
    auto t = model::ParseIsoTime(text);
    if (!t) return std::nullopt;
    return model::DayNumber(*t);
  };
  const std::string from_text = req.Query("from"), to_text = req.Query("to");
  if (!from_text.empty()) {
    auto d = day(from_text);
    if (!d) return Reply::Error(400, "bad_parameter", "from must be YYYY-MM-DD");
    from = *d;
    if (to_text.empty()) to = std::max(to, from);
  }
  if (!to_text.empty()) {
    auto d = day(to_text);
    if (!d) return Reply::Error(400, "bad_parameter", "to must be YYYY-MM-DD");
    to = *d;
    if (from_text.empty()) from = to - 29;
  }
  if (from > to) return Reply::Error(400, "bad_parameter", "from is after to");
  if (to - from > 3660) return Reply::Error(400, "bad_parameter", "the period is over ten years");
  scope.from = from;
  scope.to = to;
  return std::nullopt;
}

model::RollupQuery QueryFor(const Scope& s) {
  model::RollupQuery q;
  q.domain = s.domain;
  q.from_day = s.from;
  q.to_day = s.to;
  return q;
}

// Errors from the store are environment failures: 503, retry later.
Reply StoreError(const Status& status) {
  return Reply::Error(503, "store_unavailable", status.message());
}

// The domain's paths and their findings. With `path_key`, only that path
// (and the declared paths that sent nothing), diagnosed from its own groups,
// which are left in `*path_sources`.
Result<analysis::DomainReport> LoadReport(
    Shared& shared, Request& req, const Scope& s, const std::string* path_key = nullptr,
    std::vector<model::SourceCounts>* path_sources = nullptr) {
  auto rollups = shared.services.rollups(*req.store);
  model::RollupQuery q = QueryFor(s);
  auto totals = rollups->PathTotals(q);
  if (!totals.ok()) return std::move(totals).status();
  q.limit = 20000;
  if (path_key != nullptr) {
    std::erase_if(*totals, [&](const model::PathTotals& t) { return t.path.key != *path_key; });
    q.path_key = *path_key;
  }
  auto sources = rollups->Sources(q);
  if (!sources.ok()) return std::move(sources).status();
  auto policies = rollups->Policies();
  if (!policies.ok()) return std::move(policies).status();
  analysis::DomainContext context;
  context.domain = s.domain;
  for (const auto& p : *policies) {
    if (p.domain == s.domain) context.policy = p.policy;
  }
  if (shared.services.spf_for_domain) {
    context.spf = shared.services.spf_for_domain(s.domain);
    context.dns_checked = true;
  }
  auto report =
      analysis::BuildDomainReport(s.domain, s.from, s.to, std::move(*totals), *sources, context,
                                  *shared.services.analysis_config, *shared.services.catalog);
  if (path_sources != nullptr) *path_sources = std::move(*sources);
  return report;
}

Array::Ptr DailyJson(const std::vector<model::DailyCounts>& daily, const Scope& s) {
  std::map<std::int64_t, model::Counts> by_day;
  for (const auto& d : daily) by_day[d.day].Add(d.counts);
  Array::Ptr out = new Array;
  for (std::int64_t day = s.from; day <= s.to; ++day) {
    Object::Ptr o = NewObject();
    o->set("day", DayText(day));
    o->set("counts", CountsJson(by_day[day]));
    out->add(o);
  }
  return out;
}

// The cached PTR name of each address (one store query per 500), in order.
std::vector<std::optional<std::string>> PtrsOf(store::Store& store,
                                               const std::vector<model::IpAddress>& ips) {
  std::vector<std::string> names;
  for (const model::IpAddress& ip : ips) names.push_back(ip.ReverseName());
  std::vector<std::optional<std::string>> out(ips.size());
  auto cached = store.GetDnsAnswers("PTR", names);
  if (!cached.ok()) return out;
  for (std::size_t k = 0; k < names.size(); ++k) {
    auto found = cached->find(names[k]);
    if (found != cached->end() && found->second.rcode == "ok" && !found->second.values.empty()) {
      out[k] = found->second.values.front();
    }
  }
  return out;
}

Object::Ptr SessionJson(Shared& shared, const Session& s) {
  Object::Ptr o = NewObject();
  o->set("user", OrNull(s.user));
  o->set("auth_required", !shared.options.users.empty());
  o->set("domains", StringArray(s.domains));
  o->set("csrf_token", s.csrf_token);
  return o;
}

std::string CookieHeader(Shared& shared, const std::string& token, std::int64_t max_age) {
  std::string c = std::string("dmarcwatch_session=") + token +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (shared.tls) c += "; Secure";
  return c;
}

// Opens a session and returns the reply that sets its cookie.
Reply NewSession(Shared& shared, Request& req, const std::string& user,
                 std::vector<std::string> domains) {
  const std::string token = RandomToken();
  Session s;
  s.token_hash = Sha256(token);
  s.user = user;
  s.csrf_token = RandomToken(16);
  s.domains = std::move(domains);
  store::SessionRecord record{user, s.csrf_token, shared.Now(),
                              shared.Now() + shared.options.session_ttl};
  Status saved = store::PutSession(*req.store, s.token_hash, record);
  if (!saved.ok()) return StoreError(saved);
  store::PurgeSessions(*req.store, shared.Now()).IgnoreError();
  Reply r = Reply::Json(SessionJson(shared, s));
  r.headers.emplace_back("Set-Cookie", CookieHeader(shared, token, shared.options.session_ttl));
  return r;
}

// ---- handlers --------------------------------------------------------------

Reply GetSession(Shared& shared, Request& req) {
  if (req.session) return Reply::Json(SessionJson(shared, *req.session));
  if (shared.options.users.empty()) return NewSession(shared, req, "", {"*"});
  Object::Ptr e = NewObject();
  e->set("code", "unauthenticated");
  e->set("message", "log in first");
  e->set("auth_required", true);
  Object::Ptr root = NewObject();
  root->set("error", e);
  return Reply::Json(root, 401);
}

Reply Login(Shared& shared, Request& req) {
  // A cross-site form cannot send application/json without a CORS
  // preflight, which this server never grants: no login CSRF.
  if (req.Header("Content-Type").rfind("application/json", 0) != 0) {
    return Reply::Error(415, "unsupported_media_type", "send the login as application/json");
  }
  std::string name, password;
  try {
    Poco::JSON::Parser parser;
    auto body = parser.parse(req.body).extract<Object::Ptr>();
    name = body->optValue<std::string>("name", "");
    password = body->optValue<std::string>("password", "");
  } catch (const Poco::Exception&) {
    return Reply::Error(400, "bad_request", "the body must be {\"name\":…,\"password\":…}");
  }
  const model::UnixTime now = shared.Now();
  const std::string name_key = "user:" + name.substr(0, 256);
  const std::string client_key = "client:" + req.client;
  if (!shared.limiter.Allowed(name_key, now) || !shared.limiter.Allowed(client_key, now)) {
    return Reply::Error(429, "too_many_attempts", "too many failed logins; try again later");
  }
  const WebUser* user = shared.User(name);
  // Verify against a fixed hash when the user is unknown, so the answer
  // takes as long as for a wrong password.
  static const std::string kDummy = HashSecret("dmarcwatch-no-such-user").value();
  const bool ok = VerifySecret(user != nullptr ? user->password_hash : kDummy, password) &&
                  user != nullptr;
  if (!ok) {
    shared.limiter.Failed(name_key, now);
    shared.limiter.Failed(client_key, now);
    Poco::Logger::get("dmarc.web.http")
        .warning("event=login_failed user=\"" + model::Printable(name, 64) +
                 "\" client=" + model::Printable(req.client, 64));
    return Reply::Error(401, "unauthenticated", "wrong name or password");
  }
  shared.limiter.Succeeded(name_key);
  if (req.session) store::DeleteSession(*req.store, req.session->token_hash).IgnoreError();
  return NewSession(shared, req, user->name, user->domains);
}

Reply Logout(Shared& shared, Request& req) {
  Status deleted = store::DeleteSession(*req.store, req.session->token_hash);
  if (!deleted.ok()) return StoreError(deleted);
  Reply r = Reply::Text(204, "");
  r.headers.emplace_back("Set-Cookie", CookieHeader(shared, "", 0));
  return r;
}

Reply Domains(Shared& shared, Request& req) {
  auto rollups = shared.services.rollups(*req.store);
  auto policies = rollups->Policies();
  if (!policies.ok()) return StoreError(policies.status());
  Array::Ptr list = new Array;
  for (const std::string& d : shared.VisibleDomains(*req.session, *req.store)) {
    Object::Ptr o = NewObject();
    o->set("domain", d);
    o->set("configured", std::find(shared.options.domains.begin(), shared.options.domains.end(),
                                   d) != shared.options.domains.end());
    auto days = rollups->DataDays(d);
    const bool has = days.ok() && days->first <= days->second;
    o->set("first_day", has ? Poco::Dynamic::Var(DayText(days->first)) : Poco::Dynamic::Var());
    o->set("last_day", has ? Poco::Dynamic::Var(DayText(days->second)) : Poco::Dynamic::Var());
    Poco::Dynamic::Var policy;
    for (const auto& p : *policies) {
      if (p.domain == d) policy = std::string(model::ToString(p.policy.p));
    }
    o->set("policy", policy);
    list->add(o);
  }
  Object::Ptr root = NewObject();
  root->set("domains", list);
  return Reply::Json(root);
}

Reply Overview(Shared& shared, Request& req) {
  Scope s;
  if (auto bad = ResolveScope(shared, req, s)) return *bad;
  auto report = LoadReport(shared, req, s);
  if (!report.ok()) return StoreError(report.status());
  auto rollups = shared.services.rollups(*req.store);
  auto daily = rollups->Daily(QueryFor(s), false);
  if (!daily.ok()) return StoreError(daily.status());
  if (WantsCsv(req)) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : report->paths) {
      const auto& t = p.totals;
      rows.push_back({model::ToString(t.path.kind), t.path.name, t.path.provider,
                      std::to_string(t.counts.messages), std::to_string(t.counts.dmarc_pass),
                      std::to_string(t.counts.spf_aligned), std::to_string(t.counts.dkim_aligned),
                      std::to_string(t.sources), p.top() ? p.top()->title : ""});
    }
    return Csv({"kind", "name", "provider", "messages", "dmarc_pass", "spf_aligned",
                "dkim_aligned", "sources", "top_finding"},
               rows, "paths-" + s.domain + ".csv");
  }
  Object::Ptr root = NewObject();
  root->set("domain", s.domain);
  root->set("from", DayText(s.from));
  root->set("to", DayText(s.to));
  root->set("policy", report->policy
                          ? Poco::Dynamic::Var(std::string(model::ToString(report->policy->p)))
                          : Poco::Dynamic::Var());
  root->set("totals", CountsJson(report->totals));
  root->set("daily", DailyJson(*daily, s));
  Array::Ptr paths = new Array;
  for (const auto& p : report->paths) {
    Object::Ptr path = PathJson(p);
    Array::Ptr path_findings = new Array;
    for (const auto& f : p.findings) path_findings->add(FindingJson(f));
    path->set("findings", path_findings);
    paths->add(path);
  }
  root->set("paths", paths);
  Array::Ptr findings = new Array;
  for (const auto& f : report->domain_findings) findings->add(FindingJson(f));
  root->set("findings", findings);
  return Reply::Json(root);
}

Reply Paths(Shared& shared, Request& req) {
  Scope s;
  if (auto bad = ResolveScope(shared, req, s)) return *bad;
  auto report = LoadReport(shared, req, s);
  if (!report.ok()) return StoreError(report.status());
  return Reply::Json(PathsDocument(*report));
}

Reply PathDetail(Shared& shared, Request& req) {
  Scope s;
  if (auto bad = ResolveScope(shared, req, s)) return *bad;
  const std::string key = req.Query("key");
  std::vector<model::SourceCounts> path_sources;
  auto report = LoadReport(shared, req, s, &key, &path_sources);
  if (!report.ok()) return StoreError(report.status());
  const analysis::PathReport* path = nullptr;
  for (const auto& p : report->paths) {
    if (p.totals.path.key == key) path = &p;
  }
  if (path == nullptr) return Reply::Error(404, "not_found", "no such path in this period");

  auto rollups = shared.services.rollups(*req.store);
  model::RollupQuery q = QueryFor(s);
  q.path_key = key;
  auto daily = rollups->Daily(q, true);
  auto reporters = rollups->Reporters(q);
  if (!daily.ok()) return StoreError(daily.status());
  if (!reporters.ok()) return StoreError(reporters.status());
  // The path's 5,000 largest groups are listed: the first of those its
  // diagnosis read, in the same order.
  constexpr std::size_t kListedGroups = 5000;
  if (path_sources.size() > kListedGroups) path_sources.resize(kListedGroups);
  const std::vector<model::SourceCounts>* sources = &path_sources;

  // Per IP, most messages first; ties in address order.
  struct Source {
    model::IpAddress ip;
    model::Counts counts;
    std::int64_t first_day = 0, last_day = 0;
  };
  std::vector<Source> by_ip;
  {
    std::unordered_map<model::IpAddress, std::size_t> index;
    for (const auto& g : *sources) {
      auto [at, added] = index.emplace(g.ip, by_ip.size());
      if (added) by_ip.push_back({g.ip, {}, g.first_day, g.last_day});
      Source& x = by_ip[at->second];
      x.counts.Add(g.counts);
      x.first_day = std::min(x.first_day, g.first_day);
      x.last_day = std::max(x.last_day, g.last_day);
    }
  }
  std::sort(by_ip.begin(), by_ip.end(), [](const Source& a, const Source& b) {
    if (a.counts.messages != b.counts.messages) return a.counts.messages > b.counts.messages;
    return a.ip < b.ip;
  });
  constexpr std::size_t kMaxPathSources = 1000;
  const bool csv = WantsCsv(req);
  std::vector<model::IpAddress> listed;
  for (std::size_t i = 0; i < by_ip.size() && (csv || i < kMaxPathSources); ++i) {
    listed.push_back(by_ip[i].ip);
  }
  const std::vector<std::optional<std::string>> ptrs = PtrsOf(*req.store, listed);
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < by_ip.size(); ++i) {
      const model::Counts& c = by_ip[i].counts;
      const std::optional<std::string>& ptr = ptrs[i];
      rows.push_back({by_ip[i].ip.ToString(), ptr.value_or(""), std::to_string(c.messages),
                      std::to_string(c.dmarc_pass), std::to_string(c.spf_aligned),
                      std::to_string(c.dkim_aligned)});
    }
    return Csv({"ip", "ptr", "messages", "dmarc_pass", "spf_aligned", "dkim_aligned"}, rows,
               "sources.csv");
  }
  JsonWriter w;
  w.BeginObject()
      .Key("domain").String(s.domain)
      .Key("from").String(DayText(s.from))
      .Key("to").String(DayText(s.to))
      .Key("path").Value(PathJson(*path))
      .Key("daily").Value(DailyJson(*daily, s))
      .Key("sources").BeginArray();
  for (std::size_t i = 0; i < by_ip.size() && i < kMaxPathSources; ++i) {
    const Source& x = by_ip[i];
    w.BeginObject()
        .Key("ip").String(x.ip.ToString())
        .Key("ptr").OptString(ptrs[i])
        .Key("counts").Counts(x.counts)
        .Key("first_day").String(DayText(x.first_day))
        .Key("last_day").String(DayText(x.last_day))
        .EndObject();
  }
  w.EndArray();
  // The identifiers behind failures first.
  std::vector<const model::SourceCounts*> groups;
  for (const auto& g : *sources) groups.push_back(&g);
  std::stable_sort(groups.begin(), groups.end(), [](const auto* a, const auto* b) {
    return a->counts.dmarc_fail() > b->counts.dmarc_fail();
  });
  w.Key("identifiers").BeginArray();
  for (std::size_t i = 0; i < groups.size() && i < 200; ++i) {
    const model::SourceCounts& g = *groups[i];
    const model::AuthSignature& sig = *g.signature;
    w.BeginObject()
        .Key("ip").String(g.ip.ToString())
        .Key("header_from").String(sig.header_from)
        .Key("envelope_from").OptString(sig.envelope_from)
        .Key("dkim").BeginArray();
    for (const auto& d : sig.dkim) {
      w.BeginObject()
          .Key("domain").String(d.domain)
          .Key("selector").OptString(d.selector)
          .Key("result").String(model::ToString(d.result))
          .EndObject();
    }
    w.EndArray().Key("spf").BeginArray();
    for (const auto& f : sig.spf) {
      w.BeginObject()
          .Key("domain").String(f.domain)
          .Key("scope").String(model::ToString(f.scope))
          .Key("result").String(model::ToString(f.result))
          .EndObject();
    }
    w.EndArray().Key("reasons").BeginArray();
    for (auto r : sig.reasons) w.String(model::ToString(r));
    w.EndArray()
        .Key("disposition").String(model::ToString(sig.disposition))
        .Key("counts").Counts(g.counts)
        .EndObject();
  }
  w.EndArray().Key("findings").BeginArray();
  for (const auto& f : path->findings) w.Value(FindingJson(f));
  w.EndArray().Key("reporters").BeginArray();
  for (const auto& r : *reporters) {
    w.BeginObject().Key("reporter").String(r.reporter).Key("counts").Counts(r.counts).EndObject();
  }
  w.EndArray().EndObject();
  return Reply::JsonText(w.Take());
}

Reply Senders(Shared& shared, Request& req) {
  Scope s;
  if (auto bad = ResolveScope(shared, req, s)) return *bad;
  const std::string kind = req.Query("kind");
  const std::string result = req.Query("result");
  if (!result.empty() && result != "pass" && result != "fail") {
    return Reply::Error(400, "bad_parameter", "result must be pass or fail");
  }
  auto rollups = shared.services.rollups(*req.store);
  model::RollupQuery q = QueryFor(s);
  q.limit = 50000;
  auto totals = rollups->PathTotals(q);
  auto sources = rollups->Sources(q);
  if (!totals.ok()) return StoreError(totals.status());
  if (!sources.ok()) return StoreError(sources.status());
  std::map<std::string, model::PathRef> paths;
  for (const auto& t : *totals) paths[t.path.key] = t.path;
  // Per (address, path): an address seldom comes through more than one.
  struct Sender {
    model::IpAddress ip;
    const std::string* path_key = nullptr;  // in *sources
    model::Counts counts;
  };
  std::vector<Sender> senders;
  {
    std::unordered_multimap<model::IpAddress, std::size_t> index;
    for (const auto& g : *sources) {
      auto [at, end] = index.equal_range(g.ip);
      while (at != end && *senders[at->second].path_key != g.path_key) ++at;
      if (at == end) {
        at = index.emplace(g.ip, senders.size());
        senders.push_back({g.ip, &g.path_key, {}});
      }
      senders[at->second].counts.Add(g.counts);
    }
  }
  std::vector<const Sender*> list;
  for (const Sender& x : senders) {
    const model::PathRef& p = paths[*x.path_key];
    if (!kind.empty() && model::ToString(p.kind) != kind) continue;
    if (result == "pass" && x.counts.dmarc_pass == 0) continue;
    if (result == "fail" && x.counts.dmarc_fail() == 0) continue;
    list.push_back(&x);
  }
  // Most messages first; ties in address order, then path.
  std::sort(list.begin(), list.end(), [](const Sender* a, const Sender* b) {
    if (a->counts.messages != b->counts.messages) return a->counts.messages > b->counts.messages;
    if (a->ip != b->ip) return a->ip < b->ip;
    return *a->path_key < *b->path_key;
  });
  constexpr std::size_t kMaxSenders = 2000;
  const bool csv = WantsCsv(req);
  std::vector<model::IpAddress> listed;
  for (std::size_t i = 0; i < list.size() && (csv || i < kMaxSenders); ++i) {
    listed.push_back(list[i]->ip);
  }
  const std::vector<std::optional<std::string>> ptrs = PtrsOf(*req.store, listed);
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Sender* x = list[i];
      const model::PathRef& p = paths[*x->path_key];
      rows.push_back({x->ip.ToString(), ptrs[i].value_or(""), *x->path_key,
                      model::ToString(p.kind), p.name, p.provider,
                      std::to_string(x->counts.messages), std::to_string(x->counts.dmarc_pass),
                      std::to_string(x->counts.spf_aligned), std::to_string(x->counts.dkim_aligned)});
    }
    return Csv({"ip", "ptr", "path", "kind", "name", "provider", "messages", "dmarc_pass",
                "spf_aligned", "dkim_aligned"},
               rows, "senders-" + s.domain + ".csv");
  }
  JsonWriter w;
  w.BeginObject()
      .Key("domain").String(s.domain)
      .Key("from").String(DayText(s.from))
      .Key("to").String(DayText(s.to))
      .Key("senders").BeginArray();
  for (std::size_t i = 0; i < list.size() && i < kMaxSenders; ++i) {
    const Sender* x = list[i];
    const model::PathRef& p = paths[*x->path_key];
    w.BeginObject()
        .Key("ip").String(x->ip.ToString())
        .Key("ptr").OptString(ptrs[i])
        .Key("path").String(*x->path_key)
        .Key("kind").String(model::ToString(p.kind))
        .Key("name").StringOrNull(p.name)
        .Key("provider").StringOrNull(p.provider)
        .Key("counts").Counts(x->counts)
        .EndObject();
  }
  w.EndArray().Key("truncated").Bool(list.size() > kMaxSenders).EndObject();
  return Reply::JsonText(w.Take());
}

Object::Ptr ReportRowJson(const store::ReportRow& r) {
  Object::Ptr o = NewObject();
  o->set("id", r.id);
  o->set("org", r.org_name);
  o->set("email", r.email);
  o->set("report_id", r.report_id);
  o->set("domain", r.domain);
  o->set("begin", model::FormatIso8601(r.begin));
  o->set("end", model::FormatIso8601(r.end));
  o->set("records", r.records);
  o->set("messages", r.messages);
  o->set("duplicate_of", r.duplicate_of ? Poco::Dynamic::Var(*r.duplicate_of) : Poco::Dynamic::Var());
  o->set("warnings", r.warnings);
  o->set("source", r.origin);
  o->set("payload", r.payload_chain);
  o->set("imported_at", model::FormatIso8601(r.imported_at));
  return o;
}

Reply Reports(Shared&, Request& req) {
  store::ReportFilter filter;
  const std::string domain = model::AsciiLower(req.Query("domain"));
  if (!domain.empty()) {
    if (!req.session->Sees(domain)) return Reply::Error(404, "not_found", "no such domain");
    filter.domain = domain;
  }
  for (const char* key : {"from", "to"}) {
    const std::string text = req.Query(key);
    if (text.empty()) continue;
    auto t = model::ParseIsoTime(text);
    if (!t) return Reply::Error(400, "bad_parameter", std::string(key) + " must be YYYY-MM-DD");
    if (key[0] == 'f') {
      filter.since = *t;
    } else {
      filter.until = *t + 86400;
    }
  }
  try {
    filter.limit = static_cast<std::uint32_t>(std::clamp(std::stol(req.Query("limit", "200")), 1L, 5000L));
    filter.offset = static_cast<std::uint32_t>(std::clamp(std::stol(req.Query("offset", "0")), 0L, 100000000L));
  } catch (const std::exception&) {
    return Reply::Error(400, "bad_parameter", "limit and offset are numbers");
  }
  // A scoped user gets more than one page only if needed: filter after
  // reading, so read generously.
  const std::uint32_t wanted = filter.limit;
  if (!req.session->SeesAll() && !filter.domain) filter.limit = 5000;
  auto rows = req.store->ListReports(filter);
  if (!rows.ok()) return StoreError(rows.status());
  std::vector<const store::ReportRow*> visible;
  for (const auto& r : *rows) {
    if (req.session->Sees(r.domain) && visible.size() < wanted) visible.push_back(&r);
  }
  if (WantsCsv(req)) {
    std::vector<std::vector<std::string>> out;
    for (const auto* r : visible) {
      out.push_back({std::to_string(r->id), r->org_name, r->report_id, r->domain,
                     model::FormatIso8601(r->begin), model::FormatIso8601(r->end),
                     std::to_string(r->records), std::to_string(r->messages),
                     r->duplicate_of ? std::to_string(*r->duplicate_of) : ""});
    }
    return Csv({"id", "org", "report_id", "domain", "begin", "end", "records", "messages",
                "duplicate_of"},
               out, "reports.csv");
  }
  Array::Ptr list = new Array;
  for (const auto* r : visible) list->add(ReportRowJson(*r));
  Object::Ptr root = NewObject();
  root->set("reports", list);
  root->set("limit", wanted);
  root->set("offset", filter.offset);
  return Reply::Json(root);
}

// The report row, if it exists and the session may see it.
Result<store::ReportRow> VisibleReport(Request& req) {
  std::int64_t id = 0;
  try {
    id = std::stoll(req.params["id"]);
  } catch (const std::exception&) {
    return Status::NotFound("no such report");
  }
  auto row = req.store->GetReportRow(id);
  if (!row.ok()) return std::move(row).status();
  if (!req.session->Sees(row->domain)) return Status::NotFound("no such report");
  return row;
}

Reply ReportDetail(Shared&, Request& req) {
  auto row = VisibleReport(req);
  if (!row.ok()) {
    return row.status().code() == StatusCode::kNotFound
               ? Reply::Error(404, "not_found", "no such report")
               : StoreError(row.status());
  }
  auto report = req.store->GetReport(row->id);
  auto analysis = req.store->GetAnalysis(row->id);
  if (!report.ok()) return StoreError(report.status());
  if (!analysis.ok()) return StoreError(analysis.status());
  Object::Ptr r = ReportRowJson(*row);
  const model::PolicyPublished& p = report->policy_published;
  Object::Ptr policy = NewObject();
  auto opt = [](auto v) {
    return v ? Poco::Dynamic::Var(std::string(model::ToString(*v))) : Poco::Dynamic::Var();
  };
  policy->set("domain", p.domain);
  policy->set("adkim", opt(p.adkim));
  policy->set("aspf", opt(p.aspf));
  policy->set("p", std::string(model::ToString(p.p)));
  policy->set("sp", opt(p.sp));
  policy->set("np", opt(p.np));
  policy->set("pct", p.pct ? Poco::Dynamic::Var(*p.pct) : Poco::Dynamic::Var());
  policy->set("fo", p.fo ? Poco::Dynamic::Var(*p.fo) : Poco::Dynamic::Var());
  policy->set("testing", opt(p.testing));
  policy->set("discovery_method", opt(p.discovery_method));
  r->set("policy", policy);
  r->set("version", report->version ? Poco::Dynamic::Var(*report->version) : Poco::Dynamic::Var());
  r->set("generator", report->report_metadata.generator
                          ? Poco::Dynamic::Var(*report->report_metadata.generator)
                          : Poco::Dynamic::Var());
  r->set("errors", StringArray(report->report_metadata.errors));
  Array::Ptr warnings = new Array;
  for (const auto& w : report->warnings) {
    Object::Ptr o = NewObject();
    o->set("code", w.code);
    o->set("detail", w.detail);
    warnings->add(o);
  }
  r->set("warnings", warnings);
  JsonWriter w;
  w.BeginObject().Key("report").Value(r).Key("records").BeginArray();
  for (std::size_t k = 0; k < report->records.size() && k < 5000; ++k) {
    const model::Record& rec = report->records[k];
    w.BeginObject()
        .Key("row").UInt(k)
        .Key("source_ip").String(rec.source_ip.ToString())
        .Key("count").UInt(rec.count)
        .Key("disposition").String(model::ToString(rec.policy_evaluated.disposition))
        .Key("policy_evaluated").BeginObject()
        .Key("dkim").String(model::ToString(rec.policy_evaluated.dkim))
        .Key("spf").String(model::ToString(rec.policy_evaluated.spf))
        .Key("reasons").BeginArray();
    for (const auto& reason : rec.policy_evaluated.reasons) {
      w.BeginObject()
          .Key("type").String(model::ToString(reason.type))
          .Key("comment").OptString(reason.comment)
          .EndObject();
    }
    w.EndArray()
        .EndObject()
        .Key("header_from").String(rec.identifiers.header_from)
        .Key("envelope_from").OptString(rec.identifiers.envelope_from)
        .Key("envelope_to").OptString(rec.identifiers.envelope_to)
        .Key("dkim").BeginArray();
    for (const auto& d : rec.auth_results.dkim) {
      w.BeginObject()
          .Key("domain").String(d.domain)
          .Key("selector").OptString(d.selector)
          .Key("result").String(model::ToString(d.result))
          .Key("human_result").OptString(d.human_result)
          .EndObject();
    }
    w.EndArray().Key("spf").BeginArray();
    for (const auto& f : rec.auth_results.spf) {
      w.BeginObject()
          .Key("domain").String(f.domain)
          .Key("scope").String(model::ToString(f.scope))
          .Key("result").String(model::ToString(f.result))
          .Key("human_result").OptString(f.human_result)
          .EndObject();
    }
    w.EndArray().Key("analysis");
    if (k < analysis->records.size() && !analysis->records[k].path_key.empty()) {
      const model::RecordAnalysis& a = analysis->records[k];
      w.BeginObject()
          .Key("path").String(a.path_key)
          .Key("kind").String(model::ToString(a.kind))
          .Key("rule").Int(a.rule)
          .Key("evidence").String(a.evidence)
          .Key("spf_aligned").Bool(a.spf_aligned)
          .Key("dkim_aligned").Bool(a.dkim_aligned)
          .Key("dmarc_pass").Bool(a.dmarc_pass)
          .Key("disagrees").Bool(a.disagrees)
          .EndObject();
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Reply::JsonText(w.Take());
}

Reply ReportXml(Shared&, Request& req) {
  auto row = VisibleReport(req);
  if (!row.ok()) {
    return row.status().code() == StatusCode::kNotFound
               ? Reply::Error(404, "not_found", "no such report")
               : StoreError(row.status());
  }
  auto bytes = req.store->GetInputBytes(row->input_id);
  if (!bytes.ok()) return Reply::Error(404, "not_found", bytes.status().message());
  // The kept input may be an email or an archive holding several reports:
  // find this one's document by its content digest.
  ingest::Unpacked unpacked = ingest::Unpack(*bytes, row->payload_name, ingest::UnpackLimits{});
  for (const ingest::Payload& p : unpacked.reports) {
    auto parsed = ingest::ParseAggregateReport(p.bytes, ingest::ParseLimits{});
    if (parsed.ok() && ingest::ContentDigest(*parsed) == row->content_sha256) {
      return Reply::File(p.bytes, "text/xml", "report-" + std::to_string(row->id) + ".xml");
    }
  }
  return Reply::Error(404, "not_found", "the report's document was not found in its input");
}

Reply Rejected(Shared&, Request& req) {
  if (!req.session->SeesAll()) {
    Object::Ptr root = NewObject();
    root->set("rejected", Array::Ptr(new Array));
    return Reply::Json(root);
  }
  std::uint32_t limit = 200, offset = 0;
  try {
    limit = static_cast<std::uint32_t>(std::clamp(std::stol(req.Query("limit", "200")), 1L, 5000L));
    offset = static_cast<std::uint32_t>(std::clamp(std::stol(req.Query("offset", "0")), 0L, 100000000L));
  } catch (const std::exception&) {
    return Reply::Error(400, "bad_parameter", "limit and offset are numbers");
  }
  auto rows = req.store->ListRejects(limit, offset);
  if (!rows.ok()) return StoreError(rows.status());
  if (WantsCsv(req)) {
    std::vector<std::vector<std::string>> out;
    for (const auto& r : *rows) {
      out.push_back({std::to_string(r.id), r.input_id ? std::to_string(*r.input_id) : "", r.origin,
                     r.payload_chain, r.payload_name, r.code, r.reason, r.message,
                     model::FormatIso8601(r.first_seen), std::to_string(r.seen_count)});
    }
    return Csv({"id", "input_id", "source", "payload", "name", "code", "reason", "message",
                "first_seen", "seen"},
               out, "rejected.csv");
  }
  Array::Ptr list = new Array;
  for (const auto& r : *rows) {
    Object::Ptr o = NewObject();
    o->set("id", r.id);
    o->set("input_id", r.input_id ? Poco::Dynamic::Var(*r.input_id) : Poco::Dynamic::Var());
    o->set("source", r.origin);
    o->set("payload", r.payload_chain);
    o->set("name", r.payload_name);
    o->set("code", r.code);
    o->set("reason", r.reason);
    o->set("message", r.message);
    o->set("first_seen", model::FormatIso8601(r.first_seen));
    o->set("seen", r.seen_count);
    list->add(o);
  }
  Object::Ptr root = NewObject();
  root->set("rejected", list);
  return Reply::Json(root);
}

Reply RejectedOriginal(Shared&, Request& req) {
  if (!req.session->SeesAll()) return Reply::Error(404, "not_found", "no such input");
  std::int64_t id = 0;
  try {
    id = std::stoll(req.params["id"]);
  } catch (const std::exception&) {
    return Reply::Error(404, "not_found", "no such input");
  }
  auto rows = req.store->ListRejects(100000, 0);
  if (!rows.ok()) return StoreError(rows.status());
  for (const auto& r : *rows) {
    if (r.id != id || !r.input_id) continue;
    auto bytes = req.store->GetInputBytes(*r.input_id);
    if (!bytes.ok()) return Reply::Error(404, "not_found", bytes.status().message());
    return Reply::File(*bytes, "application/octet-stream",
                       "input-" + std::to_string(*r.input_id) + ".bin");
  }
  return Reply::Error(404, "not_found", "no such rejected input");
}

Object::Ptr ProviderJson(const analysis::Provider& p) {
  Object::Ptr o = NewObject();
  o->set("id", p.id);
  o->set("name", p.name);
  o->set("type", std::string(analysis::ToString(p.type)));
  o->set("spf_includes", StringArray(p.spf_includes));
  o->set("dkim_domains", StringArray(p.dkim_domains));
  o->set("dkim_setup", p.dkim_setup);
  o->set("return_path_domains", StringArray(p.return_path_domains));
  o->set("custom_return_path", std::string(analysis::ToString(p.custom_return_path)));
  o->set("return_path_setup", p.return_path_setup);
  o->set("ptr_domains", StringArray(p.ptr_domains));
  o->set("via", StringArray(p.via));
  o->set("sources", StringArray(p.sources));
  o->set("checked", p.checked);
  o->set("notes", p.notes);
  return o;
}

Reply Config(Shared& shared, Request& req) {
  auto rollups = shared.services.rollups(*req.store);
  auto policies = rollups->Policies();
  if (!policies.ok()) return StoreError(policies.status());
  Array::Ptr domains = new Array;
  for (const std::string& d : shared.VisibleDomains(*req.session, *req.store)) {
    Object::Ptr o = NewObject();
    o->set("domain", d);
    Poco::Dynamic::Var policy;
    for (const auto& p : *policies) {
      if (p.domain == d) policy = std::string(model::ToString(p.policy.p));
    }
    o->set("policy", policy);
    if (shared.services.spf_for_domain) {
      Poco::Dynamic::Var spf_var;
      for (const analysis::SpfExpansion& e : shared.services.spf_for_domain(d)) {
        if (e.domain != d) continue;
        Object::Ptr spf = NewObject();
        spf->set("checked", true);
        spf->set("record", e.record);
        spf->set("lookups", e.lookups);
        spf->set("over_limit", e.over_limit);
        spf->set("includes", StringArray(e.includes));
        spf->set("problems", StringArray(e.problems));
        spf_var = spf;
      }
      o->set("spf", spf_var);
    } else {
      o->set("spf", Poco::Dynamic::Var());
    }
    domains->add(o);
  }
  Array::Ptr paths = new Array;
  for (const analysis::DeclaredPath& p : shared.services.analysis_config->paths) {
    Object::Ptr o = NewObject();
    o->set("name", p.name);
    o->set("kind", std::string(model::ToString(p.kind)));
    o->set("provider", OrNull(p.provider));
    std::vector<std::string> ips;
    for (const auto& n : p.ips) ips.push_back(n.ToString());
    o->set("ips", StringArray(ips));
    o->set("dkim_domains", StringArray(p.dkim_domains));
    o->set("dkim_selectors", StringArray(p.dkim_selectors));
    o->set("return_path_domains", StringArray(p.return_path_domains));
    const analysis::Provider* provider = shared.services.catalog->ById(p.provider);
    o->set("catalog", provider ? Poco::Dynamic::Var(ProviderJson(*provider)) : Poco::Dynamic::Var());
    paths->add(o);
  }
  Object::Ptr dns = NewObject();
  dns->set("enabled", static_cast<bool>(shared.services.spf_for_domain));
  Object::Ptr root = NewObject();
  root->set("domains", domains);
  root->set("paths", paths);
  root->set("dns", dns);
  return Reply::Json(root);
}

Reply Providers(Shared& shared, Request&) {
  Array::Ptr list = new Array;
  for (const auto& p : shared.services.catalog->providers()) list->add(ProviderJson(p));
  Object::Ptr root = NewObject();
  root->set("version", 1);
  root->set("providers", list);
  return Reply::Json(root);
}

Reply Upload(Shared& shared, Request& req) {
  const std::string auth = req.Header("Authorization");
  const std::string prefix = "Bearer ";
  if (auth.rfind(prefix, 0) != 0 || auth.size() == prefix.size()) {
    Reply r = Reply::Error(401, "unauthenticated", "Authorization: Bearer <upload token> needed");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const std::string token = auth.substr(prefix.size());
  const UploadToken* matched = nullptr;
  for (const UploadToken& t : shared.options.upload_tokens) {
    if (VerifySecret(t.token_hash, token)) {
      matched = &t;
      break;
    }
  }
  if (matched == nullptr) {
    Poco::Logger::get("dmarc.web.http")
        .warning("event=upload_refused client=" + model::Printable(req.client, 64));
    Reply r = Reply::Error(401, "unauthenticated", "unknown upload token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  if (!shared.services.upload) return Reply::Error(503, "unavailable", "uploads are not enabled");
  if (req.body.empty()) return Reply::Error(400, "empty_body", "the request body is empty");
  auto outcome = shared.services.upload(req.body, matched->name);
  if (!outcome.ok()) return StoreError(outcome.status());
  Object::Ptr root = NewObject();
  root->set("input_id", outcome->input_id);
  Array::Ptr reports = new Array;
  for (const auto& r : outcome->reports) {
    Object::Ptr o = NewObject();
    o->set("id", r.id);
    o->set("result", r.result);
    o->set("org", r.org);
    o->set("report_id", r.report_id);
    o->set("domain", r.domain);
    o->set("records", r.records);
    o->set("messages", r.messages);
    reports->add(o);
  }
  root->set("reports", reports);
  auto list = [](const std::vector<UploadOutcome::Rejected>& v, bool with_message) {
    Array::Ptr a = new Array;
    for (const auto& r : v) {
      Object::Ptr o = NewObject();
      o->set("payload", r.payload);
      o->set("name", r.name);
      o->set("reason", r.reason);
      if (with_message) o->set("message", r.message);
      a->add(o);
    }
    return a;
  };
  root->set("rejected", list(outcome->rejected, true));
  root->set("skipped", list(outcome->skipped, false));
  return Reply::Json(root, 201);
}

// ---- Alert incidents (docs/alerts.md): what `dmarcwatch alerts list`
// shows, limited to the domains the user sees, and acknowledging one.

Object::Ptr IncidentJson(const store::AlertIncidentRow& i) {
  Object::Ptr o = NewObject();
  o->set("id", i.id);
  o->set("rule", i.rule);
  o->set("domain", i.domain);
  o->set("subject", i.subject);
  o->set("state", i.state);
  o->set("severity", i.severity);
  o->set("title", i.title);
  o->set("opened_at", model::FormatIso8601(i.opened_at));
  o->set("last_seen", model::FormatIso8601(i.last_seen));
  o->set("resolved_at", TimeOrNull(i.resolved_at));
  o->set("acknowledged", i.acknowledged);
  o->set("acknowledged_at", TimeOrNull(i.acknowledged_at));
  o->set("last_notified_at", TimeOrNull(i.last_notified_at));
  o->set("notifications", i.notifications);
  return o;
}

Reply Incidents(Shared&, Request& req) {
  const std::string state = req.Query("state", "open");
  if (state != "open" && state != "all") {
    return Reply::Error(400, "bad_parameter", "state is open or all");
  }
  const std::string domain = req.Query("domain", "");
  auto rows = store::ListAlertIncidents(*req.store, state == "all", 1000);
  if (!rows.ok()) return StoreError(rows.status());
  Array::Ptr list = new Array;
  for (const store::AlertIncidentRow& i : *rows) {
    if (!req.session->Sees(i.domain)) continue;
    if (!domain.empty() && i.domain != domain) continue;
    list->add(IncidentJson(i));
  }
  Object::Ptr root = NewObject();
  root->set("incidents", list);
  return Reply::Json(root);
}

Reply AcknowledgeIncident(Shared& shared, Request& req) {
  std::int64_t id = 0;
  try {
    id = std::stoll(req.params["id"]);
  } catch (const std::exception&) {
    return Reply::Error(404, "not_found", "no such incident");
  }
  auto row = store::GetAlertIncident(*req.store, id);
  if (!row.ok()) return StoreError(row.status());
  if (!*row || !req.session->Sees((*row)->domain)) {
    return Reply::Error(404, "not_found", "no such incident");
  }
  Status acked = store::AcknowledgeAlertIncident(*req.store, id, shared.Now());
  if (acked.code() == StatusCode::kFailedPrecondition) {
    return Reply::Error(409, "resolved", "the incident is resolved");
  }
  if (!acked.ok()) return StoreError(acked);
  Poco::Logger::get("dmarc.alerts")
      .information("event=acknowledged incident=" + std::to_string(id) + " user=\"" +
                   model::Printable(req.session->user, 64) + "\"");
  auto updated = store::GetAlertIncident(*req.store, id);
  if (!updated.ok() || !*updated) return StoreError(updated.ok() ? Status::NotFound("gone") : updated.status());
  return Reply::Json(IncidentJson(**updated));
}

Reply StatusInfo(Shared& shared, Request& req) {
  if (!shared.services.status_json) return Reply::Error(404, "not_found", "no status");
  // Mailboxes, folders and the store belong to no domain: only a user who
  // sees every domain sees them (as with rejected inputs).
  if (!req.session->SeesAll()) {
    return Reply::Error(403, "forbidden", "the intake status is shown to users who see every domain");
  }
  Result<std::string> json = shared.services.status_json(*req.store);
  if (!json.ok()) return Reply::Error(503, "store", json.status().message());
  Reply r;
  r.body = std::move(*json);
  return r;
}

Reply Healthz(Shared& shared, Request& req) {
  auto totals = req.store->GetTotals();
  (void)shared;
  return totals.ok() ? Reply::Text(200, "ok\n") : Reply::Text(503, "store unavailable\n");
}

std::string Escape(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Reply ServeMetrics(Shared& shared, Request& req) {
  std::string out = shared.metrics->Text();
  auto totals = req.store->GetTotals();
  if (totals.ok()) {
    out += "# TYPE dmarcwatch_reports_total gauge\ndmarcwatch_reports_total " +
           std::to_string(totals->reports) + "\n";
    out += "# TYPE dmarcwatch_records_total gauge\ndmarcwatch_records_total " +
           std::to_string(totals->records) + "\n";
    out += "# TYPE dmarcwatch_rejects_total gauge\ndmarcwatch_rejects_total " +
           std::to_string(totals->rejects) + "\n";
  }
  auto rollups = shared.services.rollups(*req.store);
  auto domains = rollups->Domains();
  if (domains.ok()) {
    std::string messages, ratio;
    const std::int64_t today = model::DayNumber(shared.Now());
    for (const std::string& d : *domains) {
      model::RollupQuery q;
      q.domain = d;
      q.from_day = today - 29;
      q.to_day = today;
      auto paths = rollups->PathTotals(q);
      if (!paths.ok()) continue;
      std::map<std::string, std::uint64_t> by_kind;
      model::Counts all;
      for (const auto& p : *paths) {
        by_kind[model::ToString(p.path.kind)] += p.counts.messages;
        all.Add(p.counts);
      }
      for (const auto& [kind, n] : by_kind) {
        messages += "dmarcwatch_messages{domain=\"" + Escape(d) + "\",kind=\"" + kind + "\"} " +
                    std::to_string(n) + "\n";
      }
      if (all.messages > 0) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.6f",
                      static_cast<double>(all.dmarc_pass) / static_cast<double>(all.messages));
        ratio += "dmarcwatch_dmarc_pass_ratio{domain=\"" + Escape(d) + "\"} " + buf + "\n";
      }
    }
    out += "# HELP dmarcwatch_messages Messages in the last 30 days, by domain and path kind.\n"
           "# TYPE dmarcwatch_messages gauge\n" + messages;
    out += "# HELP dmarcwatch_dmarc_pass_ratio DMARC pass ratio over the last 30 days.\n"
           "# TYPE dmarcwatch_dmarc_pass_ratio gauge\n" + ratio;
  }
  return Reply::Text(200, out, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

std::vector<Route> ApiRoutes() {
  return {
      {"GET", "/healthz", "healthz", false, true, Healthz},
      {"GET", "/metrics", "metrics", false, true, ServeMetrics},
      {"GET", "/api/v1/session", "session", false, true, GetSession},
      {"POST", "/api/v1/login", "login", false, true, Login},
      {"POST", "/api/v1/logout", "logout", true, true, Logout},
      {"GET", "/api/v1/domains", "domains", true, true, Domains},
      {"GET", "/api/v1/overview", "overview", true, true, Overview},
      {"GET", "/api/v1/paths", "paths", true, true, Paths},
      {"GET", "/api/v1/path", "path", true, true, PathDetail},
      {"GET", "/api/v1/senders", "senders", true, true, Senders},
      {"GET", "/api/v1/reports", "reports", true, true, Reports},
      {"POST", "/api/v1/reports", "upload", false, true, Upload},
      {"GET", "/api/v1/reports/{id}", "report", true, true, ReportDetail},
      {"GET", "/api/v1/reports/{id}/xml", "report_xml", true, true, ReportXml},
      {"GET", "/api/v1/rejected", "rejected", true, true, Rejected},
      {"GET", "/api/v1/rejected/{id}/original", "rejected_original", true, true, RejectedOriginal},
      {"GET", "/api/v1/config", "config", true, true, Config},
      {"GET", "/api/v1/providers", "providers", true, false, Providers},
      {"GET", "/api/v1/status", "status", true, true, StatusInfo},
      {"GET", "/api/v1/incidents", "incidents", true, true, Incidents},
      {"POST", "/api/v1/incidents/{id}/ack", "incident_ack", true, true, AcknowledgeIncident},
  };
}

}  // namespace dmarcwatch::web::internal
