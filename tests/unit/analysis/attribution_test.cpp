// Attribution, rule by rule (attribution.h, docs/attribution.md).

#include "dmarcwatch/analysis/attribution.h"

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/analysis/analyzer.h"

namespace analysis = dmarcwatch::analysis;
namespace model = dmarcwatch::model;
using analysis::PathKind;
using analysis::Rule;

namespace {

analysis::AnalysisConfig Config() {
  analysis::AnalysisConfig c;
  c.domains = {"example.com"};
  analysis::DeclaredPath office;
  office.name = "Office MTA";
  office.kind = PathKind::kDirect;
  office.ips = {*model::IpNetwork::Parse("192.0.2.0/28"), *model::IpNetwork::Parse("2001:db8:10::/64")};
  office.dkim_domains = {"example.com"};
  analysis::DeclaredPath sendgrid;
  sendgrid.name = "SendGrid";
  sendgrid.provider = "sendgrid";
  sendgrid.dkim_domains = {"example.com"};
  sendgrid.dkim_selectors = {"s1", "s2"};
  sendgrid.return_path_domains = {"em1234.example.com"};
  analysis::DeclaredPath resend;
  resend.name = "Resend";
  resend.provider = "resend";
  resend.dkim_domains = {"example.com"};
  c.paths = {office, sendgrid, resend};
  return c;
}

model::Record Row(const char* ip) {
  model::Record r;
  r.source_ip = *model::IpAddress::Parse(ip);
  r.count = 3;
  r.identifiers.header_from = "example.com";
  return r;
}

struct Fixture {
  analysis::AnalysisConfig config = Config();
  std::unique_ptr<analysis::Analyzer> analyzer =
      std::move(*analysis::Analyzer::Create(config, analysis::Catalog::Builtin()));
  model::PolicyPublished policy = [] {
    model::PolicyPublished p;
    p.domain = "example.com";
    return p;
  }();

  model::RecordAnalysis Run(const model::Record& r, const analysis::IpDnsEvidence* dns = nullptr) {
    analysis::DnsEvidenceLookup lookup;
    if (dns != nullptr) lookup = [dns](const model::IpAddress&) { return dns; };
    return analyzer->AnalyzeRecord(r, policy, lookup);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(attribution, Fixture)

BOOST_AUTO_TEST_CASE(rule_1_a_declared_ip_claims_the_row_whatever_else_it_says) {
  auto r = Row("192.0.2.7");
  r.auth_results.dkim.push_back({"sendgrid.info", "smtpapi", model::DkimResult::kPass, {}});
  r.policy_evaluated.reasons.push_back({model::PolicyOverride::kForwarded, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "path:Office MTA");
  BOOST_TEST((a.kind == PathKind::kDirect));
  BOOST_TEST(a.rule == 1);
  BOOST_TEST(a.evidence.find("192.0.2.0/28") != std::string::npos);
  BOOST_TEST(Run(Row("2001:db8:10::25")).path_key == "path:Office MTA");
  BOOST_TEST(Run(Row("192.0.2.16")).path_key != "path:Office MTA");
}

BOOST_AUTO_TEST_CASE(rule_2_forwarding_reasons_make_a_forwarder) {
  for (auto type : {model::PolicyOverride::kForwarded, model::PolicyOverride::kMailingList,
                    model::PolicyOverride::kTrustedForwarder}) {
    auto r = Row("198.51.100.20");
    r.auth_results.dkim.push_back({"sendgrid.info", "smtpapi", model::DkimResult::kPass, {}});
    r.policy_evaluated.reasons.push_back({type, {}});
    auto a = Run(r);
    BOOST_TEST((a.kind == PathKind::kForwarder));
    BOOST_TEST(a.rule == 2);
  }
  auto local = Row("198.51.100.20");
  local.policy_evaluated.reasons.push_back({model::PolicyOverride::kLocalPolicy, {}});
  BOOST_TEST(Run(local).rule != 2);  // local_policy says nothing about forwarding
}

BOOST_AUTO_TEST_CASE(rule_3_a_providers_own_dkim_domain_names_the_declared_path) {
  auto r = Row("167.89.118.12");
  r.auth_results.dkim.push_back({"sendgrid.info", "smtpapi", model::DkimResult::kFail, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "path:SendGrid");
  BOOST_TEST((a.kind == PathKind::kSmarthost));
  BOOST_TEST(a.provider == "sendgrid");
  BOOST_TEST(a.rule == 3);
}

BOOST_AUTO_TEST_CASE(rule_3_an_undeclared_provider_is_undeclared_with_its_id) {
  auto r = Row("159.135.1.2");
  r.auth_results.dkim.push_back({"mailgun.org", "mg", model::DkimResult::kPass, {}});
  r.auth_results.dkim.push_back({"mg.example.com", "krs", model::DkimResult::kPass, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "undeclared:mailgun");
  BOOST_TEST((a.kind == PathKind::kUndeclared));
  BOOST_TEST(a.rule == 3);
}

BOOST_AUTO_TEST_CASE(rule_3_a_declared_selector_on_a_declared_domain_claims_a_passing_row) {
  auto r = Row("203.0.113.9");
  r.auth_results.dkim.push_back({"example.com", "s2", model::DkimResult::kPass, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "path:SendGrid");
  BOOST_TEST(a.rule == 3);
  BOOST_TEST(a.evidence == "dkim d=example.com s=s2");
}

BOOST_AUTO_TEST_CASE(rule_3_a_forged_failing_signature_with_a_declared_selector_claims_nothing) {
  auto r = Row("203.0.113.9");
  r.auth_results.dkim.push_back({"example.com", "s1", model::DkimResult::kFail, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "unknown");
  BOOST_TEST(a.rule == 6);
}

BOOST_AUTO_TEST_CASE(rule_3_a_declared_return_path_domain_and_its_subdomains_claim_the_row) {
  auto r = Row("203.0.113.9");
  r.identifiers.envelope_from = "bounces.em1234.example.com";
  r.auth_results.spf.push_back({"bounces.em1234.example.com", model::SpfScope::kMfrom,
                                model::SpfResult::kPass, {}});
  BOOST_TEST(Run(r).path_key == "path:SendGrid");
}

BOOST_AUTO_TEST_CASE(rule_3_a_providers_bounce_domain_claims_the_row) {
  auto r = Row("203.0.113.9");
  r.auth_results.spf.push_back({"sendgrid.net", model::SpfScope::kMfrom, model::SpfResult::kPass, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "path:SendGrid");
  BOOST_TEST(a.evidence == "envelope sendgrid.net");
}

BOOST_AUTO_TEST_CASE(rule_3_evidence_for_a_platform_goes_to_the_path_running_on_it) {
  // Resend runs on Amazon SES: amazonses.com evidence belongs to the Resend path.
  auto r = Row("54.240.8.97");
  r.auth_results.dkim.push_back({"amazonses.com", "abc", model::DkimResult::kPass, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "path:Resend");
  BOOST_TEST(a.provider == "resend");
}

BOOST_AUTO_TEST_CASE(rule_3_prefers_the_provider_a_path_declares_among_several) {
  // GitHub mail relayed through SendGrid: both sign; SendGrid is declared.
  auto r = Row("192.30.252.1");
  r.auth_results.dkim.push_back({"github.com", "pf2014", model::DkimResult::kPass, {}});
  r.auth_results.dkim.push_back({"sendgrid.info", "smtpapi", model::DkimResult::kPass, {}});
  BOOST_TEST(Run(r).path_key == "path:SendGrid");
}

BOOST_AUTO_TEST_CASE(declared_dkim_domains_alone_never_claim_a_row) {
  // Every forwarded message carries d=example.com; without a selector match
  // it says nothing about the path.
  auto r = Row("198.51.100.77");
  r.auth_results.dkim.push_back({"example.com", "other", model::DkimResult::kFail, {}});
  BOOST_TEST(Run(r).path_key == "unknown");
}

BOOST_AUTO_TEST_CASE(rule_4_an_intact_aligned_signature_with_unaligned_spf_is_forwarded) {
  auto r = Row("198.51.100.77");
  r.auth_results.dkim.push_back({"example.com", "mta", model::DkimResult::kPass, {}});
  r.auth_results.spf.push_back({"example.com", model::SpfScope::kMfrom, model::SpfResult::kFail, {}});
  auto a = Run(r);
  BOOST_TEST((a.kind == PathKind::kForwarder));
  BOOST_TEST(a.rule == 4);
  BOOST_TEST(a.dkim_aligned);
  BOOST_TEST(!a.spf_aligned);
}

BOOST_AUTO_TEST_CASE(rule_4_does_not_apply_when_spf_aligns_too) {
  auto r = Row("198.51.100.77");
  r.auth_results.dkim.push_back({"example.com", "mta", model::DkimResult::kPass, {}});
  r.auth_results.spf.push_back({"example.com", model::SpfScope::kMfrom, model::SpfResult::kPass, {}});
  auto a = Run(r);
  BOOST_TEST(a.rule == 6);
  BOOST_TEST(a.dmarc_pass);
}

BOOST_AUTO_TEST_CASE(rule_5_an_spf_include_of_a_declared_path_claims_the_ip) {
  auto r = Row("167.89.1.1");
  analysis::IpDnsEvidence dns;
  dns.spf_paths = {1};
  auto a = Run(r, &dns);
  BOOST_TEST(a.path_key == "path:SendGrid");
  BOOST_TEST(a.rule == 5);
}

BOOST_AUTO_TEST_CASE(rule_5_a_confirmed_ptr_under_a_providers_domain_names_it) {
  auto r = Row("40.107.22.51");
  analysis::IpDnsEvidence dns;
  dns.confirmed_ptrs = {"mail-eastus.outbound.protection.outlook.com"};
  auto a = Run(r, &dns);
  BOOST_TEST(a.path_key == "undeclared:microsoft-365");
  BOOST_TEST(a.rule == 5);
  dns.confirmed_ptrs = {"host.customer.example.org"};
  BOOST_TEST(Run(r, &dns).path_key == "unknown");
}

BOOST_AUTO_TEST_CASE(rule_5_comes_after_rule_4) {
  auto r = Row("198.51.100.77");
  r.auth_results.dkim.push_back({"example.com", "mta", model::DkimResult::kPass, {}});
  analysis::IpDnsEvidence dns;
  dns.spf_paths = {1};
  BOOST_TEST(Run(r, &dns).rule == 4);
}

BOOST_AUTO_TEST_CASE(rule_6_anything_else_is_unknown) {
  auto r = Row("185.40.217.150");
  r.auth_results.spf.push_back({"examp1e-billing.com", model::SpfScope::kMfrom,
                                model::SpfResult::kFail, {}});
  auto a = Run(r);
  BOOST_TEST(a.path_key == "unknown");
  BOOST_TEST((a.kind == PathKind::kUnknown));
  BOOST_TEST(a.rule == 6);
  BOOST_TEST(!a.dmarc_pass);
}

BOOST_AUTO_TEST_CASE(a_provider_the_catalog_does_not_know_is_refused) {
  auto c = Config();
  c.paths[1].provider = "no-such-provider";
  auto a = analysis::Analyzer::Create(c, analysis::Catalog::Builtin());
  BOOST_REQUIRE(!a.ok());
  BOOST_TEST(a.status().message().find("no-such-provider") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_fingerprint_changes_with_anything_that_changes_attribution) {
  const std::string base = Config().Fingerprint();
  BOOST_TEST(base == Config().Fingerprint());
  auto c = Config();
  c.paths[0].ips.push_back(*model::IpNetwork::Parse("198.51.100.0/24"));
  BOOST_TEST(c.Fingerprint() != base);
  c = Config();
  c.paths[1].dkim_selectors = {"s1"};
  BOOST_TEST(c.Fingerprint() != base);
  c = Config();
  c.paths[1].name = "Marketing";
  BOOST_TEST(c.Fingerprint() != base);
}

BOOST_AUTO_TEST_SUITE_END()
