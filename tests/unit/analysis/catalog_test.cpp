// The provider catalog: the builtin data file's invariants and the facts the
// analyzer depends on, the lookup rules (label boundaries, wildcards,
// longest match, catalog order), and Parse's errors naming entry, key and
// line.

#include "dmarcwatch/analysis/catalog.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace dmarcwatch::analysis {
namespace {

const Catalog& Builtin() { return Catalog::Builtin(); }

// The id of the provider a lookup found, or "" for none, so a failed check
// prints what was found.
std::string IdOf(const Provider* provider) { return provider ? provider->id : std::string(); }

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

Catalog ParseOrFail(std::string_view text) {
  Result<Catalog> parsed = Catalog::Parse(text);
  if (!parsed.ok()) BOOST_FAIL(parsed.status().ToString());
  return std::move(parsed).value();
}

// Parse must reject `text` with `reason`, and the message must contain every
// fragment (the entry, the key, the line).
void CheckRejected(std::string_view text, std::string_view reason,
                   std::initializer_list<std::string_view> fragments) {
  Result<Catalog> parsed = Catalog::Parse(text);
  BOOST_REQUIRE(!parsed.ok());
  BOOST_TEST(StatusCodeName(parsed.status().code()) == StatusCodeName(StatusCode::kInvalidInput));
  BOOST_TEST(parsed.status().reason() == reason);
  for (std::string_view fragment : fragments) {
    BOOST_TEST(parsed.status().message().find(fragment) != std::string::npos,
               "message \"" << parsed.status().message() << "\" lacks \"" << fragment << "\"");
  }
}

using Lookup = std::function<const Provider*(const Catalog&, std::string_view)>;
using PatternList = std::vector<std::string> Provider::*;

struct LookupKind {
  const char* name;
  Lookup lookup;
  PatternList patterns;
};

const std::vector<LookupKind>& LookupKinds() {
  static const std::vector<LookupKind> kinds = {
      {"dkim", [](const Catalog& c, std::string_view d) { return c.ByDkimDomain(d); },
       &Provider::dkim_domains},
      {"return_path", [](const Catalog& c, std::string_view d) { return c.ByReturnPathDomain(d); },
       &Provider::return_path_domains},
      {"ptr", [](const Catalog& c, std::string_view d) { return c.ByPtr(d); },
       &Provider::ptr_domains},
      {"spf", [](const Catalog& c, std::string_view d) { return c.BySpfInclude(d); },
       &Provider::spf_includes},
  };
  return kinds;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(catalog)

// ---- The builtin data file -------------------------------------------------

BOOST_AUTO_TEST_CASE(builtin_loads_with_at_least_40_providers) {
  BOOST_TEST(Builtin().providers().size() >= 40u);
  // Parsed once: every call returns the same object.
  BOOST_TEST(&Catalog::Builtin() == &Catalog::Builtin());
}

BOOST_AUTO_TEST_CASE(every_builtin_entry_has_name_type_source_and_checked_date) {
  for (const Provider& p : Builtin().providers()) {
    BOOST_TEST_CONTEXT("provider " << p.id) {
      BOOST_TEST(!p.name.empty());
      BOOST_TEST(ToString(p.type) != std::string("unknown"));
      BOOST_TEST(!p.sources.empty());
      BOOST_TEST(IsDate(p.checked));
      BOOST_TEST(!p.notes.empty());
      BOOST_TEST(!p.dkim_setup.empty());
      BOOST_TEST(!p.return_path_setup.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(builtin_ids_are_unique_and_found_by_id) {
  std::set<std::string> seen;
  for (const Provider& p : Builtin().providers()) {
    BOOST_TEST(seen.insert(p.id).second, "duplicate id " << p.id);
    BOOST_TEST(Builtin().ById(p.id) == &p);
  }
  BOOST_TEST(Builtin().ById("no-such-provider") == nullptr);
}

BOOST_AUTO_TEST_CASE(every_builtin_via_names_another_entry) {
  for (const Provider& p : Builtin().providers()) {
    for (const std::string& via : p.via) {
      BOOST_TEST(Builtin().ById(via) != nullptr, p.id << " via " << via);
      BOOST_TEST(via != p.id);
    }
  }
}

// A pattern in two entries of the same list would make one of them dead
// data (the first entry always wins), which is how a collision slips in.
BOOST_AUTO_TEST_CASE(no_two_builtin_entries_claim_the_same_pattern) {
  for (const LookupKind& kind : LookupKinds()) {
    std::set<std::string> seen;
    for (const Provider& p : Builtin().providers()) {
      for (const std::string& pattern : p.*kind.patterns) {
        BOOST_TEST(seen.insert(pattern).second, kind.name << " pattern " << pattern
                                                          << " is claimed twice (" << p.id << ")");
      }
    }
  }
}

// Every pattern finds its own entry, unless a more specific pattern of
// another entry covers it, which the data does on purpose only for
// customer-labelled zones.
BOOST_AUTO_TEST_CASE(every_builtin_pattern_finds_its_own_entry) {
  for (const LookupKind& kind : LookupKinds()) {
    for (const Provider& p : Builtin().providers()) {
      for (const std::string& pattern : p.*kind.patterns) {
        std::string domain = pattern.starts_with("*.") ? "x" + pattern.substr(1) : pattern;
        BOOST_TEST(IdOf(kind.lookup(Builtin(), domain)) == p.id, kind.name << " " << domain);
      }
    }
  }
}

// ---- Facts the analyzer relies on ------------------------------------------

BOOST_AUTO_TEST_CASE(sendgrid_is_found_by_signature_envelope_ptr_and_include) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("sendgrid.info")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("sendgrid.net")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().BySpfInclude("sendgrid.net")) == "sendgrid");
  // The include nests ab.sendgrid.net; a nested include is still SendGrid.
  BOOST_TEST(IdOf(Builtin().BySpfInclude("ab.sendgrid.net")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByPtr("o1.ptr1234.sendgrid.net")) == "sendgrid");
}

BOOST_AUTO_TEST_CASE(tenant_onmicrosoft_signature_is_microsoft_365_but_bare_domain_is_not) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("contoso.onmicrosoft.com")) == "microsoft-365");
  // "*.onmicrosoft.com" needs a tenant label in front.
  BOOST_TEST(Builtin().ByDkimDomain("onmicrosoft.com") == nullptr);
  BOOST_TEST(!DomainMatches("onmicrosoft.com", "*.onmicrosoft.com"));
  BOOST_TEST(IdOf(Builtin().BySpfInclude("spf.protection.outlook.com")) == "microsoft-365");
}

BOOST_AUTO_TEST_CASE(outbound_protection_ptr_is_microsoft_365) {
  BOOST_TEST(IdOf(Builtin().ByPtr("mail-eastus.outbound.protection.outlook.com")) ==
             "microsoft-365");
}

BOOST_AUTO_TEST_CASE(gappssmtp_signature_is_google_workspace) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("example-com.20230601.gappssmtp.com")) ==
             "google-workspace");
  BOOST_TEST(IdOf(Builtin().BySpfInclude("_spf.google.com")) == "google-workspace");
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("calendar-server.bounces.google.com")) ==
             "google-workspace");
  // Cloud customers' VMs are not Gmail.
  BOOST_TEST(Builtin().ByPtr("1.2.3.4.bc.googleusercontent.com") == nullptr);
}

BOOST_AUTO_TEST_CASE(pm_mtasv_net_is_postmark) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("pm.mtasv.net")) == "postmark");
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("pm.mtasv.net")) == "postmark");
  BOOST_TEST(IdOf(Builtin().BySpfInclude("spf.mtasv.net")) == "postmark");
  BOOST_TEST(IdOf(Builtin().ByPtr("mta123a-ord.mtasv.net")) == "postmark");
}

BOOST_AUTO_TEST_CASE(amazonses_signature_and_regional_return_path_are_amazon_ses) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("amazonses.com")) == "amazon-ses");
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("us-east-1.amazonses.com")) == "amazon-ses");
  BOOST_TEST(IdOf(Builtin().BySpfInclude("amazonses.com")) == "amazon-ses");
  BOOST_TEST(IdOf(Builtin().ByPtr("a8-12.smtp-out.eu-west-1.amazonses.com")) == "amazon-ses");
}

BOOST_AUTO_TEST_CASE(resend_runs_on_amazon_ses) {
  const Provider* resend = Builtin().ById("resend");
  BOOST_REQUIRE(resend != nullptr);
  BOOST_TEST(resend->via == std::vector<std::string>{"amazon-ses"});
  // SES's include names the platform it runs on, never Resend.
  BOOST_TEST(IdOf(Builtin().BySpfInclude("amazonses.com")) == "amazon-ses");
}

BOOST_AUTO_TEST_CASE(atlassian_and_github_name_the_platforms_they_send_through) {
  const Provider* atlassian = Builtin().ById("atlassian");
  BOOST_REQUIRE(atlassian != nullptr);
  BOOST_TEST(atlassian->via == std::vector<std::string>{"sparkpost"});
  // Atlassian's labelled SparkPost PTRs are more specific than SparkPost's.
  BOOST_TEST(IdOf(Builtin().ByPtr("mta-1.atlassian.net.sparkpostmail.com")) == "atlassian");
  BOOST_TEST(IdOf(Builtin().ByPtr("mta-10-2.sparkpostmail.com")) == "sparkpost");

  const Provider* github = Builtin().ById("github");
  BOOST_REQUIRE(github != nullptr);
  BOOST_TEST((std::find(github->via.begin(), github->via.end(), "sendgrid") != github->via.end()));
  // GitHub mail that SendGrid signs stays SendGrid's.
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("sendgrid.info")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("sgmail.github.com")) == "github");
}

// The data gives Mailchimp "partial": standard accounts can never move the
// envelope off Mailchimp's domains, only dedicated-IP / enterprise accounts
// can. So dkim_only() (which means "never") is false, and the analyzer must
// treat partial as DKIM-only unless the path was configured with a return
// path of the customer's own.
BOOST_AUTO_TEST_CASE(mailchimp_return_path_is_partial_so_it_aligns_by_dkim_by_default) {
  const Provider* mailchimp = Builtin().ById("mailchimp");
  BOOST_REQUIRE(mailchimp != nullptr);
  BOOST_TEST(ToString(mailchimp->custom_return_path) == std::string("partial"));
  BOOST_TEST(!mailchimp->dkim_only());
  BOOST_TEST(IdOf(Builtin().ByReturnPathDomain("mail123.atl11.mcdlv.net")) == "mailchimp");
  BOOST_TEST(IdOf(Builtin().BySpfInclude("servers.mcsv.net")) == "mailchimp");
}

BOOST_AUTO_TEST_CASE(constant_contact_and_mimecast_are_dkim_only) {
  std::vector<std::string> dkim_only;
  for (const Provider& p : Builtin().providers()) {
    if (p.dkim_only()) dkim_only.push_back(p.id);
  }
  BOOST_TEST(dkim_only == (std::vector<std::string>{"constant-contact", "mimecast"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lookalike_domains_match_nothing) {
  for (const LookupKind& kind : LookupKinds()) {
    BOOST_TEST(kind.lookup(Builtin(), "badsendgrid.net") == nullptr, kind.name);
    BOOST_TEST(kind.lookup(Builtin(), "sendgrid.net.evil.example") == nullptr, kind.name);
    BOOST_TEST(kind.lookup(Builtin(), "") == nullptr, kind.name);
    BOOST_TEST(kind.lookup(Builtin(), ".") == nullptr, kind.name);
  }
}

BOOST_AUTO_TEST_CASE(lookups_ignore_case_and_a_trailing_dot) {
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("SendGrid.INFO.")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByPtr("O1.Ptr1234.SENDGRID.net")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByDkimDomain("Contoso.OnMicrosoft.Com.")) == "microsoft-365");
}

// Report data is hostile: a name longer than DNS allows still resolves by
// its tail, without overrunning anything.
BOOST_AUTO_TEST_CASE(overlong_names_are_matched_by_their_tail) {
  std::string labels;
  for (int i = 0; i < 60; ++i) labels += "abcdefgh.";
  BOOST_TEST(IdOf(Builtin().ByPtr(labels + "sendgrid.net")) == "sendgrid");
  BOOST_TEST(IdOf(Builtin().ByDkimDomain(labels + "onmicrosoft.com")) == "microsoft-365");
  BOOST_TEST(Builtin().ByPtr(std::string(1000, 'a') + "sendgrid.net") == nullptr);
  BOOST_TEST(Builtin().ByPtr(std::string(1000, '.')) == nullptr);
}

// Whatever a lookup returns, DomainMatches agrees: the provider found has a
// pattern covering the name, and "nothing" means no pattern covers it.
BOOST_AUTO_TEST_CASE(lookups_agree_with_domain_matches) {
  const std::vector<std::string> names = {
      "sendgrid.net", "a.b.sendgrid.net", "sendgrid.info", "onmicrosoft.com",
      "x.onmicrosoft.com", "outlook.com", "mail-a.outbound.protection.outlook.com",
      "google.com", "mail-x.google.com", "x.gappssmtp.com", "gappssmtp.com",
      "mtasv.net", "pm.mtasv.net", "spf.mtasv.net", "x.pm.mtasv.net", "github.com",
      "sgmail.github.com", "mta-1.atlassian.net.sparkpostmail.com", "sparkpostmail.com",
      "zoho.com", "zoho.com.au", "com.au", "com", "net", "example.com", "a..sendgrid.net",
      "pphosted.com", "mx0a-001.pphosted.com", "us._netblocks.mimecast.com"};
  for (const LookupKind& kind : LookupKinds()) {
    for (const std::string& name : names) {
      const Provider* found = kind.lookup(Builtin(), name);
      if (found != nullptr) {
        const std::vector<std::string>& patterns = found->*kind.patterns;
        BOOST_TEST(std::any_of(patterns.begin(), patterns.end(),
                               [&](const std::string& p) { return DomainMatches(name, p); }),
                   kind.name << " " << name << " -> " << found->id);
      } else {
        for (const Provider& p : Builtin().providers()) {
          for (const std::string& pattern : p.*kind.patterns) {
            BOOST_TEST(!DomainMatches(name, pattern),
                       kind.name << " " << name << " missed " << p.id << " " << pattern);
          }
        }
      }
    }
  }
}

// ---- Matching rules --------------------------------------------------------

BOOST_AUTO_TEST_CASE(domain_matches_on_label_boundaries) {
  struct Row {
    std::string_view domain;
    std::string_view pattern;
    bool matches;
  };
  const Row rows[] = {
      {"example.net", "example.net", true},
      {"mail.example.net", "example.net", true},
      {"a.b.example.net", "example.net", true},
      {"badexample.net", "example.net", false},
      {"example.net.evil.test", "example.net", false},
      {"net", "example.net", false},
      {"EXAMPLE.Net", "example.net", true},
      {"example.net.", "example.net", true},
      {"example.net", "example.net.", true},
      {"a.onmicrosoft.com", "*.onmicrosoft.com", true},
      {"a.b.onmicrosoft.com", "*.onmicrosoft.com", true},
      {"onmicrosoft.com", "*.onmicrosoft.com", false},
      {".onmicrosoft.com", "*.onmicrosoft.com", false},
      {"xonmicrosoft.com", "*.onmicrosoft.com", false},
      {"A.OnMicrosoft.COM.", "*.onmicrosoft.com", true},
      {"", "example.net", false},
      {"example.net", "", false},
      {"example.net", "*.", false},
      {"", "", false},
  };
  for (const Row& row : rows) {
    BOOST_TEST(DomainMatches(row.domain, row.pattern) == row.matches,
               "\"" << row.domain << "\" vs \"" << row.pattern << "\"");
  }
}

BOOST_AUTO_TEST_CASE(longest_match_wins) {
  const Catalog catalog = ParseOrFail(R"(
[[provider]]
id = "broad"
name = "Broad"
type = "transactional"
ptr_domains = ["example.net"]
dkim_domains = ["*.example.net"]

[[provider]]
id = "narrow"
name = "Narrow"
type = "saas"
ptr_domains = ["mail.example.net"]
dkim_domains = ["mail.example.net"]
)");
  BOOST_TEST(IdOf(catalog.ByPtr("mail.example.net")) == "narrow");
  BOOST_TEST(IdOf(catalog.ByPtr("o1.mail.example.net")) == "narrow");
  BOOST_TEST(IdOf(catalog.ByPtr("other.example.net")) == "broad");
  BOOST_TEST(IdOf(catalog.ByPtr("example.net")) == "broad");
  BOOST_TEST(IdOf(catalog.ByPtr("mailexample.net")) == "");
  // "mail.example.net" covers more labels than "*.example.net".
  BOOST_TEST(IdOf(catalog.ByDkimDomain("x.mail.example.net")) == "narrow");
  BOOST_TEST(IdOf(catalog.ByDkimDomain("x.example.net")) == "broad");
  BOOST_TEST(IdOf(catalog.ByDkimDomain("example.net")) == "");
}

BOOST_AUTO_TEST_CASE(wildcard_wins_over_plain_pattern_on_the_same_domain) {
  const Catalog catalog = ParseOrFail(R"(
[[provider]]
id = "plain"
name = "Plain"
type = "saas"
dkim_domains = ["example.net"]

[[provider]]
id = "wild"
name = "Wild"
type = "saas"
dkim_domains = ["*.example.net"]
)");
  BOOST_TEST(IdOf(catalog.ByDkimDomain("example.net")) == "plain");
  BOOST_TEST(IdOf(catalog.ByDkimDomain("a.example.net")) == "wild");
}

BOOST_AUTO_TEST_CASE(equal_patterns_go_to_the_first_entry) {
  const Catalog catalog = ParseOrFail(R"(
[[provider]]
id = "first"
name = "First"
type = "saas"
spf_includes = ["spf.example.net"]

[[provider]]
id = "second"
name = "Second"
type = "saas"
spf_includes = ["spf.example.net"]
)");
  BOOST_TEST(IdOf(catalog.BySpfInclude("spf.example.net")) == "first");
}

BOOST_AUTO_TEST_CASE(copied_catalog_answers_from_its_own_providers) {
  const Catalog original = ParseOrFail(R"(
[[provider]]
id = "one"
name = "One"
type = "saas"
ptr_domains = ["one.example"]
)");
  const Catalog copy = original;
  BOOST_TEST(copy.ByPtr("x.one.example") == &copy.providers()[0]);
  BOOST_TEST(copy.ById("one") == &copy.providers()[0]);
}

// ---- Parsing ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parses_every_key) {
  const Catalog catalog = ParseOrFail(R"(
[[provider]]
id = "base"
name = "Base"
type = "mailbox"

[[provider]]
id = "full-1"
name = "Full"
type = "gateway"
spf_includes = ["_spf.example.net"]
dkim_domains = ["*.example.org"]
dkim_setup = "Publish a CNAME."
return_path_domains = ["bounce.example.net"]
custom_return_path = "n/a"
return_path_setup = "Nothing to do."
ptr_domains = ["out.example.net"]
via = ["base"]
sources = ["https://example.net/doc", "hdr:1"]
checked = 2026-10-07
notes = "A pitfall."
)");
  BOOST_REQUIRE_EQUAL(catalog.providers().size(), 2u);
  const Provider& p = catalog.providers()[1];
  BOOST_TEST(p.id == "full-1");
  BOOST_TEST(p.name == "Full");
  BOOST_TEST(ToString(p.type) == std::string("gateway"));
  BOOST_TEST(p.spf_includes == std::vector<std::string>{"_spf.example.net"});
  BOOST_TEST(p.dkim_domains == std::vector<std::string>{"*.example.org"});
  BOOST_TEST(p.dkim_setup == "Publish a CNAME.");
  BOOST_TEST(p.return_path_domains == std::vector<std::string>{"bounce.example.net"});
  BOOST_TEST(ToString(p.custom_return_path) == std::string("n/a"));
  BOOST_TEST(p.return_path_setup == "Nothing to do.");
  BOOST_TEST(p.ptr_domains == std::vector<std::string>{"out.example.net"});
  BOOST_TEST(p.via == std::vector<std::string>{"base"});
  BOOST_TEST(p.sources.size() == 2u);
  // A bare TOML date is kept in the same form as a quoted one.
  BOOST_TEST(p.checked == "2026-10-07");
  BOOST_TEST(p.notes == "A pitfall.");
  // Omitted keys keep their defaults.
  BOOST_TEST(ToString(catalog.providers()[0].custom_return_path) == std::string("unknown"));
  BOOST_TEST(catalog.providers()[0].checked.empty());
}

BOOST_AUTO_TEST_CASE(empty_file_is_an_empty_catalog) {
  const Catalog catalog = ParseOrFail("# nothing yet\n");
  BOOST_TEST(catalog.providers().empty());
  BOOST_TEST(catalog.ByPtr("mail.example.net") == nullptr);
  BOOST_TEST(catalog.ById("x") == nullptr);
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_id) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"

[[provider]]
id = "a"
name = "A again"
type = "saas"
)",
                "catalog_duplicate_id",
                {"provider \"a\" (entry 2)", "key \"id\"", "line 7", "entry 1"});
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"
dkim_domain = ["a.example"]
)",
                "catalog_unknown_key", {"provider \"a\" (entry 1)", "key \"dkim_domain\"", "line 5"});
}

BOOST_AUTO_TEST_CASE(rejects_unknown_type_word) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "esp"
)",
                "catalog_bad_value",
                {"provider \"a\" (entry 1)", "key \"type\"", "line 4", "\"esp\""});
}

BOOST_AUTO_TEST_CASE(rejects_unknown_custom_return_path_word) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"
custom_return_path = "maybe"
)",
                "catalog_bad_value",
                {"provider \"a\" (entry 1)", "key \"custom_return_path\"", "line 5", "\"maybe\""});
}

BOOST_AUTO_TEST_CASE(rejects_via_to_a_missing_id) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"

[[provider]]
id = "b"
name = "B"
type = "saas"
via = ["a",
       "c"]
)",
                "catalog_unknown_via", {"provider \"b\" (entry 2)", "key \"via\"", "line 11", "\"c\""});
}

BOOST_AUTO_TEST_CASE(rejects_upper_case_domain) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"
ptr_domains = [
  "mail.example.net",
  "Mail.Example.com",
]
)",
                "catalog_bad_value",
                {"provider \"a\" (entry 1)", "key \"ptr_domains\"", "line 7", "lower-case"});
}

BOOST_AUTO_TEST_CASE(rejects_malformed_domains) {
  const char* const bad[] = {"example.net.", "com", "*.com", "a..example.net", "a.*.example.net",
                             "mail example.net", "", "*example.net"};
  for (const char* domain : bad) {
    const std::string text = std::string("[[provider]]\nid = \"a\"\nname = \"A\"\ntype = \"saas\"\n") +
                             "dkim_domains = [\"" + domain + "\"]\n";
    BOOST_TEST_CONTEXT("domain \"" << domain << "\"") {
      CheckRejected(text, "catalog_bad_value", {"provider \"a\"", "key \"dkim_domains\"", "line 5"});
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_missing_required_keys) {
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
type = "saas"

[[provider]]
name = "No id"
type = "saas"
)",
                "catalog_missing_key", {"provider entry 2", "key \"id\"", "line 6"});
  CheckRejected(R"([[provider]]
id = "a"
name = "A"
)",
                "catalog_missing_key", {"provider \"a\" (entry 1)", "key \"type\"", "line 1"});
}

BOOST_AUTO_TEST_CASE(rejects_bad_ids_and_dates_and_wrong_value_types) {
  CheckRejected("[[provider]]\nid = \"SendGrid\"\nname = \"A\"\ntype = \"saas\"\n",
                "catalog_bad_value", {"key \"id\"", "line 2"});
  CheckRejected("[[provider]]\nid = \"a\"\nname = \"A\"\ntype = \"saas\"\nchecked = \"7 Oct\"\n",
                "catalog_bad_value", {"key \"checked\"", "line 5"});
  CheckRejected("[[provider]]\nid = \"a\"\nname = \"A\"\ntype = \"saas\"\nsources = \"x\"\n",
                "catalog_bad_value", {"key \"sources\"", "line 5", "array of strings"});
  CheckRejected("[[provider]]\nid = \"a\"\nname = \"A\"\ntype = \"saas\"\nvia = [\"a\"]\n",
                "catalog_bad_value", {"key \"via\"", "line 5", "itself"});
  CheckRejected("[[provider]]\nid = \"a\"\nname = 7\ntype = \"saas\"\n", "catalog_bad_value",
                {"key \"name\"", "line 3", "string"});
}

BOOST_AUTO_TEST_CASE(rejects_unknown_top_level_key_and_toml_syntax_errors) {
  CheckRejected("version = 2\n", "catalog_unknown_key", {"\"version\"", "line 1"});
  CheckRejected("[provider]\nid = \"a\"\n", "catalog_bad_value", {"[[provider]]", "line 1"});
  CheckRejected("[[provider]]\nid = \"a\"\nname = \"A\ntype = \"saas\"\n", "catalog_syntax",
                {"line 3"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::analysis
