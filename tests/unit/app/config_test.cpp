#include "config.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

// The configuration file: the sample, the defaults, and one table row per
// kind of mistake, each of which must be reported with its key and line.

namespace {

namespace app = dmarcwatch::app;
using dmarcwatch::StatusCode;

struct Parsed {
  bool ok = false;
  std::string status;
  std::vector<app::ConfigError> errors;
  app::Config config;
};

Parsed Parse(std::string_view text) {
  Parsed p;
  auto result = app::ParseConfig(text, "test.toml", p.errors);
  p.ok = result.ok();
  if (result.ok()) {
    p.config = *result;
  } else {
    p.status = result.status().ToString();
  }
  return p;
}

std::string Listed(const std::vector<app::ConfigError> &errors) {
  std::string out;
  for (const app::ConfigError &e : errors) out += "\n  " + app::FormatError("test.toml", e);
  return out.empty() ? std::string(" (none)") : out;
}

// True when `errors` has one for `key` on `line` whose message holds
// `fragment`.
bool Has(const std::vector<app::ConfigError> &errors, const std::string &key, int line,
         const std::string &fragment) {
  for (const app::ConfigError &e : errors) {
    if (e.key == key && e.line == line && e.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// One mistake: a file, and the error it must produce.
struct Mistake {
  const char *what;
  const char *text;
  const char *key;
  int line;
  const char *fragment;
};

void CheckMistakes(const std::vector<Mistake> &table) {
  for (const Mistake &row : table) {
    BOOST_TEST_CONTEXT(row.what) {
      const Parsed p = Parse(row.text);
      BOOST_TEST(!p.ok);
      BOOST_TEST(Has(p.errors, row.key, row.line, row.fragment),
                 "expected " << row.key << " at line " << row.line << " saying \"" << row.fragment
                             << "\"; got" << Listed(p.errors));
    }
  }
}

std::vector<std::string> Networks(const dmarcwatch::analysis::DeclaredPath &p) {
  std::vector<std::string> out;
  for (const auto &n : p.ips) out.push_back(n.ToString());
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

// --- valid files
// ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_demo_sample_parses_with_its_domains_and_paths) {
  const std::string path = std::string(DMARC_SOURCE_DIR) + "/samples/demo/dmarcwatch.toml";
  std::vector<app::ConfigError> errors;
  auto loaded = app::LoadConfig(path, errors);
  BOOST_REQUIRE_MESSAGE(loaded.ok(), Listed(errors));
  BOOST_TEST(errors.empty());
  const app::Config &c = *loaded;
  BOOST_TEST(c.source == path);
  BOOST_TEST(c.storage.database == "var/demo.db");
  BOOST_TEST(c.web.listen == "127.0.0.1:8080");
  BOOST_TEST(c.domains == (Strings{"example.com", "example.net"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(c.paths.size(), 4u);

  using dmarcwatch::model::PathKind;
  const auto &office = c.paths[0];
  BOOST_TEST(office.name == "Office MTA");
  BOOST_TEST((office.kind == PathKind::kDirect));
  BOOST_TEST(office.provider.empty());
  BOOST_TEST(Networks(office) == (Strings{"192.0.2.0/28", "2001:db8:10::/64"}),
             boost::test_tools::per_element());
  BOOST_TEST(office.dkim_domains == Strings{"example.com"}, boost::test_tools::per_element());
  BOOST_TEST(office.dkim_selectors.empty());
  BOOST_TEST(office.return_path_domains.empty());

  const auto &m365 = c.paths[1];
  BOOST_TEST(m365.name == "Microsoft 365");
  BOOST_TEST((m365.kind == PathKind::kSmarthost));
  BOOST_TEST(m365.provider == "microsoft-365");
  BOOST_TEST(m365.ips.empty());
  BOOST_TEST(m365.dkim_domains == Strings{"example.com"}, boost::test_tools::per_element());

  const auto &sendgrid = c.paths[2];
  BOOST_TEST(sendgrid.name == "SendGrid");
  BOOST_TEST((sendgrid.kind == PathKind::kSmarthost));
  BOOST_TEST(sendgrid.provider == "sendgrid");
  BOOST_TEST(sendgrid.ips.empty());
  BOOST_TEST(sendgrid.dkim_domains == Strings{"example.com"}, boost::test_tools::per_element());
  BOOST_TEST(sendgrid.dkim_selectors == (Strings{"s1", "s2"}), boost::test_tools::per_element());
  BOOST_TEST(sendgrid.return_path_domains == Strings{"em1234.example.com"},
             boost::test_tools::per_element());

  const auto &ses = c.paths[3];
  BOOST_TEST(ses.name == "Amazon SES");
  BOOST_TEST((ses.kind == PathKind::kSmarthost));
  BOOST_TEST(ses.provider == "amazon-ses");
  BOOST_TEST(ses.dkim_domains == Strings{"example.com"}, boost::test_tools::per_element());
  BOOST_TEST(ses.dkim_selectors.empty());
  BOOST_TEST(ses.return_path_domains.empty());

  // What the sample does not set keeps its default.
  BOOST_TEST(c.storage.busy_timeout_ms == 10000);
  BOOST_TEST(c.dns.timeout_ms == 2000);
  const auto analysis = c.Analysis();
  BOOST_TEST(analysis.domains == c.domains, boost::test_tools::per_element());
  BOOST_TEST(analysis.paths.size() == 4u);
}

BOOST_AUTO_TEST_CASE(default_config_holds_the_registry_defaults) {
  const app::Config c = app::DefaultConfig();
  BOOST_TEST(c.source.empty());
  BOOST_TEST(c.storage.database == "var/dmarcwatch.db");
  BOOST_TEST(c.storage.busy_timeout_ms == 10000);
  BOOST_TEST(c.storage.compression_level == 1);
  const dmarcwatch::store::StoreOptions store_defaults;
  BOOST_TEST(c.storage.database == store_defaults.database);
  BOOST_TEST(c.storage.busy_timeout_ms == store_defaults.busy_timeout_ms);
  BOOST_TEST(c.storage.compression_level == store_defaults.compression_level);
  BOOST_TEST(c.web.listen == "127.0.0.1:8080");
  BOOST_TEST(c.domains.empty());
  BOOST_TEST(c.paths.empty());

  BOOST_TEST(c.dns.enabled);
  BOOST_TEST(c.dns.servers.empty());
  BOOST_TEST(c.dns.timeout_ms == 2000);
  BOOST_TEST(c.dns.tries == 2);
  BOOST_TEST(c.dns.max_in_flight == 64);
  BOOST_TEST(c.dns.min_ttl == 300u);
  BOOST_TEST(c.dns.max_ttl == 86400u);
  BOOST_TEST(c.dns.negative_ttl == 3600u);
  const dmarcwatch::analysis::DnsOptions dns;
  BOOST_TEST(c.dns.timeout_ms == dns.timeout_ms);
  BOOST_TEST(c.dns.tries == dns.tries);
  BOOST_TEST(c.dns.max_in_flight == dns.max_in_flight);
  BOOST_TEST(c.dns.min_ttl == dns.min_ttl);
  BOOST_TEST(c.dns.max_ttl == dns.max_ttl);
  BOOST_TEST(c.dns.negative_ttl == dns.negative_ttl);

  // The limits are the ingest module's own defaults, field by field.
  const dmarcwatch::ingest::IngestOptions in;
  const auto &u = c.limits.unpack;
  BOOST_TEST(u.max_input_bytes == in.unpack.max_input_bytes);
  BOOST_TEST(u.max_inflated_bytes == in.unpack.max_inflated_bytes);
  BOOST_TEST(u.max_inflate_ratio == in.unpack.max_inflate_ratio);
  BOOST_TEST(u.ratio_check_after_bytes == in.unpack.ratio_check_after_bytes);
  BOOST_TEST(u.max_zip_entries == in.unpack.max_zip_entries);
  BOOST_TEST(u.max_mime_parts == in.unpack.max_mime_parts);
  BOOST_TEST(u.max_candidates == in.unpack.max_candidates);
  BOOST_TEST(u.max_depth == in.unpack.max_depth);
  BOOST_TEST(u.max_mbox_messages == in.unpack.max_mbox_messages);
  BOOST_TEST(u.max_header_bytes == in.unpack.max_header_bytes);
  BOOST_TEST(c.limits.parse.max_records == in.parse.max_records);
  BOOST_TEST(c.limits.parse.max_text_bytes == in.parse.max_text_bytes);
  BOOST_TEST(c.limits.parse.max_domain_bytes == in.parse.max_domain_bytes);

  // An empty file is the same configuration.
  const Parsed empty = Parse("");
  BOOST_REQUIRE_MESSAGE(empty.ok, empty.status << Listed(empty.errors));
  BOOST_TEST(empty.config.storage.database == c.storage.database);
  BOOST_TEST(empty.config.dns.timeout_ms == c.dns.timeout_ms);
  BOOST_TEST(empty.config.limits.parse.max_records == c.limits.parse.max_records);
}

BOOST_AUTO_TEST_CASE(values_are_normalised_and_limits_map_onto_ingest_options) {
  const Parsed p = Parse(R"([storage]
database = "/srv/dmarc.db"
busy_timeout_ms = 0
compression_level = 9

[dns]
enabled = false
servers = ["127.0.0.1:5353", "::1"]
timeout = "3s"
tries = 5
max_in_flight = 7
min_ttl = "1m"
max_ttl = "2h"
negative_ttl = "1w"

[limits]
max_input_bytes = 1000001
max_inflated_bytes = 1000002
max_inflate_ratio = 103
max_zip_entries = 104
max_mime_parts = 105
max_candidates = 106
max_depth = 7
max_mbox_messages = 108
max_header_bytes = 1000009
max_records = 110
max_text_bytes = 111
max_domain_bytes = 112

[[domains]]
name = "Example.COM."

[[domains]]
name = "MAIL.example.org"

[[paths]]
name = "SendGrid"
provider = "sendgrid"
dkim_domains = ["Example.COM.", "em.EXAMPLE.org"]
dkim_selectors = ["S1", "s2"]
return_path_domains = ["EM1234.Example.com."]
)");
  BOOST_REQUIRE_MESSAGE(p.ok, p.status << Listed(p.errors));
  const app::Config &c = p.config;
  BOOST_TEST(c.storage.database == "/srv/dmarc.db");
  BOOST_TEST(c.storage.busy_timeout_ms == 0);
  BOOST_TEST(c.storage.compression_level == 9);
  BOOST_TEST(c.domains == (Strings{"example.com", "mail.example.org"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(c.paths.size(), 1u);
  BOOST_TEST(c.paths[0].dkim_domains == (Strings{"example.com", "em.example.org"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.paths[0].dkim_selectors == (Strings{"s1", "s2"}), boost::test_tools::per_element());
  BOOST_TEST(c.paths[0].return_path_domains == Strings{"em1234.example.com"},
             boost::test_tools::per_element());

  BOOST_TEST(!c.dns.enabled);
  BOOST_TEST(c.dns.servers == (Strings{"127.0.0.1:5353", "::1"}), boost::test_tools::per_element());
  BOOST_TEST(c.dns.timeout_ms == 3000);
  BOOST_TEST(c.dns.tries == 5);
  BOOST_TEST(c.dns.max_in_flight == 7);
  BOOST_TEST(c.dns.min_ttl == 60u);
  BOOST_TEST(c.dns.max_ttl == 7200u);
  BOOST_TEST(c.dns.negative_ttl == 7u * 86400u);

  const auto &u = c.limits.unpack;
  BOOST_TEST(u.max_input_bytes == 1000001u);
  BOOST_TEST(u.max_inflated_bytes == 1000002u);
  BOOST_TEST(u.max_inflate_ratio == 103u);
  BOOST_TEST(u.max_zip_entries == 104u);
  BOOST_TEST(u.max_mime_parts == 105u);
  BOOST_TEST(u.max_candidates == 106u);
  BOOST_TEST(u.max_depth == 7u);
  BOOST_TEST(u.max_mbox_messages == 108u);
  BOOST_TEST(u.max_header_bytes == 1000009u);
  BOOST_TEST(c.limits.parse.max_records == 110u);
  BOOST_TEST(c.limits.parse.max_text_bytes == 111u);
  BOOST_TEST(c.limits.parse.max_domain_bytes == 112u);
}

// --- every mistake names its key and line
// -----------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_sections_and_keys_are_errors_naming_key_and_line) {
  CheckMistakes({
      {"unknown section", "[storage]\ndatabase = \"x.db\"\n\n[webb]\nlisten = \"x\"\n", "webb", 4,
       "unknown section"},
      {"unknown top-level key", "# comment\ndatabase = \"x.db\"\n", "database", 2,
       "unknown section"},
      {"unknown key in [storage]", "[storage]\ndatabase = \"x.db\"\ndatabse = \"y.db\"\n",
       "storage.databse", 3, "unknown key"},
      {"nested table in [storage]", "[storage]\n[storage.extra]\nx = 1\n", "storage.extra", 2,
       "unknown key"},
      {"unknown key in [dns]", "[dns]\ntimeout = \"2s\"\nretries = 3\n", "dns.retries", 3,
       "unknown key"},
      {"unknown key in [limits]", "[limits]\nmax_recrods = 5\n", "limits.max_recrods", 2,
       "unknown key"},
      {"unknown key in the second [[paths]]",
       "[[paths]]\nname = \"A\"\nprovider = \"sendgrid\"\n\n[[paths]]\nname = "
       "\"B\"\n"
       "kind = \"direct\"\nips = [\"192.0.2.0/24\"]\nipz = [\"192.0.2.9\"]\n",
       "paths[2].ipz", 9, "unknown key"},
      {"unknown key in [[domains]]", "[[domains]]\nname = \"example.com\"\npolicy = \"reject\"\n",
       "domains[1].policy", 3, "unknown key"},
  });
}

BOOST_AUTO_TEST_CASE(values_of_the_wrong_type_are_errors_naming_key_and_line) {
  CheckMistakes({
      {"string for an integer", "[storage]\nbusy_timeout_ms = \"10\"\n", "storage.busy_timeout_ms",
       2, "must be an integer"},
      {"float for an integer", "[limits]\n\nmax_records = 1.5\n", "limits.max_records", 3,
       "must be an integer"},
      {"integer for a string", "[web]\nlisten = 8080\n", "web.listen", 2, "must be a string"},
      {"array for a string", "[storage]\ndatabase = [\"a.db\"]\n", "storage.database", 2,
       "must be a string"},
      {"string for a bool", "[dns]\nenabled = \"yes\"\n", "dns.enabled", 2, "true or false"},
      {"integer for a duration", "[dns]\ntimeout = 2\n", "dns.timeout", 2, "duration"},
      {"string for an array",
       "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nips = \"192.0.2.1\"\n", "paths[1].ips", 4,
       "must be an array of strings"},
      {"array of integers for an array of strings",
       "[[paths]]\nname = \"X\"\nprovider = \"sendgrid\"\ndkim_selectors = [1, "
       "2]\n",
       "paths[1].dkim_selectors", 4, "must be an array of strings"},
      {"[storage] not a table", "storage = \"x.db\"\n", "storage", 1, "must be a table"},
      {"[[paths]] not an array of tables", "[paths]\nname = \"x\"\n", "paths", 1,
       "array of tables"},
      {"[[domains]] as a list of strings", "domains = [\"example.com\"]\n", "domains", 1,
       "array of tables"},
  });
}

BOOST_AUTO_TEST_CASE(bad_paths_are_errors_naming_key_and_line) {
  CheckMistakes({
      {"host bits set in a CIDR block",
       "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nips = "
       "[\"192.0.2.1/24\"]\n",
       "paths[1].ips", 4, "192.0.2.1/24"},
      {"not an address",
       "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nips = "
       "[\"mx.example\"]\n",
       "paths[1].ips", 4, "mx.example"},
      {"IPv6 prefix too long",
       "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nips = "
       "[\"2001:db8::/129\"]\n",
       "paths[1].ips", 4, "2001:db8::/129"},
      {"direct path without ips", "\n[[paths]]\nname = \"Office\"\nkind = \"direct\"\n",
       "paths[1].ips", 3, "needs ips"},
      {"direct path with a provider",
       "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nprovider = "
       "\"sendgrid\"\n"
       "ips = [\"192.0.2.0/28\"]\n",
       "paths[1].provider", 4, "no provider"},
      {"smarthost without provider", "[[paths]]\nname = \"Relay\"\nkind = \"smarthost\"\n",
       "paths[1].provider", 2, "needs provider"},
      {"no kind and no provider", "[[paths]]\nname = \"Relay\"\n", "paths[1].provider", 2,
       "needs provider"},
      {"ips but neither kind nor provider",
       "[[paths]]\nname = \"Office\"\nips = [\"192.0.2.0/28\"]\n", "paths[1].kind", 2,
       "kind = \"direct\""},
      {"unknown provider id", "[[paths]]\nname = \"Relay\"\nprovider = \"no-such-provider\"\n",
       "paths[1].provider", 3, "no-such-provider"},
      {"kind neither direct nor smarthost",
       "[[paths]]\nname = \"Relay\"\nkind = \"relay\"\nprovider = "
       "\"sendgrid\"\n",
       "paths[1].kind", 3, "must be \"direct\" or \"smarthost\""},
      {"path without a name", "[[paths]]\nprovider = \"sendgrid\"\n", "paths[1].name", 1,
       "needs a name"},
      {"duplicate path names",
       "[[paths]]\nname = \"SendGrid\"\nprovider = "
       "\"sendgrid\"\n[[paths]]\nname = \"SendGrid\"\n"
       "provider = \"sendgrid\"\n",
       "paths[2].name", 5, "SendGrid"},
      {"bad dkim domain",
       "[[paths]]\nname = \"SendGrid\"\nprovider = \"sendgrid\"\ndkim_domains "
       "= [\"exa mple.com\"]\n",
       "paths[1].dkim_domains", 4, "not a domain name"},
      {"bad return-path domain",
       "[[paths]]\nname = \"SendGrid\"\nprovider = \"sendgrid\"\n"
       "return_path_domains = [\"a..example.com\"]\n",
       "paths[1].return_path_domains", 4, "not a domain name"},
      {"dkim_selectors without dkim_domains",
       "[[paths]]\nname = \"SendGrid\"\nprovider = "
       "\"sendgrid\"\ndkim_selectors = [\"s1\"]\n",
       "paths[1].dkim_selectors", 4, "dkim_domains"},
  });
}

BOOST_AUTO_TEST_CASE(bad_domains_are_errors_naming_key_and_line) {
  CheckMistakes({
      {"duplicate domain after normalising",
       "[[domains]]\nname = \"example.com\"\n\n[[domains]]\nname = "
       "\"EXAMPLE.com.\"\n",
       "domains[2].name", 5, "listed twice"},
      {"space in a domain", "[[domains]]\nname = \"exa mple.com\"\n", "domains[1].name", 2,
       "not a domain name"},
      {"single label", "[[domains]]\nname = \"localhost\"\n", "domains[1].name", 2,
       "not a domain name"},
      {"empty label", "[[domains]]\nname = \"a..example.com\"\n", "domains[1].name", 2,
       "not a domain name"},
      {"leading dot", "[[domains]]\nname = \".example.com\"\n", "domains[1].name", 2,
       "not a domain name"},
      {"empty name", "[[domains]]\nname = \"\"\n", "domains[1].name", 2, "needs a name"},
      {"no name", "[[domains]]\n", "domains[1].name", 1, "needs a name"},
      {"too long", ("[[domains]]\nname = \"" + std::string(250, 'a') + ".com\"\n").c_str(),
       "domains[1].name", 2, "not a domain name"},
  });
}

BOOST_AUTO_TEST_CASE(out_of_range_numbers_and_bad_durations_are_errors_naming_key_and_line) {
  CheckMistakes({
      {"zero zip entries", "[limits]\nmax_zip_entries = 0\n", "limits.max_zip_entries", 2,
       "between"},
      {"negative records", "[limits]\nmax_records = -5\n", "limits.max_records", 2, "between"},
      {"domain bytes above 253", "[limits]\nmax_domain_bytes = 254\n", "limits.max_domain_bytes", 2,
       "between 16 and 253"},
      {"text bytes below 16", "[limits]\nmax_text_bytes = 15\n", "limits.max_text_bytes", 2,
       "between"},
      {"input bytes above 2^40", "[limits]\nmax_input_bytes = 1099511627777\n",
       "limits.max_input_bytes", 2, "between"},
      {"compression level 10", "[storage]\ncompression_level = 10\n", "storage.compression_level",
       2, "between 1 and 9"},
      {"zero dns tries", "[dns]\ntries = 0\n", "dns.tries", 2, "between"},
      {"duration without a unit", "[dns]\ntimeout = \"2\"\n", "dns.timeout", 2, "duration"},
      {"duration in words", "[dns]\ntimeout = \"2 seconds\"\n", "dns.timeout", 2, "duration"},
      {"unknown unit", "[dns]\nmin_ttl = \"5x\"\n", "dns.min_ttl", 2, "duration"},
      {"negative duration", "[dns]\nmax_ttl = \"-1h\"\n", "dns.max_ttl", 2, "duration"},
      {"zero timeout", "[dns]\ntimeout = \"0s\"\n", "dns.timeout", 2, "at least 1s"},
      // Too long for the field it fills: never silently wrapped around.
      {"timeout beyond what milliseconds hold", "[dns]\ntimeout = \"50d\"\n", "dns.timeout", 2,
       "at most 24d"},
      {"ttl beyond 32 bits", "[dns]\nnegative_ttl = \"10000w\"\n", "dns.negative_ttl", 2,
       "at most"},
  });
}

BOOST_AUTO_TEST_CASE(invalid_toml_is_an_error_naming_the_line) {
  const Parsed p = Parse("[storage]\ndatabase = \"x.db\"\nlisten = \n[web]\n");
  BOOST_TEST(!p.ok);
  BOOST_REQUIRE_EQUAL(p.errors.size(), 1u);
  BOOST_TEST(p.errors[0].line == 3);
  BOOST_TEST(p.errors[0].message.find("not valid TOML") != std::string::npos);
  BOOST_TEST(app::FormatError("x.toml", p.errors[0]).rfind("x.toml:3: ", 0) == 0u);

  const Parsed twice = Parse("[web]\nlisten = \"a\"\nlisten = \"b\"\n");
  BOOST_TEST(!twice.ok);
  BOOST_REQUIRE_EQUAL(twice.errors.size(), 1u);
  BOOST_TEST(twice.errors[0].line == 3);

  const Parsed unterminated = Parse("[storage]\n\n\ndatabase = \"x.db\n");
  BOOST_TEST(!unterminated.ok);
  BOOST_REQUIRE_EQUAL(unterminated.errors.size(), 1u);
  BOOST_TEST(unterminated.errors[0].line == 4);
}

BOOST_AUTO_TEST_CASE(every_error_in_a_file_is_reported_not_just_the_first) {
  const Parsed p = Parse(R"([storage]
databse = "x.db"

[limits]
max_zip_entries = 0

[dns]
timeout = "soon"

[[domains]]
name = "bad domain"

[[paths]]
name = "Relay"
provider = "no-such-provider"

[[paths]]
name = "Office"
kind = "direct"
ips = ["192.0.2.1/24"]
)");
  BOOST_TEST(!p.ok);
  BOOST_TEST(p.errors.size() >= 6u, Listed(p.errors));
  BOOST_TEST(p.status.find(std::to_string(p.errors.size()) + " errors") != std::string::npos,
             p.status);
  BOOST_TEST(Has(p.errors, "storage.databse", 2, "unknown key"), Listed(p.errors));
  BOOST_TEST(Has(p.errors, "limits.max_zip_entries", 5, "between"), Listed(p.errors));
  BOOST_TEST(Has(p.errors, "dns.timeout", 8, "duration"), Listed(p.errors));
  BOOST_TEST(Has(p.errors, "domains[1].name", 11, "not a domain name"), Listed(p.errors));
  BOOST_TEST(Has(p.errors, "paths[1].provider", 15, "no-such-provider"), Listed(p.errors));
  BOOST_TEST(Has(p.errors, "paths[2].ips", 20, "192.0.2.1/24"), Listed(p.errors));
}

BOOST_AUTO_TEST_CASE(an_unreadable_file_is_an_io_error) {
  std::vector<app::ConfigError> errors;
  auto loaded = app::LoadConfig(std::string(DMARC_SOURCE_DIR) + "/no/such/dmarcwatch.toml", errors);
  BOOST_REQUIRE(!loaded.ok());
  BOOST_TEST((loaded.status().code() == StatusCode::kIoError));
  BOOST_TEST(errors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(format_error_writes_file_line_key_and_message) {
  BOOST_TEST(app::FormatError("a.toml", {"paths[2].ips", 7, "bad"}) ==
             "a.toml:7: paths[2].ips: bad");
  BOOST_TEST(app::FormatError("a.toml", {"", 0, "cannot read the file"}) ==
             "a.toml: cannot read the file");
}

// --- the printed defaults
// -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(defaults_text_names_every_key_with_its_default_and_parses_cleanly) {
  const std::string text = app::DefaultsText();

  // Each key appears in its own section as "key = default", commented out
  // or not.
  std::istringstream in(text);
  std::string section;
  std::map<std::string, std::vector<std::string>> lines_by_section;
  for (std::string line; std::getline(in, line);) {
    std::string bare = line.rfind("# ", 0) == 0 ? line.substr(2) : line;
    if (bare.rfind("[[", 0) == 0 && bare.size() > 4 && bare.substr(bare.size() - 2) == "]]") {
      section = bare.substr(2, bare.size() - 4) + "[]";
    } else if (bare.rfind("[", 0) == 0 && bare.back() == ']') {
      section = bare.substr(1, bare.size() - 2);
    } else {
      lines_by_section[section].push_back(bare);
    }
  }
  for (const app::KeySpec &key : app::ConfigKeys()) {
    const std::string name(key.name);
    const std::size_t dot = name.rfind('.');
    const std::string in_section = name.substr(0, dot);
    const std::string leaf = name.substr(dot + 1);
    bool found = false;
    for (const std::string &line : lines_by_section[in_section]) {
      if (line.rfind(leaf + " = ", 0) != 0) continue;
      found = key.default_value.empty() ||
              line.find(std::string(key.default_value)) != std::string::npos;
    }
    BOOST_TEST(found, name << " = " << key.default_value << " is not in the printed defaults");
    BOOST_TEST(!key.doc.empty(), name << " has no documentation");
  }

  // Printed as it is, it is a valid configuration equal to the defaults.
  const Parsed p = Parse(text);
  BOOST_REQUIRE_MESSAGE(p.ok, p.status << Listed(p.errors));
  const app::Config d = app::DefaultConfig();
  BOOST_TEST(p.config.storage.database == d.storage.database);
  BOOST_TEST(p.config.web.listen == d.web.listen);
  BOOST_TEST(p.config.domains.empty());
  BOOST_TEST(p.config.paths.empty());
  BOOST_TEST(p.config.dns.timeout_ms == d.dns.timeout_ms);
  BOOST_TEST(p.config.dns.min_ttl == d.dns.min_ttl);
  BOOST_TEST(p.config.limits.unpack.max_inflated_bytes == d.limits.unpack.max_inflated_bytes);
  BOOST_TEST(p.config.limits.parse.max_domain_bytes == d.limits.parse.max_domain_bytes);
}

BOOST_AUTO_TEST_SUITE_END()
