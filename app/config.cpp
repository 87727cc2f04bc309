#include "config.h"

#include <algorithm>
#include <charconv>
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
  };
  return kSections;
}

const std::vector<KeySpec> kKeys = {
    {"storage.database", KeyType::kString, "var/dmarcwatch.db",
     "A SQLite file (created with its directory), or postgresql://user@host:port/db.\n"
     "--db on the command line overrides it."},
    {"storage.busy_timeout_ms", KeyType::kInteger, "10000",
     "How long a write waits for another writer's lock, in milliseconds."},
    {"storage.compression_level", KeyType::kInteger, "6",
     "zlib level (1-9) for the original inputs kept in the store."},
    {"web.listen", KeyType::kString, "127.0.0.1:8080", "Address and port to listen on."},
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
};

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
  }
  {
    Reader r(table("web"), "web", "web", 0, errors);
    c.web.listen = r.String("listen");
  }
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
