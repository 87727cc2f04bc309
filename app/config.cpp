#include "config.h"

#include <algorithm>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/model/ip_address.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::app {
namespace {

// The sections a configuration may have, and whether each is a table or
// an array of tables.
struct Section {
  std::string_view name;
  bool array;
  std::string_view doc;
};

const std::vector<Section>& Sections() {
  static const std::vector<Section> kSections = {
      {"storage", false, "Where reports are kept."},
      {"web", false, "The dashboard's web server (dmarcwatch serve)."},
      {"domains", true, "The domains you monitor: one [[domains]] table each."},
      {"paths", true,
       "Your sending paths: one [[paths]] table each. A direct path is your own MTAs\n"
       "(kind = \"direct\" with ips); a smarthost is a provider from `dmarcwatch providers`\n"
       "(provider = \"<id>\") plus what you set up there."},
      {"dns", false,
       "DNS lookups for attribution (PTR, SPF includes) and the SPF check.\n"
       "Never on the ingest path; `--offline` turns them off for one run."},
      {"limits", false,
       "Limits on untrusted input. Every one is on; a rejection names the limit it hit."},
      {"users", true,
       "Dashboard logins: one [[users]] table each. Without users, `serve` listens on\n"
       "loopback only and asks for no login."},
      {"upload_tokens", true,
       "Tokens for POST /api/v1/reports (Authorization: Bearer <token>), stored hashed."},
      {"mailboxes", true,
       "IMAP mailboxes that receive reports: polled by `dmarcwatch poll` and by `serve`."},
      {"watch", true,
       "Folders whose new files `serve` imports, then moves to done/ or rejected/."},
      {"alerts", false, "Alert emails on misaligned senders (docs/alerts.md)."},
      {"alerts.smtp", false, "The SMTP server alert emails go through."},
  };
  return kSections;
}

const std::vector<KeySpec> kKeys = {
    {"storage.database", KeyType::kString, "var/dmarcwatch.db",
     "A SQLite file (created with its directory), or postgresql://user@host:port/db.\n"
     "--db on the command line overrides it."},
    {"storage.busy_timeout_ms", KeyType::kInteger, "10000",
     "How long a statement waits for another process's lock, in milliseconds\n"
     "(SQLite's busy timeout; PostgreSQL's lock_timeout)."},
    {"storage.compression_level", KeyType::kInteger, "1",
     "zlib level (1-9) for the original inputs kept in the store and for the\n"
     "blocks the reports' records are stored in. Inputs that are compressed\n"
     "already (gzip, zip) are kept at level 0: stored, not deflated again."},
    {"storage.keep_answers", KeyType::kBool, "true",
     "Keep the period views' answers in the store until new data arrives, for every\n"
     "process to share (docs/performance.md). false computes every view afresh."},
    {"web.listen", KeyType::kString, "127.0.0.1:8080",
     "Address and port to listen on: \"127.0.0.1:8080\", \"[::1]:8080\", \"0.0.0.0:8443\".\n"
     "Without [[users]] only a loopback address is allowed."},
    {"web.tls_cert", KeyType::kString, "", "PEM certificate (chain) file: serve HTTPS. With tls_key."},
    {"web.tls_key", KeyType::kString, "", "PEM private key file, readable by dmarcwatch only."},
    {"web.public_url", KeyType::kString, "",
     "The dashboard's address as users reach it, for links in alert emails\n"
     "(default: from listen)."},
    {"web.threads", KeyType::kInteger, "16", "Requests handled at once."},
    {"web.max_queued", KeyType::kInteger, "512", "Connections waiting for a thread."},
    {"web.request_timeout", KeyType::kDuration, "30s", "Reading or writing one request."},
    {"web.keep_alive_timeout", KeyType::kDuration, "5s", "An idle kept-alive connection."},
    {"web.cache_ttl", KeyType::kDuration, "60s",
     "How long serve keeps a period view's answer in memory at most; any change to the\n"
     "data, by any process, drops it sooner. 0 keeps none."},
    {"web.max_body_bytes", KeyType::kInteger, "67108864", "A request body (an upload), in bytes."},
    {"web.session_ttl", KeyType::kDuration, "12h", "A login session lasts this long."},
    {"web.login_attempts", KeyType::kInteger, "5",
     "Failed logins allowed per user and per address within login_window."},
    {"web.login_window", KeyType::kDuration, "15m", "See login_attempts."},
    {"web.access_log", KeyType::kString, "", "Access log file; empty: the log (dmarc.web.access)."},
    {"domains[].name", KeyType::kString, "", "The domain (required), e.g. \"example.com\"."},
    {"paths[].name", KeyType::kString, "", "A name for the path (required, unique)."},
    {"paths[].kind", KeyType::kString, "smarthost",
     "\"direct\" (your own MTAs) or \"smarthost\" (a provider). Smarthost when omitted."},
    {"paths[].provider", KeyType::kString, "",
     "Smarthosts: the provider's id in the built-in catalog (`dmarcwatch providers`)."},
    {"paths[].ips", KeyType::kStringArray, "[]",
     "Addresses or CIDR blocks, IPv4 or IPv6, this path sends from. Required for direct\n"
     "paths; for smarthosts, your dedicated IPs if you have any."},
    {"paths[].dkim_domains", KeyType::kStringArray, "[]",
     "The DKIM d= domains this path signs with when it is set up right (usually your domain)."},
    {"paths[].dkim_selectors", KeyType::kStringArray, "[]",
     "The DKIM selectors this path uses on dkim_domains (e.g. [\"s1\", \"s2\"]); they let\n"
     "rows signed that way be attributed to the path."},
    {"paths[].return_path_domains", KeyType::kStringArray, "[]",
     "The envelope (MAIL FROM / return-path) domains this path uses, e.g. a custom\n"
     "bounce subdomain such as em1234.example.com."},
    {"dns.enabled", KeyType::kBool, "true", "Look things up in DNS at all."},
    {"dns.servers", KeyType::kStringArray, "[]",
     "Resolvers as \"address\" or \"address:port\"; empty means /etc/resolv.conf."},
    {"dns.timeout", KeyType::kDuration, "2s", "Per try."},
    {"dns.tries", KeyType::kInteger, "2", "Tries per question."},
    {"dns.max_in_flight", KeyType::kInteger, "64", "Questions outstanding at once."},
    {"dns.min_ttl", KeyType::kDuration, "5m", "Answers are kept at least this long."},
    {"dns.max_ttl", KeyType::kDuration, "1d", "and at most this long."},
    {"dns.negative_ttl", KeyType::kDuration, "1h", "How long \"no such name\" is kept."},
    {"limits.max_input_bytes", KeyType::kInteger, "67108864",
     "Bytes of one file, email or upload (64 MiB)."},
    {"limits.max_inflated_bytes", KeyType::kInteger, "268435456",
     "Bytes one input may inflate to, in total (256 MiB)."},
    {"limits.max_inflate_ratio", KeyType::kInteger, "250",
     "Inflated / compressed, checked after the first MiB."},
    {"limits.max_zip_entries", KeyType::kInteger, "64", "Entries in one zip archive."},
    {"limits.max_mime_parts", KeyType::kInteger, "32", "Parts of one email, all levels."},
    {"limits.max_candidates", KeyType::kInteger, "4", "Parts of one email tried as reports."},
    {"limits.max_depth", KeyType::kInteger, "4", "Containers inside containers."},
    {"limits.max_mbox_messages", KeyType::kInteger, "100000", "Messages in one mbox file."},
    {"limits.max_header_bytes", KeyType::kInteger, "1048576",
     "The header block of an email or MIME part."},
    {"limits.max_records", KeyType::kInteger, "200000", "Records in one report."},
    {"limits.max_text_bytes", KeyType::kInteger, "1024", "Bytes of one text value in a report."},
    {"limits.max_domain_bytes", KeyType::kInteger, "253", "Bytes of one domain name."},
    {"users[].name", KeyType::kString, "", "Login name (required, unique)."},
    {"users[].password_hash", KeyType::kString, "",
     "Argon2id hash from `dmarcwatch passwd` (required)."},
    {"users[].domains", KeyType::kStringArray, "[\"*\"]",
     "Domains this user sees; \"*\" for all. An MSP's customer gets only theirs."},
    {"upload_tokens[].name", KeyType::kString, "", "What the token is for (required, unique)."},
    {"upload_tokens[].token_hash", KeyType::kString, "",
     "Argon2id hash from `dmarcwatch token` (required); the token itself is shown once."},
    {"mailboxes[].name", KeyType::kString, "", "A name for the mailbox (required, unique)."},
    {"mailboxes[].host", KeyType::kString, "", "IMAP server (required)."},
    {"mailboxes[].port", KeyType::kInteger, "993", "IMAP port: 993 with implicit TLS, 143 otherwise."},
    {"mailboxes[].tls", KeyType::kString, "implicit",
     "\"implicit\" (port 993), \"starttls\", or \"none\" (loopback hosts only)."},
    {"mailboxes[].ca_file", KeyType::kString, "",
     "PEM file of the CAs to trust; empty: the system's. The certificate is always verified."},
    {"mailboxes[].username", KeyType::kString, "", "Login name (required)."},
    {"mailboxes[].password_file", KeyType::kString, "",
     "File holding the password (mode 0600). Or oauth2_token_file / oauth2_token_command."},
    {"mailboxes[].oauth2_token_file", KeyType::kString, "",
     "XOAUTH2: a file holding a current access token (mode 0600), re-read when it expires."},
    {"mailboxes[].oauth2_token_command", KeyType::kString, "",
     "XOAUTH2: a command that prints a current access token, run when one is needed."},
    {"mailboxes[].folder", KeyType::kString, "INBOX", "The folder reports arrive in."},
    {"mailboxes[].archive_folder", KeyType::kString, "Archive/DMARC",
     "Messages go here once their reports are stored (created if missing; '/' separates levels)."},
    {"mailboxes[].invalid_folder", KeyType::kString, "Archive/Invalid",
     "Messages with no usable report go here; the reason is recorded."},
    {"mailboxes[].after_import", KeyType::kString, "move",
     "\"move\" to archive_folder, or \"mark\" (flag \\Seen and leave in place)."},
    {"mailboxes[].interval", KeyType::kDuration, "15m", "How often `serve` polls."},
    {"mailboxes[].connect_timeout", KeyType::kDuration, "15s", "Connecting and TLS handshake."},
    {"mailboxes[].command_timeout", KeyType::kDuration, "60s", "One IMAP command."},
    {"mailboxes[].session_timeout", KeyType::kDuration, "10m", "One whole poll."},
    {"mailboxes[].max_message_bytes", KeyType::kInteger, "67108864",
     "Larger messages are not fetched; they go to invalid_folder."},
    {"mailboxes[].max_messages_per_poll", KeyType::kInteger, "1000",
     "The rest waits for the next poll."},
    {"watch[].path", KeyType::kString, "", "The folder to watch (required)."},
    {"watch[].done_dir", KeyType::kString, "", "Imported files go here (default: <path>/done)."},
    {"watch[].rejected_dir", KeyType::kString, "",
     "Files with no usable report go here (default: <path>/rejected)."},
    {"watch[].interval", KeyType::kDuration, "1m", "How often `serve` looks."},
    {"alerts.recipients", KeyType::kStringArray, "[]",
     "Who gets alert emails. Alerts are off while this or alerts.smtp.host is empty."},
    {"alerts.dashboard_url", KeyType::kString, "",
     "Base URL for links in alerts (default: web.public_url)."},
    {"alerts.digest", KeyType::kString, "none",
     "\"daily\" or \"weekly\": also send the per-path table; \"none\": only alerts."},
    {"alerts.pass_rate_below", KeyType::kNumber, "95.0",
     "Alert when a declared path's DMARC pass rate over window falls below this percent."},
    {"alerts.min_messages", KeyType::kInteger, "20",
     "... and the path sent at least this many messages in the window."},
    {"alerts.window", KeyType::kDuration, "3d", "The period the rules look at."},
    {"alerts.unknown_failures_per_day", KeyType::kInteger, "100",
     "Alert when unknown sources fail DMARC more than this many times in a day."},
    {"alerts.reporter_silence", KeyType::kDuration, "3d",
     "Alert when a reporter that usually reports has sent nothing for this long."},
    {"alerts.ingest_failure_streak", KeyType::kInteger, "3",
     "Alert after this many failed polls of a mailbox in a row."},
    {"alerts.renotify", KeyType::kDuration, "7d", "Remind about an open incident this often."},
    {"alerts.worsen_step", KeyType::kNumber, "10.0",
     "Notify again when an incident's rate worsens by this many points."},
    {"alerts.resolve_after", KeyType::kDuration, "2d",
     "An incident resolves once its condition has been clear this long."},
    {"alerts.retry_max", KeyType::kDuration, "3d",
     "Undelivered alert emails are retried, with backoff, for this long."},
    {"alerts.smtp.host", KeyType::kString, "", "SMTP server."},
    {"alerts.smtp.port", KeyType::kInteger, "587", "SMTP port: 587 (STARTTLS), 465 (implicit)."},
    {"alerts.smtp.tls", KeyType::kString, "starttls",
     "\"starttls\", \"implicit\", or \"none\" (loopback hosts only)."},
    {"alerts.smtp.ca_file", KeyType::kString, "", "PEM file of the CAs to trust; empty: the system's."},
    {"alerts.smtp.username", KeyType::kString, "", "AUTH user; empty: no AUTH."},
    {"alerts.smtp.password_file", KeyType::kString, "", "File holding the password (mode 0600)."},
    {"alerts.smtp.from", KeyType::kString, "", "Envelope and header sender (required for alerts)."},
    {"alerts.smtp.timeout", KeyType::kDuration, "30s", "Each SMTP step."},
};

bool IsSection(std::string_view name) {
  for (const Section& s : Sections()) {
    if (s.name == name) return true;
  }
  return false;
}

const KeySpec* FindKey(std::string_view name) {
  for (const KeySpec& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const char* TypeName(KeyType t) {
  switch (t) {
    case KeyType::kString: return "a string";
    case KeyType::kInteger: return "an integer";
    case KeyType::kBool: return "true or false";
    case KeyType::kDuration: return "a duration such as \"30s\", \"15m\", \"2h\", \"1d\"";
    case KeyType::kStringArray: return "an array of strings";
    case KeyType::kNumber: return "a number";
  }
  return "a value";
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// A domain as configured: lower-case, no trailing dot, plausible syntax.
bool PlausibleDomain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  if (d.find("..") != std::string_view::npos || d.find('.') == std::string_view::npos) {
    return false;
  }
  for (char c : d) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

// Reads one table against the key registry. `where` names it in messages
// ("paths[2]"); `spec_prefix` is its registry prefix ("paths[]").
class Reader {
 public:
  Reader(const toml::table* table, std::string where, std::string spec_prefix, int line,
         std::vector<ConfigError>& errors)
      : table_(table),
        where_(std::move(where)),
        prefix_(std::move(spec_prefix)),
        line_(line),
        errors_(errors) {
    if (table_ == nullptr) return;
    for (auto&& [key, node] : *table_) {
      const std::string name = prefix_ + "." + std::string(key.str());
      const KeySpec* spec = FindKey(name);
      if (spec == nullptr && node.is_table() && IsSection(name)) continue;  // [alerts.smtp]
      if (spec == nullptr) {
        Error(std::string(key.str()), LineOf(node), "unknown key");
      } else if (!TypeOk(*spec, node)) {
        Error(std::string(key.str()), LineOf(node), std::string("must be ") + TypeName(spec->type));
      }
    }
  }

  void Error(const std::string& key, int line, std::string message) {
    errors_.push_back({where_ + "." + key, line, std::move(message)});
  }
  int Line(const std::string& key) const {
    if (table_ != nullptr) {
      if (const toml::node* n = table_->get(key)) return LineOf(*n);
    }
    return line_;
  }
  bool Has(const std::string& key) const { return table_ != nullptr && table_->get(key); }

  std::string String(const std::string& key) {
    if (const toml::node* n = Node(key, KeyType::kString)) return *n->value<std::string>();
    return std::string(Spec(key).default_value);
  }
  std::int64_t Integer(const std::string& key, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    if (const toml::node* n = Node(key, KeyType::kInteger)) {
      v = *n->value<std::int64_t>();
    } else {
      const std::string_view d = Spec(key).default_value;
      std::from_chars(d.data(), d.data() + d.size(), v);
    }
    if (v < min || v > max) {
      Error(key, Line(key),
            "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return min;
    }
    return v;
  }
  double Number(const std::string& key, double min, double max) {
    double v = 0;
    if (const toml::node* n = Node(key, KeyType::kNumber)) {
      v = n->is_integer() ? static_cast<double>(*n->value<std::int64_t>()) : *n->value<double>();
    } else {
      v = std::stod(std::string(Spec(key).default_value));
    }
    if (v < min || v > max) {
      Error(key, Line(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return min;
    }
    return v;
  }
  bool Bool(const std::string& key) {
    if (const toml::node* n = Node(key, KeyType::kBool)) return *n->value<bool>();
    return Spec(key).default_value == "true";
  }
  std::int64_t Duration(const std::string& key) {
    std::string text(Spec(key).default_value);
    if (const toml::node* n = Node(key, KeyType::kDuration)) text = *n->value<std::string>();
    auto seconds = model::ParseDuration(text);
    if (!seconds) {
      Error(key, Line(key), std::string("must be ") + TypeName(KeyType::kDuration));
      return 0;
    }
    return *seconds;
  }
  std::vector<std::string> Strings(const std::string& key) {
    std::vector<std::string> out;
    if (const toml::node* n = Node(key, KeyType::kStringArray)) {
      for (const toml::node& item : *n->as_array()) out.push_back(*item.value<std::string>());
    }
    return out;
  }

 private:
  const KeySpec& Spec(const std::string& key) const {
    const KeySpec* spec = FindKey(prefix_ + "." + key);
    // Every key the code reads is in the registry; a miss is a bug.
    if (spec == nullptr) std::abort();
    return *spec;
  }
  // The node for a key, when present and of the right type.
  const toml::node* Node(const std::string& key, KeyType type) const {
    (void)Spec(key);
    if (table_ == nullptr) return nullptr;
    const toml::node* n = table_->get(key);
    if (n == nullptr) return nullptr;
    KeySpec probe{key, type, "", ""};
    return TypeOk(probe, *n) ? n : nullptr;
  }
  static bool TypeOk(const KeySpec& spec, const toml::node& n) {
    switch (spec.type) {
      case KeyType::kString:
      case KeyType::kDuration:
        return n.is_string();
      case KeyType::kInteger:
        return n.is_integer();
      case KeyType::kBool:
        return n.is_boolean();
      case KeyType::kNumber:
        return n.is_number();
      case KeyType::kStringArray: {
        const toml::array* a = n.as_array();
        if (a == nullptr) return false;
        for (const toml::node& item : *a) {
          if (!item.is_string()) return false;
        }
        return true;
      }
    }
    return false;
  }

  const toml::table* table_;
  std::string where_;
  std::string prefix_;
  int line_;
  std::vector<ConfigError>& errors_;
};

void ReadLimits(Reader& r, ingest::IngestOptions& o) {
  constexpr std::int64_t kBig = std::int64_t{1} << 40;
  auto u64 = [&](const char* k, std::int64_t max) {
    return static_cast<std::uint64_t>(r.Integer(k, 1, max));
  };
  auto u32 = [&](const char* k, std::int64_t max) {
    return static_cast<std::uint32_t>(r.Integer(k, 1, max));
  };
  o.unpack.max_input_bytes = u64("max_input_bytes", kBig);
  o.unpack.max_inflated_bytes = u64("max_inflated_bytes", kBig);
  o.unpack.max_inflate_ratio = u64("max_inflate_ratio", 100000);
  o.unpack.max_zip_entries = u32("max_zip_entries", 100000);
  o.unpack.max_mime_parts = u32("max_mime_parts", 10000);
  o.unpack.max_candidates = u32("max_candidates", 1000);
  o.unpack.max_depth = u32("max_depth", 32);
  o.unpack.max_mbox_messages = u32("max_mbox_messages", 100000000);
  o.unpack.max_header_bytes = u64("max_header_bytes", kBig);
  o.parse.max_records = u32("max_records", 100000000);
  o.parse.max_text_bytes = static_cast<std::size_t>(r.Integer("max_text_bytes", 16, 1 << 20));
  o.parse.max_domain_bytes = static_cast<std::size_t>(r.Integer("max_domain_bytes", 16, 253));
}

void ReadPath(Reader& r, analysis::DeclaredPath& p) {
  p.name = r.String("name");
  if (p.name.empty()) r.Error("name", r.Line("name"), "every path needs a name");
  const std::string kind = r.String("kind");
  p.provider = r.String("provider");
  if (!r.Has("kind") && p.provider.empty() && r.Has("ips")) {
    r.Error("kind", r.Line("name"),
            "say kind = \"direct\" for your own MTAs, or provider = \"<id>\" for a smarthost");
  } else if (kind == "direct") {
    p.kind = analysis::PathKind::kDirect;
    if (!p.provider.empty()) {
      r.Error("provider", r.Line("provider"), "a direct path has no provider");
    }
  } else if (kind == "smarthost") {
    p.kind = analysis::PathKind::kSmarthost;
    if (p.provider.empty()) {
      r.Error("provider", r.Line("name"),
              "a smarthost needs provider = \"<id>\" (see `dmarcwatch providers`)");
    } else if (analysis::Catalog::Builtin().ById(p.provider) == nullptr) {
      r.Error("provider", r.Line("provider"),
              "\"" + model::Printable(p.provider, 60) +
                  "\" is not a provider id (see `dmarcwatch providers`)");
    }
  } else {
    r.Error("kind", r.Line("kind"), "must be \"direct\" or \"smarthost\"");
  }
  for (const std::string& text : r.Strings("ips")) {
    if (auto net = model::IpNetwork::Parse(text)) {
      p.ips.push_back(*net);
    } else {
      r.Error("ips", r.Line("ips"),
              "\"" + model::Printable(text, 60) +
                  "\" is not an address or CIDR block (host bits must be zero)");
    }
  }
  if (p.kind == analysis::PathKind::kDirect && p.ips.empty()) {
    r.Error("ips", r.Line("name"), "a direct path needs ips");
  }
  auto domains = [&](const char* key) {
    std::vector<std::string> out;
    for (std::string d : r.Strings(key)) {
      d = model::AsciiLower(d);
      if (!d.empty() && d.back() == '.') d.pop_back();
      if (!PlausibleDomain(d)) {
        r.Error(key, r.Line(key), "\"" + model::Printable(d, 60) + "\" is not a domain name");
      } else {
        out.push_back(d);
      }
    }
    return out;
  };
  p.dkim_domains = domains("dkim_domains");
  p.return_path_domains = domains("return_path_domains");
  for (const std::string& s : r.Strings("dkim_selectors")) {
    p.dkim_selectors.push_back(model::AsciiLower(s));
  }
  if (!p.dkim_selectors.empty() && p.dkim_domains.empty()) {
    r.Error("dkim_selectors", r.Line("dkim_selectors"),
            "selectors are looked for on dkim_domains, which is empty");
  }
}

bool IsLoopbackHost(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace

std::optional<std::pair<std::string, int>> ParseListenAddress(const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || listen.find(':') != colon) return std::nullopt;
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    return std::nullopt;
  }
  return std::make_pair(host, p);
}

namespace {

bool IsArgon2Hash(const std::string& h) { return h.rfind("$argon2id$", 0) == 0; }

void ReadAlerts(const toml::table* alerts, AlertsConfig& a, std::vector<ConfigError>& errors) {
  Reader r(alerts, "alerts", "alerts", 0, errors);
  a.recipients = r.Strings("recipients");
  for (const std::string& to : a.recipients) {
    if (to.find('@') == std::string::npos || to.find_first_of(" <>\r\n,") != std::string::npos) {
      r.Error("recipients", r.Line("recipients"), "\"" + model::Printable(to, 80) + "\" is not an address");
    }
  }
  a.dashboard_url = r.String("dashboard_url");
  a.digest = r.String("digest");
  if (a.digest != "none" && a.digest != "daily" && a.digest != "weekly") {
    r.Error("digest", r.Line("digest"), "must be \"none\", \"daily\" or \"weekly\"");
  }
  a.pass_rate_below = r.Number("pass_rate_below", 0, 100);
  a.min_messages = static_cast<std::uint64_t>(r.Integer("min_messages", 0, std::int64_t{1} << 40));
  a.window = r.Duration("window");
  a.unknown_failures_per_day =
      static_cast<std::uint64_t>(r.Integer("unknown_failures_per_day", 0, std::int64_t{1} << 40));
  a.reporter_silence = r.Duration("reporter_silence");
  a.ingest_failure_streak = static_cast<std::uint32_t>(r.Integer("ingest_failure_streak", 1, 1000));
  a.renotify = r.Duration("renotify");
  a.worsen_step = r.Number("worsen_step", 0, 100);
  a.resolve_after = r.Duration("resolve_after");
  a.retry_max = r.Duration("retry_max");
  if (a.window < 86400) r.Error("window", r.Line("window"), "must be at least 1d");

  const toml::table* smtp = alerts != nullptr ? alerts->get_as<toml::table>("smtp") : nullptr;
  Reader m(smtp, "alerts.smtp", "alerts.smtp", 0, errors);
  a.smtp.host = m.String("host");
  a.smtp.port = static_cast<int>(m.Integer("port", 1, 65535));
  a.smtp.tls = m.String("tls");
  if (a.smtp.tls != "starttls" && a.smtp.tls != "implicit" && a.smtp.tls != "none") {
    m.Error("tls", m.Line("tls"), "must be \"starttls\", \"implicit\" or \"none\"");
  } else if (a.smtp.tls == "none" && !a.smtp.host.empty() && !IsLoopbackHost(a.smtp.host)) {
    m.Error("tls", m.Line("tls"), "\"none\" is allowed only for a loopback host");
  }
  a.smtp.ca_file = m.String("ca_file");
  a.smtp.username = m.String("username");
  a.smtp.password_file = m.String("password_file");
  if (!a.smtp.username.empty() && a.smtp.password_file.empty()) {
    m.Error("password_file", m.Line("username"), "a username needs a password_file");
  }
  a.smtp.from = m.String("from");
  a.smtp.timeout = m.Duration("timeout");
  if (!a.recipients.empty()) {
    if (a.smtp.host.empty()) m.Error("host", r.Line("recipients"), "alerts need an SMTP host");
    if (a.smtp.from.empty()) m.Error("from", r.Line("recipients"), "alerts need a from address");
  }
}

void ReadUsers(const toml::table& root, Config& c, std::vector<ConfigError>& errors) {
  std::set<std::string> names;
  if (const toml::array* list = root.get_as<toml::array>("users")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = (*list)[i].as_table();
      Reader r(t, "users[" + std::to_string(i + 1) + "]", "users[]", t ? LineOf(*t) : 0, errors);
      UserConfig u;
      u.line = t ? LineOf(*t) : 0;
      u.name = r.String("name");
      if (u.name.empty()) r.Error("name", r.Line("name"), "every user needs a name");
      if (!u.name.empty() && !names.insert(u.name).second) {
        r.Error("name", r.Line("name"), "another user has the name \"" + u.name + "\"");
      }
      u.password_hash = r.String("password_hash");
      if (!IsArgon2Hash(u.password_hash)) {
        r.Error("password_hash", r.Line("password_hash"),
                "must be an Argon2id hash from `dmarcwatch passwd`");
      }
      u.domains = r.Strings("domains");
      if (!r.Has("domains")) u.domains = {"*"};
      for (std::string& d : u.domains) {
        d = model::AsciiLower(d);
        if (d != "*" && !PlausibleDomain(d)) {
          r.Error("domains", r.Line("domains"), "\"" + model::Printable(d, 60) + "\" is not a domain");
        }
      }
      c.users.push_back(std::move(u));
    }
  }
  names.clear();
  if (const toml::array* list = root.get_as<toml::array>("upload_tokens")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = (*list)[i].as_table();
      Reader r(t, "upload_tokens[" + std::to_string(i + 1) + "]", "upload_tokens[]",
               t ? LineOf(*t) : 0, errors);
      UploadTokenConfig u;
      u.line = t ? LineOf(*t) : 0;
      u.name = r.String("name");
      if (u.name.empty()) r.Error("name", r.Line("name"), "every token needs a name");
      if (!u.name.empty() && !names.insert(u.name).second) {
        r.Error("name", r.Line("name"), "another token has the name \"" + u.name + "\"");
      }
      u.token_hash = r.String("token_hash");
      if (!IsArgon2Hash(u.token_hash)) {
        r.Error("token_hash", r.Line("token_hash"),
                "must be an Argon2id hash from `dmarcwatch token`");
      }
      c.upload_tokens.push_back(std::move(u));
    }
  }
  if (const toml::array* list = root.get_as<toml::array>("watch")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = (*list)[i].as_table();
      Reader r(t, "watch[" + std::to_string(i + 1) + "]", "watch[]", t ? LineOf(*t) : 0, errors);
      WatchConfig w;
      w.line = t ? LineOf(*t) : 0;
      w.path = r.String("path");
      if (w.path.empty()) r.Error("path", r.Line("path"), "every watched folder needs a path");
      w.done_dir = r.String("done_dir");
      if (w.done_dir.empty() && !w.path.empty()) w.done_dir = w.path + "/done";
      w.rejected_dir = r.String("rejected_dir");
      if (w.rejected_dir.empty() && !w.path.empty()) w.rejected_dir = w.path + "/rejected";
      w.interval = r.Duration("interval");
      if (w.interval < 1) r.Error("interval", r.Line("interval"), "must be at least 1s");
      c.watch.push_back(std::move(w));
    }
  }
}

void ReadMailboxes(const toml::table& root, Config& c, std::vector<ConfigError>& errors) {
  std::set<std::string> names;
  const toml::array* list = root.get_as<toml::array>("mailboxes");
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::table* t = (*list)[i].as_table();
    Reader r(t, "mailboxes[" + std::to_string(i + 1) + "]", "mailboxes[]", t ? LineOf(*t) : 0,
             errors);
    MailboxConfig m;
    m.line = t ? LineOf(*t) : 0;
    m.name = r.String("name");
    if (m.name.empty()) r.Error("name", r.Line("name"), "every mailbox needs a name");
    if (!m.name.empty() && !names.insert(m.name).second) {
      r.Error("name", r.Line("name"), "another mailbox has the name \"" + m.name + "\"");
    }
    m.host = r.String("host");
    if (m.host.empty()) r.Error("host", r.Line("name"), "every mailbox needs a host");
    m.port = static_cast<int>(r.Integer("port", 1, 65535));
    m.tls = r.String("tls");
    if (m.tls != "implicit" && m.tls != "starttls" && m.tls != "none") {
      r.Error("tls", r.Line("tls"), "must be \"implicit\", \"starttls\" or \"none\"");
    } else if (m.tls == "none" && !IsLoopbackHost(m.host)) {
      r.Error("tls", r.Line("tls"), "\"none\" is allowed only for a loopback host");
    }
    m.ca_file = r.String("ca_file");
    m.username = r.String("username");
    if (m.username.empty()) r.Error("username", r.Line("name"), "every mailbox needs a username");
    m.password_file = r.String("password_file");
    m.oauth2_token_file = r.String("oauth2_token_file");
    m.oauth2_token_command = r.String("oauth2_token_command");
    const int secrets = !m.password_file.empty() + !m.oauth2_token_file.empty() +
                        !m.oauth2_token_command.empty();
    if (secrets != 1) {
      r.Error("password_file", r.Line("name"),
              "give exactly one of password_file, oauth2_token_file, oauth2_token_command");
    }
    m.folder = r.String("folder");
    m.archive_folder = r.String("archive_folder");
    m.invalid_folder = r.String("invalid_folder");
    for (const char* key : {"folder", "archive_folder", "invalid_folder"}) {
      if (r.String(key).empty()) r.Error(key, r.Line(key), "must not be empty");
    }
    m.after_import = r.String("after_import");
    if (m.after_import != "move" && m.after_import != "mark") {
      r.Error("after_import", r.Line("after_import"), "must be \"move\" or \"mark\"");
    }
    m.interval = r.Duration("interval");
    if (m.interval < 10) r.Error("interval", r.Line("interval"), "must be at least 10s");
    m.connect_timeout = r.Duration("connect_timeout");
    m.command_timeout = r.Duration("command_timeout");
    m.session_timeout = r.Duration("session_timeout");
    for (const char* key : {"connect_timeout", "command_timeout", "session_timeout"}) {
      if (r.Duration(key) < 1) r.Error(key, r.Line(key), "must be at least 1s");
    }
    m.max_message_bytes =
        static_cast<std::uint64_t>(r.Integer("max_message_bytes", 1024, std::int64_t{1} << 34));
    m.max_messages_per_poll =
        static_cast<std::uint32_t>(r.Integer("max_messages_per_poll", 1, 1000000));
    c.mailboxes.push_back(std::move(m));
  }
}

Config Build(const toml::table& root, const std::string& source,
             std::vector<ConfigError>& errors) {
  Config c;  // every field is set below, from the file or the registry's default
  c.source = source;
  for (auto&& [key, node] : root) {
    bool known = false;
    for (const Section& s : Sections()) {
      if (key.str() != s.name) continue;
      known = true;
      const bool ok = s.array ? node.is_array_of_tables() : node.is_table();
      if (!ok) {
        errors.push_back({std::string(key.str()), LineOf(node),
                          s.array ? "must be an array of tables: [[" + std::string(s.name) + "]]"
                                  : "must be a table: [" + std::string(s.name) + "]"});
      }
    }
    if (!known) errors.push_back({std::string(key.str()), LineOf(node), "unknown section"});
  }
  auto table = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    return n != nullptr ? n->as_table() : nullptr;
  };

  {
    Reader r(table("storage"), "storage", "storage", 0, errors);
    c.storage.database = r.String("database");
    if (c.storage.database.empty()) r.Error("database", r.Line("database"), "must not be empty");
    c.storage.busy_timeout_ms = static_cast<int>(r.Integer("busy_timeout_ms", 0, 3600000));
    c.storage.compression_level = static_cast<int>(r.Integer("compression_level", 1, 9));
    c.storage.keep_answers = r.Bool("keep_answers");
  }
  {
    Reader r(table("web"), "web", "web", 0, errors);
    c.web.listen = r.String("listen");
    if (!ParseListenAddress(c.web.listen)) {
      r.Error("listen", r.Line("listen"), "must be host:port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"");
    }
    c.web.tls_cert = r.String("tls_cert");
    c.web.tls_key = r.String("tls_key");
    if (c.web.tls_cert.empty() != c.web.tls_key.empty()) {
      r.Error(c.web.tls_cert.empty() ? "tls_cert" : "tls_key", r.Line("tls_cert"),
              "tls_cert and tls_key go together");
    }
    c.web.public_url = r.String("public_url");
    c.web.threads = static_cast<int>(r.Integer("threads", 1, 256));
    c.web.max_queued = static_cast<int>(r.Integer("max_queued", 1, 10000));
    c.web.request_timeout = r.Duration("request_timeout");
    c.web.keep_alive_timeout = r.Duration("keep_alive_timeout");
    c.web.cache_seconds = r.Duration("cache_ttl");
    c.web.max_body_bytes = static_cast<std::uint64_t>(r.Integer("max_body_bytes", 1024, std::int64_t{1} << 34));
    c.web.session_ttl = r.Duration("session_ttl");
    c.web.login_attempts = static_cast<int>(r.Integer("login_attempts", 1, 1000));
    c.web.login_window = r.Duration("login_window");
    c.web.access_log = r.String("access_log");
  }
  ReadAlerts(table("alerts"), c.alerts, errors);
  {
    Reader r(table("dns"), "dns", "dns", 0, errors);
    c.dns.enabled = r.Bool("enabled");
    c.dns.servers = r.Strings("servers");
    // A duration too long for the field it fills is an error, not a value
    // silently wrapped around: milliseconds in an int, seconds in 32 bits.
    constexpr std::int64_t kMaxTimeout = 24 * 86400;
    const std::int64_t timeout = r.Duration("timeout");
    c.dns.timeout_ms = static_cast<int>(std::min(timeout, kMaxTimeout) * 1000);
    if (c.dns.timeout_ms <= 0) r.Error("timeout", r.Line("timeout"), "must be at least 1s");
    if (timeout > kMaxTimeout) r.Error("timeout", r.Line("timeout"), "must be at most 24d");
    c.dns.tries = static_cast<int>(r.Integer("tries", 1, 10));
    c.dns.max_in_flight = static_cast<int>(r.Integer("max_in_flight", 1, 4096));
    auto ttl = [&r](const std::string& key) {
      constexpr std::int64_t kMaxTtl = std::numeric_limits<std::uint32_t>::max();
      const std::int64_t seconds = r.Duration(key);
      if (seconds > kMaxTtl) r.Error(key, r.Line(key), "must be at most 4294967295s");
      return static_cast<std::uint32_t>(std::min(seconds, kMaxTtl));
    };
    c.dns.min_ttl = ttl("min_ttl");
    c.dns.max_ttl = ttl("max_ttl");
    c.dns.negative_ttl = ttl("negative_ttl");
  }
  {
    Reader r(table("limits"), "limits", "limits", 0, errors);
    ReadLimits(r, c.limits);
  }

  std::set<std::string> seen_domains;
  if (const toml::array* list = root.get_as<toml::array>("domains")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = (*list)[i].as_table();
      const std::string where = "domains[" + std::to_string(i + 1) + "]";
      Reader r(t, where, "domains[]", t ? LineOf(*t) : 0, errors);
      std::string name = model::AsciiLower(r.String("name"));
      if (!name.empty() && name.back() == '.') name.pop_back();
      if (!PlausibleDomain(name)) {
        r.Error("name", r.Line("name"),
                name.empty() ? "every domain needs a name"
                             : "\"" + model::Printable(name, 60) + "\" is not a domain name");
      } else if (!seen_domains.insert(name).second) {
        r.Error("name", r.Line("name"), "\"" + name + "\" is listed twice");
      } else {
        c.domains.push_back(name);
      }
    }
  }
  ReadUsers(root, c, errors);
  ReadMailboxes(root, c, errors);

  std::set<std::string> seen_paths;
  if (const toml::array* list = root.get_as<toml::array>("paths")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* t = (*list)[i].as_table();
      const std::string where = "paths[" + std::to_string(i + 1) + "]";
      Reader r(t, where, "paths[]", t ? LineOf(*t) : 0, errors);
      analysis::DeclaredPath p;
      ReadPath(r, p);
      if (!p.name.empty() && !seen_paths.insert(p.name).second) {
        r.Error("name", r.Line("name"), "another path has the name \"" + p.name + "\"");
      }
      c.paths.push_back(std::move(p));
    }
  }
  return c;
}

}  // namespace

const std::vector<KeySpec>& ConfigKeys() { return kKeys; }

analysis::AnalysisConfig Config::Analysis() const {
  analysis::AnalysisConfig a;
  a.domains = domains;
  a.paths = paths;
  return a;
}

Config DefaultConfig() {
  std::vector<ConfigError> ignored;
  // The defaults are the registry's; reading an empty document applies them.
  return Build(toml::table{}, "", ignored);
}

Result<Config> ParseConfig(std::string_view text, const std::string& name,
                           std::vector<ConfigError>& errors) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    errors.push_back({"", static_cast<int>(e.source().begin.line),
                      "not valid TOML: " + std::string(e.description())});
    return Status::InvalidInput("bad_config", name + " is not valid TOML");
  }
  Config c = Build(root, name, errors);
  if (!errors.empty()) {
    return Status::InvalidInput("bad_config", name + ": " + std::to_string(errors.size()) +
                                                  (errors.size() == 1 ? " error" : " errors"));
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path, std::vector<ConfigError>& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({"", 0, "cannot read the file"});
    return Status::IoError("cannot read " + path);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path, errors);
}

Result<std::string> ReadSecretFile(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError("cannot read the secret file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return Status(StatusCode::kPermissionDenied, "secret_file_mode",
                  "the secret file " + path + " is readable by group or others (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read the secret file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Status::InvalidInput("empty_secret", "the secret file " + path + " is empty");
  return secret;
}

std::string FormatError(const std::string& file, const ConfigError& e) {
  std::string out = file;
  if (e.line > 0) out += ":" + std::to_string(e.line);
  out += ": ";
  if (!e.key.empty()) out += e.key + ": ";
  return out + e.message;
}

std::string DefaultsText() {
  std::string out =
      "# dmarcwatch configuration: every key with its default.\n"
      "# Keys in [[...]] tables have no default for the table itself: list one table\n"
      "# per domain or path. Documentation: docs/configuration.md\n";
  for (const Section& s : Sections()) {
    out += "\n";
    std::istringstream doc{std::string(s.doc)};
    for (std::string line; std::getline(doc, line);) out += "# " + line + "\n";
    // Tables of which there may be many are shown as a commented template,
    // so that this text is itself a valid configuration.
    const std::string comment = s.array ? "# " : "";
    out += s.array ? "# [[" + std::string(s.name) + "]]\n" : "[" + std::string(s.name) + "]\n";
    const std::string prefix = std::string(s.name) + (s.array ? "[]." : ".");
    for (const KeySpec& k : kKeys) {
      if (k.name.substr(0, prefix.size()) != prefix) continue;
      // Keys of a nested table ("alerts.smtp.host") belong to its own section.
      if (k.name.substr(prefix.size()).find('.') != std::string::npos) {
        continue;
      }
      std::istringstream kd{std::string(k.doc)};
      for (std::string line; std::getline(kd, line);) out += "#   " + line + "\n";
      const std::string key(k.name.substr(prefix.size()));
      std::string value(k.default_value);
      if (k.type == KeyType::kString || k.type == KeyType::kDuration) value = "\"" + value + "\"";
      if (k.default_value.empty() && k.type == KeyType::kString) {
        out += "# " + key + " = \"...\"\n";
      } else {
        out += comment + key + " = " + value + "\n";
      }
    }
  }
  return out;
}

}  // namespace dmarcwatch::app
