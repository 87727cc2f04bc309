// Alignment recomputed from identifiers, auth_results and adkim/aspf
// (RFC 7489 §3.1), with organisational domains from the Public Suffix List.

#include "dmarcwatch/analysis/alignment.h"

#include <boost/test/unit_test.hpp>

namespace analysis = dmarcwatch::analysis;
namespace model = dmarcwatch::model;

namespace {

analysis::OrgDomains& Org() {
  static analysis::OrgDomains org = std::move(*analysis::OrgDomains::Create());
  return org;
}

model::Record Row(const std::string& header_from) {
  model::Record r;
  r.source_ip = *model::IpAddress::Parse("192.0.2.1");
  r.count = 1;
  r.identifiers.header_from = header_from;
  return r;
}

void Dkim(model::Record& r, const std::string& d, model::DkimResult result) {
  r.auth_results.dkim.push_back({d, "s1", result, std::nullopt});
}

void Spf(model::Record& r, const std::string& d, model::SpfResult result,
         model::SpfScope scope = model::SpfScope::kMfrom) {
  r.auth_results.spf.push_back({d, scope, result, std::nullopt});
}

model::PolicyPublished Policy(model::Alignment adkim, model::Alignment aspf) {
  model::PolicyPublished p;
  p.domain = "example.com";
  p.adkim = adkim;
  p.aspf = aspf;
  return p;
}

const model::PolicyPublished kRelaxed = Policy(model::Alignment::kRelaxed, model::Alignment::kRelaxed);
const model::PolicyPublished kStrict = Policy(model::Alignment::kStrict, model::Alignment::kStrict);

}  // namespace

BOOST_AUTO_TEST_SUITE(alignment)

BOOST_AUTO_TEST_CASE(organisational_domains_follow_the_public_suffix_list) {
  BOOST_TEST(Org().Of("mail.example.com") == "example.com");
  BOOST_TEST(Org().Of("a.b.example.co.uk") == "example.co.uk");
  BOOST_TEST(Org().Of("Example.COM.") == "example.com");
  BOOST_TEST(Org().Of("co.uk") == "co.uk");  // a public suffix is its own
}

BOOST_AUTO_TEST_CASE(relaxed_aligns_subdomains_strict_only_equal_names) {
  using model::Alignment;
  BOOST_TEST(Org().Aligned("em1234.example.com", "example.com", Alignment::kRelaxed));
  BOOST_TEST(!Org().Aligned("em1234.example.com", "example.com", Alignment::kStrict));
  BOOST_TEST(Org().Aligned("EXAMPLE.com", "example.com", Alignment::kStrict));
  BOOST_TEST(!Org().Aligned("example.co.uk", "other.co.uk", Alignment::kRelaxed));
  BOOST_TEST(!Org().Aligned("", "example.com", Alignment::kRelaxed));
  BOOST_TEST(!Org().Aligned("sendgrid.net", "example.com", Alignment::kRelaxed));
}

BOOST_AUTO_TEST_CASE(an_aligned_dkim_pass_passes_dmarc) {
  auto r = Row("example.com");
  Dkim(r, "sendgrid.info", model::DkimResult::kPass);
  Dkim(r, "example.com", model::DkimResult::kPass);
  Spf(r, "sendgrid.net", model::SpfResult::kPass);
  auto a = analysis::Align(r, kRelaxed, Org());
  BOOST_TEST(a.dkim_aligned);
  BOOST_TEST(a.aligned_dkim == 1);
  BOOST_TEST(!a.spf_aligned);
  BOOST_TEST(a.spf_pass == 0);
  BOOST_TEST(a.dmarc_pass);
}

BOOST_AUTO_TEST_CASE(a_failing_or_unaligned_signature_does_not) {
  auto r = Row("example.com");
  Dkim(r, "example.com", model::DkimResult::kFail);
  Dkim(r, "sendgrid.info", model::DkimResult::kPass);
  auto a = analysis::Align(r, kRelaxed, Org());
  BOOST_TEST(!a.dkim_aligned);
  BOOST_TEST(!a.dmarc_pass);
}

BOOST_AUTO_TEST_CASE(spf_counts_only_for_mfrom_or_unspecified_scope) {
  auto helo = Row("example.com");
  Spf(helo, "example.com", model::SpfResult::kPass, model::SpfScope::kHelo);
  BOOST_TEST(!analysis::Align(helo, kRelaxed, Org()).spf_aligned);
  auto unspecified = Row("example.com");
  Spf(unspecified, "bounce.example.com", model::SpfResult::kPass, model::SpfScope::kUnspecified);
  BOOST_TEST(analysis::Align(unspecified, kRelaxed, Org()).spf_aligned);
  BOOST_TEST(!analysis::Align(unspecified, kStrict, Org()).spf_aligned);
}

BOOST_AUTO_TEST_CASE(spf_softfail_is_not_a_pass) {
  auto r = Row("example.com");
  Spf(r, "example.com", model::SpfResult::kSoftFail);
  BOOST_TEST(!analysis::Align(r, kRelaxed, Org()).spf_aligned);
}

BOOST_AUTO_TEST_CASE(an_empty_spf_domain_falls_back_to_envelope_from) {
  auto r = Row("example.com");
  r.identifiers.envelope_from = "mail.example.com";
  Spf(r, "", model::SpfResult::kPass);
  BOOST_TEST(analysis::Align(r, kRelaxed, Org()).spf_aligned);
}

BOOST_AUTO_TEST_CASE(absent_adkim_and_aspf_mean_relaxed) {
  auto r = Row("example.com");
  Dkim(r, "mg.example.com", model::DkimResult::kPass);
  model::PolicyPublished p;
  p.domain = "example.com";
  BOOST_TEST(analysis::Align(r, p, Org()).dkim_aligned);
}

BOOST_AUTO_TEST_CASE(reporter_disagreement_is_counted_only_where_the_reporter_said) {
  auto r = Row("example.com");
  Dkim(r, "example.com", model::DkimResult::kPass);
  r.policy_evaluated.dkim = model::DmarcResult::kFail;  // the reporter says fail
  r.policy_evaluated.spf = model::DmarcResult::kFail;
  BOOST_TEST(analysis::Align(r, kRelaxed, Org()).reporter_disagrees);
  r.policy_evaluated.dkim = model::DmarcResult::kPass;
  BOOST_TEST(!analysis::Align(r, kRelaxed, Org()).reporter_disagrees);
  r.policy_evaluated.dkim = model::DmarcResult::kUnknown;
  r.policy_evaluated.spf = model::DmarcResult::kUnknown;
  BOOST_TEST(!analysis::Align(r, kRelaxed, Org()).reporter_disagrees);
}

BOOST_AUTO_TEST_SUITE_END()
