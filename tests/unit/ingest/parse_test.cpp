// Parse: RFC 7489 appendix C / RFC 9990 XML into model::Report, lenient where
// the data is intact, strict where it is not.

#include "dmarcwatch/ingest/parse.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dmarcwatch/ingest/unpack.h"
#include "parse_internal.h"  // private to ingest; the test binary has ingest/src on its path
#include "xml_scan.h"

namespace ingest = dmarcwatch::ingest;
namespace model = dmarcwatch::model;
using dmarcwatch::StatusCode;

namespace {

// A minimal, valid report; tests replace parts of it.
struct Doc {
  std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string root_open = "<feedback>";
  std::string version = "<version>1.0</version>";
  std::string metadata =
      "<report_metadata><org_name>google.com</org_name>"
      "<email>noreply-dmarc-support@google.com</email>"
      "<report_id>12345</report_id>"
      "<date_range><begin>1718236800</begin><end>1718323199</end></date_range>"
      "</report_metadata>";
  std::string policy =
      "<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>s</aspf>"
      "<p>none</p><sp>quarantine</sp><pct>100</pct></policy_published>";
  std::string records =
      "<record><row><source_ip>192.0.2.1</source_ip><count>7</count>"
      "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>"
      "</policy_evaluated></row>"
      "<identifiers><header_from>example.com</header_from>"
      "<envelope_from>bounces.example.com</envelope_from></identifiers>"
      "<auth_results><dkim><domain>example.com</domain><selector>s1</selector>"
      "<result>pass</result></dkim>"
      "<spf><domain>bounces.example.com</domain><scope>mfrom</scope><result>fail</result></spf>"
      "</auth_results></record>";
  std::string root_close = "</feedback>";

  std::string str() const {
    return decl + root_open + version + metadata + policy + records + root_close;
  }
};

dmarcwatch::Result<model::Report> Parse(const std::string& xml,
                                        const ingest::ParseLimits& limits = {}) {
  return ingest::ParseAggregateReport(xml, limits);
}

bool HasWarning(const model::Report& r, const std::string& code) {
  for (const auto& w : r.warnings) {
    if (w.code == code) return true;
  }
  return false;
}

// Everything a parse returned, as one comparable line: the status, or the
// content digest (metadata, policy, records) with what it leaves out.
std::string Describe(const dmarcwatch::Result<model::Report>& r) {
  if (!r.ok()) {
    return std::string(dmarcwatch::StatusCodeName(r.status().code())) + " " + r.status().reason() +
           ": " + r.status().message();
  }
  std::string out = "ok " + ingest::ContentDigest(*r) +
                    " records=" + std::to_string(r->records.size()) +
                    " version=" + (r->version ? "+" + *r->version : "-") +
                    " ns=" + (r->xml_namespace ? "+" + *r->xml_namespace : "-");
  for (const auto& w : r->warnings) out += " [" + w.code + "|" + w.detail + "]";
  return out;
}

// A parse in pieces and a whole parse of the same bytes must agree, and
// the default way (by size) with both.
void ExpectSameAsWhole(const std::string& xml, const std::string& what,
                       const ingest::ParseLimits& limits = {}) {
  const std::string split = Describe(
      ingest::ParseAggregateReportAs(xml, limits, ingest::ReadAs::kPiecesWhenPossible));
  const std::string whole =
      Describe(ingest::ParseAggregateReportAs(xml, limits, ingest::ReadAs::kWhole));
  BOOST_TEST(Describe(ingest::ParseAggregateReport(xml, limits)) == whole, what);
  BOOST_TEST(split == whole, what << "\n  split: " << split << "\n  whole: " << whole);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "test setup: '" << from << "' not found");
  return s.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parse)

BOOST_AUTO_TEST_CASE(reads_every_field_of_a_plain_report) {
  auto r = Parse(Doc().str());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->version.value() == "1.0");
  BOOST_TEST(r->report_metadata.org_name == "google.com");
  BOOST_TEST(r->report_metadata.email == "noreply-dmarc-support@google.com");
  BOOST_TEST(r->report_metadata.report_id == "12345");
  BOOST_TEST(r->report_metadata.date_range.begin == 1718236800);
  BOOST_TEST(r->report_metadata.date_range.end == 1718323199);
  const auto& p = r->policy_published;
  BOOST_TEST(p.domain == "example.com");
  BOOST_TEST((p.adkim == model::Alignment::kRelaxed));
  BOOST_TEST((p.aspf == model::Alignment::kStrict));
  BOOST_TEST((p.p == model::Disposition::kNone));
  BOOST_TEST((p.sp == model::Disposition::kQuarantine));
  BOOST_TEST(!p.np.has_value());
  BOOST_TEST(p.pct.value() == 100u);
  BOOST_REQUIRE_EQUAL(r->records.size(), 1u);
  const auto& rec = r->records[0];
  BOOST_TEST(rec.source_ip.ToString() == "192.0.2.1");
  BOOST_TEST(rec.count == 7u);
  BOOST_TEST((rec.policy_evaluated.dkim == model::DmarcResult::kPass));
  BOOST_TEST((rec.policy_evaluated.spf == model::DmarcResult::kFail));
  BOOST_TEST(rec.identifiers.header_from == "example.com");
  BOOST_TEST(rec.identifiers.envelope_from.value() == "bounces.example.com");
  BOOST_TEST(!rec.identifiers.envelope_to.has_value());
  BOOST_REQUIRE_EQUAL(rec.auth_results.dkim.size(), 1u);
  BOOST_TEST(rec.auth_results.dkim[0].selector.value() == "s1");
  BOOST_TEST((rec.auth_results.dkim[0].result == model::DkimResult::kPass));
  BOOST_REQUIRE_EQUAL(rec.auth_results.spf.size(), 1u);
  BOOST_TEST((rec.auth_results.spf[0].scope == model::SpfScope::kMfrom));
  BOOST_TEST((rec.auth_results.spf[0].result == model::SpfResult::kFail));
  BOOST_TEST(r->warnings.empty());
}

BOOST_AUTO_TEST_CASE(reads_rfc9990_fields_in_its_namespace) {
  Doc d;
  d.root_open = "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">";
  d.metadata = Replace(d.metadata, "</report_metadata>",
                       "<generator>Reporter 2.1</generator></report_metadata>");
  d.policy =
      "<policy_published><domain>example.com</domain><discovery_method>treewalk"
      "</discovery_method><p>reject</p><np>quarantine</np><testing>y</testing>"
      "</policy_published>";
  d.records = Replace(d.records, "<disposition>none</disposition>",
                      "<disposition>pass</disposition>");
  d.records = Replace(d.records, "<result>pass</result>",
                      "<result>pass</result><human_result>good sig</human_result>");
  auto r = Parse(d.str());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->xml_namespace.value() == "urn:ietf:params:xml:ns:dmarc-2.0");
  BOOST_TEST(r->report_metadata.generator.value() == "Reporter 2.1");
  BOOST_TEST((r->policy_published.discovery_method == model::DiscoveryMethod::kTreewalk));
  BOOST_TEST((r->policy_published.np == model::Disposition::kQuarantine));
  BOOST_TEST((r->policy_published.testing == model::Testing::kYes));
  BOOST_TEST(!r->policy_published.pct.has_value());
  BOOST_TEST((r->records[0].policy_evaluated.disposition == model::AppliedDisposition::kPass));
  BOOST_TEST(r->records[0].auth_results.dkim[0].human_result.value() == "good sig");
  BOOST_TEST(r->warnings.empty());
}

BOOST_AUTO_TEST_CASE(prefixed_report_elements_are_read_and_vendor_elements_skipped) {
  const std::string xml =
      "<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\" xmlns:v=\"urn:vendor\">"
      "<d:report_metadata><d:org_name>o</d:org_name><d:email>e@o</d:email>"
      "<d:report_id>1</d:report_id><d:date_range><d:begin>1</d:begin><d:end>2</d:end>"
      "</d:date_range></d:report_metadata>"
      "<d:policy_published><d:domain>example.org</d:domain><d:p>none</d:p></d:policy_published>"
      "<d:record><d:row><d:source_ip>2001:db8::5</d:source_ip><v:count>999</v:count>"
      "<d:count>3</d:count></d:row><d:identifiers><d:header_from>example.org</d:header_from>"
      "</d:identifiers><d:auth_results><d:spf><d:domain>example.org</d:domain>"
      "<d:result>pass</d:result></d:spf></d:auth_results></d:record></d:feedback>";
  auto r = Parse(xml);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->records[0].count == 3u);
  BOOST_TEST(r->records[0].source_ip.ToString() == "2001:db8::5");
  BOOST_TEST(r->xml_namespace.value() == "urn:ietf:params:xml:ns:dmarc-2.0");
}

BOOST_AUTO_TEST_CASE(several_reasons_dkim_and_spf_results_are_all_kept) {
  Doc d;
  d.records = Replace(d.records, "</policy_evaluated>",
                      "<reason><type>forwarded</type><comment>list</comment></reason>"
                      "<reason><type>local_policy</type></reason></policy_evaluated>");
  d.records = Replace(d.records, "<spf><domain>",
                      "<dkim><domain>sendgrid.info</domain><selector>smtpapi</selector>"
                      "<result>pass</result></dkim><spf><domain>");
  d.records = Replace(d.records, "</auth_results>",
                      "<spf><domain>mx.example.com</domain><scope>helo</scope>"
                      "<result>pass</result></spf></auth_results>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  const auto& rec = r->records[0];
  BOOST_REQUIRE_EQUAL(rec.policy_evaluated.reasons.size(), 2u);
  BOOST_TEST((rec.policy_evaluated.reasons[0].type == model::PolicyOverride::kForwarded));
  BOOST_TEST(rec.policy_evaluated.reasons[0].comment.value() == "list");
  BOOST_TEST((rec.policy_evaluated.reasons[1].type == model::PolicyOverride::kLocalPolicy));
  BOOST_TEST(!rec.policy_evaluated.reasons[1].comment.has_value());
  BOOST_REQUIRE_EQUAL(rec.auth_results.dkim.size(), 2u);
  BOOST_TEST(rec.auth_results.dkim[1].domain == "sendgrid.info");
  BOOST_REQUIRE_EQUAL(rec.auth_results.spf.size(), 2u);
  BOOST_TEST((rec.auth_results.spf[1].scope == model::SpfScope::kHelo));
}

BOOST_AUTO_TEST_CASE(bom_and_leading_whitespace_are_dropped_with_a_warning) {
  auto r = Parse("\xEF\xBB\xBF  \r\n" + Doc().str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(HasWarning(*r, "leading_whitespace"));
  auto bom_only = Parse("\xEF\xBB\xBF" + Doc().str());
  BOOST_REQUIRE(bom_only.ok());
  BOOST_TEST(bom_only->warnings.empty());
}

BOOST_AUTO_TEST_CASE(declared_windows_1252_is_reencoded_to_utf8) {
  Doc d;
  d.decl = "<?xml version=\"1.0\" encoding=\"windows-1252\"?>";
  d.metadata = Replace(d.metadata, "google.com</org_name>", "Caf\xE9 \x80 Mail</org_name>");
  auto r = Parse(d.str());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->report_metadata.org_name == "Caf\xC3\xA9 \xE2\x82\xAC Mail");
  BOOST_TEST(HasWarning(*r, "transcoded"));
}

BOOST_AUTO_TEST_CASE(latin1_bytes_in_a_utf8_document_are_read_as_latin1) {
  Doc d;
  d.metadata = Replace(d.metadata, "google.com</org_name>", "M\xFCller GmbH</org_name>");
  auto r = Parse(d.str());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->report_metadata.org_name == "M\xC3\xBCller GmbH");
  BOOST_TEST(HasWarning(*r, "invalid_utf8_as_latin1"));
}

BOOST_AUTO_TEST_CASE(unclosed_wrapper_around_feedback_is_dropped) {
  Doc d;
  d.decl = "<?xml version=\"1.0\"?> <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n";
  auto r = Parse(d.str());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(HasWarning(*r, "junk_around_feedback"));
  BOOST_TEST(r->records.size() == 1u);
}

BOOST_AUTO_TEST_CASE(closed_wrapper_around_feedback_is_dropped) {
  Doc d;
  d.root_open = "<wrapper><feedback>";
  d.root_close = "</feedback></wrapper>";
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(HasWarning(*r, "wrapper_dropped"));
}

BOOST_AUTO_TEST_CASE(junk_after_the_document_is_tolerated) {
  const std::string junk("\n\x00\x01garbage<oops", 14);
  BOOST_REQUIRE_EQUAL(junk.size(), 14u);
  auto r = Parse(Doc().str() + junk);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
  BOOST_TEST(r->records.size() == 1u);
}

BOOST_AUTO_TEST_CASE(padded_values_and_upper_case_words_are_accepted_with_warnings) {
  Doc d;
  d.records = Replace(d.records, "<count>7</count>", "<count>\n   7 \n</count>");
  d.records = Replace(d.records, "<result>pass</result>", "<result>Pass</result>");
  d.records = Replace(d.records, "<result>fail</result>", "<result>HardFail</result>");
  d.policy = Replace(d.policy, "<domain>example.com</domain>",
                     "<domain> Example.COM. </domain>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->records[0].count == 7u);
  BOOST_TEST(r->policy_published.domain == "example.com");
  BOOST_TEST((r->records[0].auth_results.dkim[0].result == model::DkimResult::kPass));
  BOOST_TEST((r->records[0].auth_results.spf[0].result == model::SpfResult::kFail));
  BOOST_TEST(HasWarning(*r, "padded_value"));
  BOOST_TEST(HasWarning(*r, "word_case"));
  BOOST_TEST(HasWarning(*r, "spf_result_alias"));
}

BOOST_AUTO_TEST_CASE(unknown_words_map_to_unknown_with_a_warning) {
  Doc d;
  d.records = Replace(d.records, "<result>pass</result>", "<result>excellent</result>");
  d.policy = Replace(d.policy, "<p>none</p>", "<p>monitor</p>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r->records[0].auth_results.dkim[0].result == model::DkimResult::kUnknown));
  BOOST_TEST((r->policy_published.p == model::Disposition::kUnknown));
  BOOST_TEST(HasWarning(*r, "unknown_dkim_result"));
  BOOST_TEST(HasWarning(*r, "unknown_p"));
}

BOOST_AUTO_TEST_CASE(unknown_elements_are_skipped_with_a_warning) {
  Doc d;
  d.records = Replace(d.records, "</record>", "<vendor_score>9</vendor_score></record>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(HasWarning(*r, "unknown_element"));
}

BOOST_AUTO_TEST_CASE(missing_spf_and_optional_elements_are_accepted) {
  Doc d;
  d.version.clear();
  d.policy = "<policy_published><domain>example.com</domain><p>reject</p></policy_published>";
  d.records = Replace(d.records,
                      "<spf><domain>bounces.example.com</domain><scope>mfrom</scope>"
                      "<result>fail</result></spf>",
                      "");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->version.has_value());
  BOOST_TEST(!r->policy_published.adkim.has_value());
  BOOST_TEST((r->policy_published.EffectiveAdkim() == model::Alignment::kRelaxed));
  BOOST_TEST(r->records[0].auth_results.spf.empty());
  BOOST_TEST(HasWarning(*r, "missing_spf_result"));
}

BOOST_AUTO_TEST_CASE(a_literal_quote_and_escaped_markup_in_org_name_survive) {
  Doc d;
  d.metadata = Replace(d.metadata, "google.com</org_name>",
                       "\"q &lt;script&gt;alert(1)&lt;/script&gt;</org_name>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->report_metadata.org_name == "\"q <script>alert(1)</script>");
}

// The malformed-input table (Postfix-style): input, expected code, reason.
struct BadCase {
  const char* name;
  std::string xml;
  StatusCode code;
  const char* reason;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

std::vector<BadCase> BadCases() {
  const Doc d;
  auto with = [&](const std::string& from, const std::string& to) {
    return Replace(d.str(), from, to);
  };
  std::string many_records = d.decl + d.root_open + d.metadata + d.policy;
  for (int i = 0; i < 11; ++i) many_records += d.records;
  many_records += d.root_close;
  return {
      {"empty", "", StatusCode::kInvalidInput, "empty_document"},
      {"whitespace_only", " \r\n\t ", StatusCode::kInvalidInput, "empty_document"},
      {"not_xml", "This is not XML at all", StatusCode::kInvalidInput, "not_xml"},
      {"doctype", "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY x \"y\">]>" +
                      d.root_open + d.metadata + d.policy + d.records + d.root_close,
       StatusCode::kInvalidInput, "doctype_forbidden"},
      {"billion_laughs",
       "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
       "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
       "<feedback>&lol2;</feedback>",
       StatusCode::kInvalidInput, "doctype_forbidden"},
      // Any case, anywhere; an entity declared without a DOCTYPE too.
      {"doctype_lower_case_after_bangs",
       with("<org_name>", "<!-- hi! --><org_name>") + "<!doctype feedback>",
       StatusCode::kInvalidInput, "doctype_forbidden"},
      {"entity_alone", with("<policy_published>", "<!Entity x \"y\"><policy_published>"),
       StatusCode::kInvalidInput, "doctype_forbidden"},
      {"mismatched_tag", with("</org_name>", "</org>"), StatusCode::kInvalidInput,
       "xml_malformed"},
      {"truncated", d.str().substr(0, d.str().size() / 2), StatusCode::kInvalidInput,
       "xml_malformed"},
      {"wrong_root", "<?xml version=\"1.0\"?><root><a>1</a></root>", StatusCode::kInvalidInput,
       "not_aggregate_report"},
      {"no_metadata", with(d.metadata, ""), StatusCode::kInvalidInput, "missing_report_metadata"},
      {"no_report_id", with("<report_id>12345</report_id>", ""), StatusCode::kInvalidInput,
       "missing_report_id"},
      {"empty_report_id", with("<report_id>12345</report_id>", "<report_id> </report_id>"),
       StatusCode::kInvalidInput, "missing_report_id"},
      {"no_date_range",
       with("<date_range><begin>1718236800</begin><end>1718323199</end></date_range>", ""),
       StatusCode::kInvalidInput, "missing_date_range"},
      {"no_end", with("<end>1718323199</end>", ""), StatusCode::kInvalidInput,
       "missing_date_range"},
      {"begin_not_a_number", with("<begin>1718236800</begin>", "<begin>not-a-number</begin>"),
       StatusCode::kInvalidInput, "not_a_number"},
      {"begin_after_end", with("<begin>1718236800</begin>", "<begin>1718323200</begin>"),
       StatusCode::kInvalidInput, "begin_after_end"},
      {"begin_negative", with("<begin>1718236800</begin>", "<begin>-5</begin>"),
       StatusCode::kInvalidInput, "not_a_number"},
      {"end_past_year_9999", with("<end>1718323199</end>", "<end>999999999999</end>"),
       StatusCode::kInvalidInput, "number_out_of_range"},
      {"no_policy", with(d.policy, ""), StatusCode::kInvalidInput, "missing_policy_published"},
      {"no_policy_domain", with("<domain>example.com</domain><adkim>", "<adkim>"),
       StatusCode::kInvalidInput, "missing_policy_domain"},
      {"no_records", with(d.records, ""), StatusCode::kInvalidInput, "no_records"},
      {"count_minus_one", with("<count>7</count>", "<count>-1</count>"),
       StatusCode::kInvalidInput, "not_a_number"},
      {"count_two_to_the_64", with("<count>7</count>", "<count>18446744073709551616</count>"),
       StatusCode::kInvalidInput, "number_out_of_range"},
      {"count_over_int64", with("<count>7</count>", "<count>9223372036854775808</count>"),
       StatusCode::kInvalidInput, "number_out_of_range"},
      {"count_not_a_number", with("<count>7</count>", "<count>seven</count>"),
       StatusCode::kInvalidInput, "not_a_number"},
      {"count_empty", with("<count>7</count>", "<count></count>"), StatusCode::kInvalidInput,
       "not_a_number"},
      {"count_fraction", with("<count>7</count>", "<count>7.5</count>"),
       StatusCode::kInvalidInput, "not_a_number"},
      {"no_count", with("<count>7</count>", ""), StatusCode::kInvalidInput, "missing_count"},
      {"bad_ip", with("192.0.2.1", "192.0.2.300"), StatusCode::kInvalidInput, "bad_source_ip"},
      {"ip_is_text", with("192.0.2.1", "mail.example.com"), StatusCode::kInvalidInput,
       "bad_source_ip"},
      {"no_ip", with("<source_ip>192.0.2.1</source_ip>", ""), StatusCode::kInvalidInput,
       "missing_source_ip"},
      {"huge_text", with("google.com</org_name>", std::string(5000, 'a') + "</org_name>"),
       StatusCode::kLimitExceeded, "max_text_bytes"},
      {"huge_domain", with("<domain>example.com</domain><adkim>",
                           "<domain>" + std::string(300, 'a') + ".com</domain><adkim>"),
       StatusCode::kLimitExceeded, "max_domain_bytes"},
      {"too_many_records", many_records, StatusCode::kLimitExceeded, "max_records"},
      {"unsupported_encoding",
       "<?xml version=\"1.0\" encoding=\"shift_jis\"?><feedback>\x82\xa0</feedback>",
       StatusCode::kInvalidInput, "unsupported_encoding"},
  };
}

BOOST_DATA_TEST_CASE(malformed_inputs_are_rejected_with_their_reason,
                     boost::unit_test::data::make(BadCases()), c) {
  ingest::ParseLimits limits;
  limits.max_records = 10;
  auto r = Parse(c.xml, limits);
  BOOST_REQUIRE_MESSAGE(!r.ok(), c.name << " was accepted");
  BOOST_TEST((r.status().code() == c.code), c.name << ": " << r.status().ToString());
  BOOST_TEST(r.status().reason() == c.reason, c.name << ": " << r.status().ToString());
  BOOST_TEST(!r.status().message().empty());
  BOOST_TEST(r.status().message().find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(xml_errors_say_where) {
  auto r = Parse("<feedback>\n<report_metadata>\n<org_name>x</org>\n</feedback>");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.status().message().find("line 3") != std::string::npos, r.status().message());
}

BOOST_AUTO_TEST_CASE(content_digest_ignores_formatting_and_wrappers_but_not_data) {
  Doc d;
  auto a = Parse(d.str());
  auto b = Parse("\xEF\xBB\xBF\n" + Replace(d.str(), "<count>7</count>", "<count> 7 </count>"));
  auto c = Parse(Replace(d.str(), "<count>7</count>", "<count>8</count>"));
  BOOST_REQUIRE(a.ok() && b.ok() && c.ok());
  BOOST_TEST(ingest::ContentDigest(*a) == ingest::ContentDigest(*b));
  BOOST_TEST(ingest::ContentDigest(*a) != ingest::ContentDigest(*c));
  BOOST_TEST(ingest::ContentDigest(*a).size() == 64u);
}

// Stored reports keep the digest they were saved with, and a copy imported
// later must match it to be a duplicate: the digest of the same data never
// changes between versions. The value was computed by an earlier version.
BOOST_AUTO_TEST_CASE(content_digest_is_the_same_as_earlier_versions) {
  Doc d;
  const std::string ipv4 = d.records;
  for (const char* ip : {"2001:DB8:0:0:1::1", "::ffff:198.51.100.9", "fe80::"}) {
    d.records += Replace(ipv4, "192.0.2.1", ip);
  }
  d.records = Replace(d.records, "<count>7</count>", "<count>1234567890123</count>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->records.size(), 4u);
  BOOST_TEST(ingest::ContentDigest(*r) ==
             "0f143d341f7bdd5f3272de0e13ebbe5e0b669eb5bf3749742fa89f7e039b3419");
}

BOOST_AUTO_TEST_CASE(entities_for_markup_are_decoded_once_and_never_expanded_further) {
  Doc d;
  d.metadata = Replace(d.metadata, "google.com</org_name>", "&amp;lt;b&amp;gt;</org_name>");
  auto r = Parse(d.str());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->report_metadata.org_name == "&lt;b&gt;");
}

// ---- Parsing in pieces ------------------------------------------------------

namespace {

std::string ManyRecords(const Doc& d, int n) {
  std::string out = d.decl + d.root_open + d.version + d.metadata + d.policy;
  for (int i = 0; i < n; ++i) {
    out += Replace(d.records, "<count>7</count>", "<count>" + std::to_string(i + 1) + "</count>");
    if (i % 97 == 0) out += "\n<!-- <record> -->\n<extension><x>1</x></extension>";
  }
  return out + d.root_close;
}

// The documents the corpus holds, unpacked to their XML.
std::vector<std::string> CorpusDocuments() {
  std::vector<std::string> out;
  for (const char* dir : {"aggregate", "malformed"}) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(std::string(DMARC_CORPUS_DIR) + "/" +
                                                             dir)) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      ingest::Unpacked u = ingest::Unpack(bytes.str(), f.filename().string(), {});
      for (auto& p : u.reports) out.push_back(std::move(p.bytes));
    }
  }
  return out;
}

class CountingSink : public ingest::ReportSink {
 public:
  dmarcwatch::Status OnHeader(const model::Report& h) override {
    ++headers;
    header = h;
    records.clear();
    return dmarcwatch::Status::Ok();
  }
  dmarcwatch::Status OnRecords(std::vector<model::Record>& batch) override {
    ++batches;
    for (auto& r : batch) records.push_back(std::move(r));
    if (fail_after_batches != 0 && batches >= fail_after_batches) {
      return dmarcwatch::Status::Unavailable("database_locked", "the sink is full");
    }
    return dmarcwatch::Status::Ok();
  }
  int headers = 0;
  int batches = 0;
  int fail_after_batches = 0;
  model::Report header;
  std::vector<model::Record> records;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_report_read_in_pieces_is_the_report_read_whole) {
  Doc d;
  // Over 512 KiB, so several batches of records, with other elements and
  // comments between them.
  ExpectSameAsWhole(ManyRecords(d, 3000), "3000 records");
  Doc ns;
  ns.root_open = "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\" xmlns:v=\"urn:v\">";
  ns.records = Replace(ns.records, "</record>", "<v:score>1</v:score></record>");
  ExpectSameAsWhole(ManyRecords(ns, 1200), "namespaced, vendor elements");
  Doc latin;
  latin.decl = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>";
  latin.metadata = Replace(latin.metadata, "google.com</org_name>", "M\xFCller</org_name>");
  latin.records = Replace(latin.records, "<selector>s1", "<selector>s\xE9l");
  ExpectSameAsWhole(ManyRecords(latin, 1500), "windows-1252, re-encoded in pieces");
}

BOOST_AUTO_TEST_CASE(errors_read_in_pieces_are_the_errors_read_whole) {
  Doc d;
  const std::string big = ManyRecords(d, 2500);
  ingest::ParseLimits limits;
  limits.max_records = 2000;
  ExpectSameAsWhole(big, "over max_records", limits);
  // A bad value in the first record and broken XML in a late one: the XML
  // error wins, as it does for the whole document.
  std::string late = Replace(big, "192.0.2.1", "192.0.2.300");
  late.replace(late.rfind("</identifiers>"), 14, "</identifier>");
  ExpectSameAsWhole(late, "bad ip early, bad XML late");
  BOOST_TEST(Describe(ingest::ParseAggregateReport(late, {})).find("xml_malformed") !=
             std::string::npos);
  std::string late_value = big;
  late_value.replace(late_value.rfind("<count>"), 7, "<count>x");
  ExpectSameAsWhole(late_value, "a bad count in the last record");
  for (const BadCase& c : BadCases()) ExpectSameAsWhole(c.xml, c.name, limits);
}

BOOST_AUTO_TEST_CASE(repaired_documents_are_read_whole_with_the_same_warnings) {
  Doc d;
  ExpectSameAsWhole("<wrapper>" + d.str() + "</wrapper>", "closed wrapper");
  ExpectSameAsWhole("<?xml version=\"1.0\"?><xs:schema>" + d.str(), "unclosed wrapper");
  ExpectSameAsWhole(d.str() + std::string("\n\0\x01garbage<oops", 14), "junk after");
  ExpectSameAsWhole(d.str() + "trailing text", "text after");
  ExpectSameAsWhole("<?xml version=\"1.0\"?>text<feedback>" + d.version + d.metadata + d.policy +
                        d.records + "</feedback>",
                    "text before");
  ExpectSameAsWhole("<a/>" + d.str(), "an element before");
}

BOOST_AUTO_TEST_CASE(mutated_corpus_documents_parse_the_same_in_pieces_and_whole) {
  // Every corpus document, then each with random damage: truncation, a
  // byte deleted or changed, markup inserted (comments and CDATA holding
  // <record>, stray tags, quotes, NUL, invalid UTF-8), a value replaced, an
  // element removed or repeated. Most of the damage still leaves a
  // document the outline accepts, so both ways of reading are exercised.
  const std::vector<std::string> tokens = {
      "<", ">", "</", "/>", "\"", "'", "<!--", "-->", "<![CDATA[", "]]>", "<?x ?>",
      "<record>", "</record>", "<d:record>", "<!-- <record> -->", "<![CDATA[</record>]]>",
      "&amp;", std::string(1, '\0'), "\xC3", "\xE9", " ", "<feedback>", "</feedback>", "=",
      "<v:count>5</v:count>", "<extension/>", "<?xml version='1.0'?>", "<x a='>'/>", "\r\n"};
  const std::vector<std::string> values = {
      "", " ", "x", "-1", "0", "+7", "18446744073709551616", "9223372036854775807", "PASS",
      " pass ", "Fail", "hardfail", "quarantine", "300.1.1.1", "2001:db8::1", "&lt;b&gt;",
      "&#65;", "<![CDATA[pass]]>", "<!-- c -->pass", std::string(1100, 'a'),
      std::string(260, 'd') + ".com", "\xC3\xA9", "\xE9", "1718323200", "r", "S", "y"};
  std::mt19937 rng(20240611);
  int documents = 0, mutations = 0, outlined = 0;
  auto check = [&](const std::string& x, const std::string& what) {
    ++mutations;
    if (ingest::ScanFeedback(x).ok()) ++outlined;
    ExpectSameAsWhole(x, what);
  };
  for (const std::string& doc : CorpusDocuments()) {
    ++documents;
    const std::string name = "corpus document " + std::to_string(documents);
    check(doc, name);
    for (int m = 0; m < 150; ++m) {
      std::string x = doc;
      const std::size_t at = x.empty() ? 0 : rng() % x.size();
      const std::size_t open = x.find('<', at);
      const std::size_t close = open == std::string::npos ? open : x.find('>', open);
      const unsigned kind = rng() % 8;
      switch (kind) {
        case 0: x.resize(at); break;
        case 1: if (!x.empty()) x.erase(at, 1); break;
        case 2: x.insert(at, tokens[rng() % tokens.size()]); break;
        case 3: if (!x.empty()) x[at] = tokens[rng() % tokens.size()][0]; break;
        case 4: {  // the text after a tag
          if (close == std::string::npos) break;
          const std::size_t end = x.find('<', close);
          if (end == std::string::npos) break;
          x.replace(close + 1, end - close - 1, values[rng() % values.size()]);
          break;
        }
        case 5:    // an element removed
        case 6: {  // or repeated
          if (close == std::string::npos || x[open + 1] == '/' || x[open + 1] == '!' ||
              x[open + 1] == '?') {
            break;
          }
          std::size_t name_end = open + 1;
          while (name_end < close && x[name_end] != ' ' && x[name_end] != '>' &&
                 x[name_end] != '/') {
            ++name_end;
          }
          const std::string end_tag = "</" + x.substr(open + 1, name_end - open - 1) + ">";
          const std::size_t end = x.find(end_tag, close);
          if (end == std::string::npos) break;
          const std::string element = x.substr(open, end + end_tag.size() - open);
          if (kind == 5) {
            x.erase(open, element.size());
          } else {
            x.insert(open, element);
          }
          break;
        }
        default: {
          const std::size_t len = std::min<std::size_t>(x.size() - at, rng() % 200);
          x.insert(rng() % (x.size() + 1), x.substr(at, len));
        }
      }
      check(x, name + " mutation " + std::to_string(m));
    }
  }
  BOOST_TEST(documents > 40);
  BOOST_TEST_MESSAGE(mutations << " documents, " << outlined << " read in pieces");
  BOOST_TEST(outlined * 4 > mutations);
}

BOOST_AUTO_TEST_CASE(the_sink_gets_the_header_then_the_records_in_batches) {
  Doc d;
  const std::string xml = ManyRecords(d, 2500);
  BOOST_REQUIRE(xml.size() > 1024 * 1024);  // read in pieces by default
  CountingSink sink;
  auto summary = ingest::ParseAggregateReport(xml, {}, sink);
  BOOST_REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? std::string() : summary.status().ToString()));
  auto whole = ingest::ParseAggregateReportAs(xml, {}, ingest::ReadAs::kWhole);
  BOOST_REQUIRE(whole.ok());
  BOOST_TEST(sink.headers == 1);
  BOOST_TEST(sink.batches == 3);
  BOOST_TEST(sink.header.records.empty());
  BOOST_TEST(sink.header.warnings.empty());
  BOOST_TEST(summary->records == 2500u);
  BOOST_TEST(summary->messages == whole->MessageCount());
  BOOST_TEST(summary->content_digest == ingest::ContentDigest(*whole));
  BOOST_TEST(summary->warnings.size() == whole->warnings.size());
  model::Report rebuilt = sink.header;
  rebuilt.records = std::move(sink.records);
  BOOST_TEST(ingest::ContentDigest(rebuilt) == ingest::ContentDigest(*whole));
}

BOOST_AUTO_TEST_CASE(a_failing_sink_stops_the_parse_with_its_status) {
  Doc d;
  CountingSink sink;
  sink.fail_after_batches = 1;
  auto summary = ingest::ParseAggregateReport(ManyRecords(d, 2500), {}, sink);
  BOOST_REQUIRE(!summary.ok());
  BOOST_TEST(summary.status().reason() == "database_locked");
  BOOST_TEST(sink.batches == 1);
}

BOOST_AUTO_TEST_SUITE_END()
