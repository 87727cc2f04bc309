// Diagnosis: findings with a code, a severity, counts, evidence, and advice
// that names the record or setting to change.

#include "dmarcwatch/analysis/diagnosis.h"

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/analysis/domain_report.h"

namespace analysis = dmarcwatch::analysis;
namespace model = dmarcwatch::model;
using analysis::Severity;

namespace {

analysis::AnalysisConfig Config() {
  analysis::AnalysisConfig c;
  c.domains = {"example.com"};
  analysis::DeclaredPath office;
  office.name = "Office MTA";
  office.kind = model::PathKind::kDirect;
  office.ips = {*model::IpNetwork::Parse("192.0.2.0/28")};
  analysis::DeclaredPath sendgrid;
  sendgrid.name = "SendGrid";
  sendgrid.provider = "sendgrid";
  sendgrid.dkim_domains = {"example.com"};
  sendgrid.return_path_domains = {"em1234.example.com"};
  analysis::DeclaredPath ses;
  ses.name = "Amazon SES";
  ses.provider = "amazon-ses";
  ses.dkim_domains = {"example.com"};
  analysis::DeclaredPath cc;
  cc.name = "Newsletter";
  cc.provider = "constant-contact";
  c.paths = {office, sendgrid, ses, cc};
  return c;
}

model::PathTotals Path(const std::string& key, model::PathKind kind, const std::string& name,
                       const std::string& provider) {
  model::PathTotals t;
  t.path = {key, kind, name, provider};
  return t;
}

// The group's own signature, to edit (groups share theirs otherwise).
model::AuthSignature& Sig(model::SourceCounts& g) {
  auto own = std::make_shared<model::AuthSignature>(*g.signature);
  g.signature = own;
  return *own;
}

// One source group: `messages` of which `dkim`/`spf` aligned.
model::SourceCounts Group(const std::string& key, const char* ip, std::uint64_t messages,
                          std::uint64_t dkim_aligned, std::uint64_t spf_aligned) {
  model::SourceCounts g;
  g.path_key = key;
  g.ip = *model::IpAddress::Parse(ip);
  Sig(g).header_from = "example.com";
  g.counts.messages = messages;
  g.counts.dkim_aligned = dkim_aligned;
  g.counts.spf_aligned = spf_aligned;
  g.counts.dmarc_pass = std::max(dkim_aligned, spf_aligned);
  g.counts.rows = 1;
  return g;
}

analysis::DomainContext Context(model::Disposition p = model::Disposition::kNone) {
  analysis::DomainContext ctx;
  ctx.domain = "example.com";
  model::PolicyPublished policy;
  policy.domain = "example.com";
  policy.p = p;
  ctx.policy = policy;
  return ctx;
}

const analysis::Finding* Find(const std::vector<analysis::Finding>& v, const std::string& code) {
  for (const auto& f : v) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

struct Fixture {
  analysis::AnalysisConfig config = Config();
  analysis::Diagnoser diagnoser{config, analysis::Catalog::Builtin()};
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(diagnosis, Fixture)

BOOST_AUTO_TEST_CASE(a_smarthost_signing_with_its_own_domain_is_told_which_records_to_publish) {
  auto path = Path("path:SendGrid", model::PathKind::kSmarthost, "SendGrid", "sendgrid");
  auto g = Group("path:SendGrid", "167.89.118.12", 400, 0, 0);
  Sig(g).envelope_from = "sendgrid.net";
  Sig(g).dkim = {{"sendgrid.info", "smtpapi", model::DkimResult::kPass, {}}};
  Sig(g).spf = {{"sendgrid.net", model::SpfScope::kMfrom, model::SpfResult::kPass, {}}};
  auto findings = diagnoser.DiagnosePath(path, {g}, Context());
  const auto* dkim = Find(findings, "dkim_provider_domain");
  BOOST_REQUIRE(dkim);
  BOOST_TEST((dkim->severity == Severity::kCritical));  // DMARC fails too
  BOOST_TEST(dkim->messages == 400u);
  BOOST_TEST(dkim->sources == 1u);
  BOOST_TEST(dkim->advice.find("s1._domainkey") != std::string::npos, dkim->advice);
  BOOST_TEST(dkim->evidence.dkim.at(0) == "d=sendgrid.info s=smtpapi pass");
  BOOST_TEST(dkim->evidence.ips.at(0) == "167.89.118.12");
  const auto* rp = Find(findings, "return_path_not_aligned");
  BOOST_REQUIRE(rp);
  BOOST_TEST(rp->advice.find("CNAME em") != std::string::npos, rp->advice);
  BOOST_TEST(rp->evidence.envelope_domains.at(0) == "sendgrid.net");
  BOOST_REQUIRE(Find(findings, "policy_readiness"));
  // The most severe finding comes first.
  BOOST_TEST((findings.front().severity == Severity::kCritical));
}

BOOST_AUTO_TEST_CASE(a_return_path_on_the_providers_domain_is_only_informational_when_dkim_aligns) {
  auto path = Path("path:Amazon SES", model::PathKind::kSmarthost, "Amazon SES", "amazon-ses");
  auto g = Group("path:Amazon SES", "54.240.8.97", 500, 500, 0);
  Sig(g).envelope_from = "us-east-1.amazonses.com";
  Sig(g).dkim = {{"example.com", "tok", model::DkimResult::kPass, {}},
                      {"amazonses.com", "tok2", model::DkimResult::kPass, {}}};
  Sig(g).spf = {{"us-east-1.amazonses.com", model::SpfScope::kMfrom,
                      model::SpfResult::kPass, {}}};
  auto findings = diagnoser.DiagnosePath(path, {g}, Context());
  const auto* rp = Find(findings, "return_path_not_aligned");
  BOOST_REQUIRE(rp);
  BOOST_TEST((rp->severity == Severity::kInfo));
  BOOST_TEST(rp->advice.find("MAIL FROM") != std::string::npos, rp->advice);
  BOOST_TEST(!Find(findings, "dkim_provider_domain"));
  BOOST_TEST(!Find(findings, "policy_readiness"));
}

BOOST_AUTO_TEST_CASE(a_dkim_only_provider_is_not_flagged_for_spf) {
  auto path = Path("path:Newsletter", model::PathKind::kSmarthost, "Newsletter", "constant-contact");
  auto g = Group("path:Newsletter", "208.75.123.1", 90, 90, 0);
  Sig(g).envelope_from = "in.constantcontact.com";
  Sig(g).dkim = {{"example.com", "1000073432", model::DkimResult::kPass, {}}};
  Sig(g).spf = {{"in.constantcontact.com", model::SpfScope::kMfrom, model::SpfResult::kPass, {}}};
  auto findings = diagnoser.DiagnosePath(path, {g}, Context());
  BOOST_TEST(findings.empty());
}

BOOST_AUTO_TEST_CASE(a_direct_ip_failing_spf_is_told_the_ip4_mechanism_to_add) {
  auto path = Path("path:Office MTA", model::PathKind::kDirect, "Office MTA", "");
  auto good = Group("path:Office MTA", "192.0.2.1", 270, 270, 270);
  Sig(good).envelope_from = "example.com";
  Sig(good).spf = {{"example.com", model::SpfScope::kMfrom, model::SpfResult::kPass, {}}};
  Sig(good).dkim = {{"example.com", "mta", model::DkimResult::kPass, {}}};
  auto bad = Group("path:Office MTA", "192.0.2.7", 30, 30, 0);
  Sig(bad).envelope_from = "example.com";
  Sig(bad).spf = {{"example.com", model::SpfScope::kMfrom, model::SpfResult::kFail, {}}};
  Sig(bad).dkim = {{"example.com", "mta", model::DkimResult::kPass, {}}};
  auto findings = diagnoser.DiagnosePath(path, {good, bad}, Context());
  const auto* f = Find(findings, "direct_ip_spf_fail");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->messages == 30u);
  BOOST_TEST((f->severity == Severity::kWarning));  // DKIM still carries DMARC
  BOOST_TEST(f->advice.find("ip4:192.0.2.7") != std::string::npos, f->advice);
  BOOST_TEST(f->advice.find("SPF record (TXT) of example.com") != std::string::npos, f->advice);
  BOOST_TEST((f->evidence.ips == std::vector<std::string>{"192.0.2.7"}));
}

BOOST_AUTO_TEST_CASE(an_undeclared_provider_gets_a_configuration_snippet) {
  auto path = Path("undeclared:mailgun", model::PathKind::kUndeclared, "", "mailgun");
  auto g = Group("undeclared:mailgun", "159.135.1.2", 60, 60, 60);
  Sig(g).envelope_from = "mg.example.com";
  Sig(g).dkim = {{"mailgun.org", "mg", model::DkimResult::kPass, {}}};
  auto findings = diagnoser.DiagnosePath(path, {g}, Context());
  const auto* f = Find(findings, "undeclared_provider");
  BOOST_REQUIRE(f);
  BOOST_TEST((f->severity == Severity::kWarning));
  BOOST_TEST(f->advice.find("provider = \"mailgun\"") != std::string::npos, f->advice);
  BOOST_TEST(f->advice.find("return_path_domains = [\"mg.example.com\"]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_failing_sources_are_spoofing_candidates_and_the_policy_matters) {
  auto path = Path("unknown", model::PathKind::kUnknown, "", "");
  auto g = Group("unknown", "185.40.217.150", 100, 0, 0);
  Sig(g).envelope_from = "examp1e-billing.com";
  auto none = diagnoser.DiagnosePath(path, {g}, Context(model::Disposition::kNone));
  const auto* f = Find(none, "unknown_failing");
  BOOST_REQUIRE(f);
  BOOST_TEST((f->severity == Severity::kCritical));
  BOOST_TEST(f->advice.find("p=quarantine") != std::string::npos, f->advice);
  BOOST_TEST(f->advice.find("_dmarc.example.com") != std::string::npos);
  auto reject = diagnoser.DiagnosePath(path, {g}, Context(model::Disposition::kReject));
  BOOST_TEST((Find(reject, "unknown_failing")->severity == Severity::kInfo));
}

BOOST_AUTO_TEST_CASE(evidence_lists_the_ten_addresses_of_most_messages_ties_in_text_order) {
  auto path = Path("unknown", model::PathKind::kUnknown, "", "");
  std::vector<model::SourceCounts> groups;
  for (int i = 1; i <= 14; ++i) {
    groups.push_back(Group("unknown", ("192.0.2." + std::to_string(i)).c_str(), i <= 5 ? 100 : 50,
                           0, 0));
  }
  // A second group (another signature) of .14: 50 + 60 messages, the most.
  auto more = Group("unknown", "192.0.2.14", 60, 0, 0);
  Sig(more).envelope_from = "examp1e-billing.com";
  groups.push_back(more);
  groups.push_back(Group("path:SendGrid", "192.0.2.99", 1000, 0, 0));  // another path's
  auto findings = diagnoser.DiagnosePath(path, groups, Context());
  const auto* f = Find(findings, "unknown_failing");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->sources == 14u);
  BOOST_TEST(f->messages == 5u * 100 + 9 * 50 + 60);
  // After .14, the five of 100, then of the nine of 50 the first five by
  // text: "192.0.2.10" comes before "192.0.2.6".
  const std::vector<std::string> expected = {"192.0.2.14", "192.0.2.1",  "192.0.2.2",
                                             "192.0.2.3",  "192.0.2.4",  "192.0.2.5",
                                             "192.0.2.10", "192.0.2.11", "192.0.2.12",
                                             "192.0.2.13"};
  BOOST_TEST(f->evidence.ips == expected, boost::test_tools::per_element());
  BOOST_TEST(f->evidence.envelope_domains.front() == "examp1e-billing.com");
}

BOOST_AUTO_TEST_CASE(unknown_sources_passing_dmarc_are_a_path_to_declare) {
  auto path = Path("unknown", model::PathKind::kUnknown, "", "");
  auto g = Group("unknown", "203.0.113.5", 12, 12, 12);
  auto findings = diagnoser.DiagnosePath(path, {g}, Context());
  BOOST_REQUIRE(Find(findings, "unknown_passing"));
  BOOST_TEST(!Find(findings, "unknown_failing"));
}

BOOST_AUTO_TEST_CASE(groups_of_other_paths_are_ignored) {
  auto path = Path("path:Office MTA", model::PathKind::kDirect, "Office MTA", "");
  auto other = Group("unknown", "185.40.217.150", 100, 0, 0);
  BOOST_TEST(diagnoser.DiagnosePath(path, {other}, Context()).empty());
}

BOOST_AUTO_TEST_CASE(domain_findings_cover_spf_records_disagreement_and_readiness) {
  std::vector<model::PathTotals> paths;
  auto sg = Path("path:SendGrid", model::PathKind::kSmarthost, "SendGrid", "sendgrid");
  sg.counts.messages = 400;
  sg.counts.disagreements = 7;
  paths.push_back(sg);
  auto ctx = Context();
  ctx.dns_checked = true;
  analysis::SpfExpansion root;
  root.domain = "example.com";
  root.found = true;
  root.lookups = 12;
  root.over_limit = true;
  analysis::SpfExpansion em;
  em.domain = "em1234.example.com";
  em.found = true;
  em.includes = {"amazonses.com"};
  ctx.spf = {root, em};
  auto findings = diagnoser.DiagnoseDomain(paths, ctx);
  const auto* lookups = Find(findings, "spf_too_many_lookups");
  BOOST_REQUIRE(lookups);
  BOOST_TEST(lookups->title.find("12") != std::string::npos);
  const auto* include = Find(findings, "spf_include_missing");
  BOOST_REQUIRE(include);
  BOOST_TEST(include->advice.find("include:sendgrid.net") != std::string::npos, include->advice);
  BOOST_TEST(include->advice.find("em1234.example.com") != std::string::npos);
  const auto* ip = Find(findings, "spf_ip_missing");
  BOOST_REQUIRE(ip);  // the office range is not in example.com's record
  BOOST_TEST(ip->advice.find("ip4:192.0.2.0/28") != std::string::npos, ip->advice);
  const auto* dis = Find(findings, "reporter_disagreement");
  BOOST_REQUIRE(dis);
  BOOST_TEST(dis->messages == 7u);
  const auto* ready = Find(findings, "policy_readiness");
  BOOST_REQUIRE(ready);
  BOOST_TEST(ready->messages == 400u);
}

BOOST_AUTO_TEST_CASE(a_domain_whose_paths_all_pass_is_ready_for_a_stricter_policy) {
  auto sg = Path("path:SendGrid", model::PathKind::kSmarthost, "SendGrid", "sendgrid");
  sg.counts.messages = 400;
  sg.counts.dmarc_pass = 400;
  auto findings = diagnoser.DiagnoseDomain({sg}, Context());
  const auto* ready = Find(findings, "policy_readiness");
  BOOST_REQUIRE(ready);
  BOOST_TEST((ready->severity == Severity::kInfo));
  BOOST_TEST(ready->advice.find("p=quarantine") != std::string::npos);
  BOOST_TEST(!Find(findings, "spf_missing"));  // DNS was not checked
}

BOOST_AUTO_TEST_CASE(the_domain_report_lists_silent_declared_paths_and_puts_failures_first) {
  auto sg = Path("path:SendGrid", model::PathKind::kSmarthost, "SendGrid", "sendgrid");
  sg.counts.messages = 400;
  auto ok = Path("path:Amazon SES", model::PathKind::kSmarthost, "Amazon SES", "amazon-ses");
  ok.counts.messages = 900;
  ok.counts.dmarc_pass = 900;
  ok.counts.dkim_aligned = 900;
  ok.counts.spf_aligned = 900;
  auto g = Group("path:SendGrid", "167.89.118.12", 400, 0, 0);
  Sig(g).dkim = {{"sendgrid.info", "smtpapi", model::DkimResult::kPass, {}}};
  auto report = analysis::BuildDomainReport("example.com", 100, 129, {ok, sg}, {g}, Context(),
                                            config, analysis::Catalog::Builtin());
  BOOST_REQUIRE_EQUAL(report.paths.size(), 4u);  // two silent: Office MTA, Newsletter
  BOOST_TEST(report.paths.front().totals.path.key == "path:SendGrid");
  BOOST_TEST(report.totals.messages == 1300u);
  int silent = 0;
  for (const auto& p : report.paths) silent += p.totals.counts.messages == 0;
  BOOST_TEST(silent == 2);
}

BOOST_AUTO_TEST_SUITE_END()
