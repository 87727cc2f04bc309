// XmlScan: the outline of <feedback> that lets the parser read a report in
// pieces. What it accepts it must split where pugixml would; what it cannot
// make sense of it rejects with one line and a byte offset, never crashing
// or looping (the parser then reads the document whole).

#include "xml_scan.h"  // private to ingest; the test binary has ingest/src on its path

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace ingest = dmarcwatch::ingest;

namespace {

// The children's names and texts, "name=[text]" each, or the rejection.
std::string Outline(const std::string& doc) {
  auto scan = ingest::ScanFeedback(doc);
  if (!scan.ok()) return "rejected: " + scan.status().message();
  std::string out = std::string(scan->qname) + (scan->empty_element ? "/" : "") + ":";
  for (const auto& c : scan->children) {
    out += " " + std::string(c.qname) + "=[" + doc.substr(c.begin, c.end - c.begin) + "]";
  }
  return out;
}

struct Rejected {
  const char* name;
  std::string doc;
  const char* what;  // a fragment of the message
};

std::ostream& operator<<(std::ostream& os, const Rejected& c) { return os << c.name; }

std::vector<Rejected> RejectedCases() {
  return {
      {"empty", "", "no document element"},
      {"text_before_root", "<?xml version=\"1.0\"?>junk<feedback/>", "text outside"},
      {"text_after_root", "<feedback></feedback>junk", "text outside"},
      {"cdata_at_top_level", "<![CDATA[x]]><feedback/>", "outside the document element"},
      {"second_root", "<feedback></feedback><feedback></feedback>", "second top-level"},
      {"wrapper", "<wrapper><feedback></feedback></wrapper>", "not <feedback>"},
      {"other_root", "<root/>", "is <root>, not <feedback>"},
      {"double_prefix", "<a:b:feedback/>", "not <feedback>"},
      {"feedback_suffix", "<feedbackx/>", "not <feedback>"},
      {"mismatched_end", "<feedback><record><row></record></row></feedback>", "does not match"},
      {"unclosed_child", "<feedback><record></feedback>", "does not match"},
      {"stray_end", "<feedback></feedback></record>", "end tag outside"},
      {"truncated_in_text", "<feedback><record>1", "ends inside <record>"},
      {"truncated_in_tag", "<feedback><record a=\"1\"", "unterminated start tag"},
      {"truncated_in_attr", "<feedback><record a=\"1", "unterminated attribute value"},
      {"truncated_in_end_tag", "<feedback><record></record", "unterminated end tag"},
      {"truncated_in_comment", "<feedback><!-- <record>", "unterminated comment"},
      {"truncated_in_cdata", "<feedback><![CDATA[<record>", "unterminated CDATA"},
      {"truncated_in_pi", "<?xml version=\"1.0\"", "unterminated processing instruction"},
      {"pi_inside", "<feedback><?pi x?></feedback>", "processing instruction inside"},
      {"declaration_later", "<!-- c --><?xml version=\"1.0\"?><feedback/>", "XML declaration"},
      {"pi_without_target", "<? x?><feedback/>", "processing instruction target"},
      {"doctype_inside", "<feedback><!DOCTYPE x></feedback>", "markup declaration"},
      {"bang_at_top", "<!ELEMENT x ANY><feedback/>", "markup declaration"},
      {"nul", std::string("<feedback>\0</feedback>", 22), "NUL byte"},
      {"lt_space", "<feedback>a < b</feedback>", "element name after '<'"},
      {"digit_name", "<feedback><1a/></feedback>", "element name after '<'"},
      {"non_ascii_name", "<feedback><r\xC3\xA9/></feedback>", "no space before an attribute"},
      {"attribute_without_space", "<feedback a=\"1\"b=\"2\"/>", "no space before an attribute"},
      {"attribute_without_value", "<feedback a/>", "without '='"},
      {"attribute_unquoted", "<feedback a=1/>", "without quotes"},
      {"slash_space", "<feedback / >", "'/' not followed by '>'"},
      {"empty_end_tag", "<feedback></>", "element name after '</'"},
      {"too_deep",
       "<feedback>" +
           [] {
             std::string s;
             for (int i = 0; i < 70; ++i) s += "<a>";
             for (int i = 0; i < 70; ++i) s += "</a>";
             return s;
           }() +
           "</feedback>",
       "nested deeper than 64"},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(xml_scan)

BOOST_AUTO_TEST_CASE(finds_the_children_of_feedback) {
  const std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- head -->\n<?style x?>\n"
      "<feedback xmlns=\"urn:x\">\n  <version>1.0</version>\n"
      "  <report_metadata><org_name>o</org_name></report_metadata>\n"
      "  <record><row a='1' b = \"2\"/></record>\n  <record/>\n</feedback>\n<!-- tail -->\n";
  BOOST_TEST(Outline(doc) ==
             "feedback: version=[<version>1.0</version>] "
             "report_metadata=[<report_metadata><org_name>o</org_name></report_metadata>] "
             "record=[<record><row a='1' b = \"2\"/></record>] record=[<record/>]");
  auto scan = ingest::ScanFeedback(doc);
  BOOST_REQUIRE(scan.ok());
  BOOST_TEST(doc.substr(scan->start_tag_begin, scan->start_tag_end - scan->start_tag_begin) ==
             "<feedback xmlns=\"urn:x\">");
}

BOOST_AUTO_TEST_CASE(markup_inside_comments_cdata_and_attributes_is_not_an_element) {
  const std::string doc =
      "<!-- <feedback> --><feedback>"
      "<!-- <record> --><![CDATA[<record></record>]]>"
      "<record note=\"<record> & </feedback>\" other='>'>"
      "<!-- </record> --><![CDATA[</record>]]>x &lt;record&gt; y"
      "</record></feedback>";
  BOOST_TEST(Outline(doc) ==
             "feedback: record=[<record note=\"<record> & </feedback>\" other='>'>"
             "<!-- </record> --><![CDATA[</record>]]>x &lt;record&gt; y</record>]");
}

BOOST_AUTO_TEST_CASE(prefixes_are_kept_as_written) {
  const std::string doc =
      "<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\" xmlns:v=\"urn:v\">"
      "<d:record><v:x/></d:record><v:extra>1</v:extra><record/></d:feedback>";
  BOOST_TEST(Outline(doc) ==
             "d:feedback: d:record=[<d:record><v:x/></d:record>] v:extra=[<v:extra>1</v:extra>] "
             "record=[<record/>]");
}

BOOST_AUTO_TEST_CASE(an_empty_feedback_element_has_no_children) {
  BOOST_TEST(Outline("<feedback/>") == "feedback/:");
  BOOST_TEST(Outline("<feedback></feedback >") == "feedback:");
}

BOOST_AUTO_TEST_CASE(nested_elements_of_the_same_name_are_one_child) {
  BOOST_TEST(Outline("<feedback><record><record/><record>x</record></record></feedback>") ==
             "feedback: record=[<record><record/><record>x</record></record>]");
}

BOOST_DATA_TEST_CASE(what_it_cannot_make_sense_of_is_rejected_in_one_line,
                     boost::unit_test::data::make(RejectedCases()), c) {
  auto scan = ingest::ScanFeedback(c.doc);
  BOOST_REQUIRE_MESSAGE(!scan.ok(), c.name << " was accepted");
  BOOST_TEST(scan.status().reason() == "xml_scan");
  BOOST_TEST(scan.status().message().find(c.what) != std::string::npos,
             c.name << ": " << scan.status().message());
  BOOST_TEST(scan.status().message().find(" at byte ") != std::string::npos);
  BOOST_TEST(scan.status().message().find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_document_ends_with_an_answer) {
  // Truncated anywhere, the scan ends: accepted only when whole.
  const std::string doc =
      "<?xml version=\"1.0\"?><!-- c --><feedback a=\"1\"><record x='y'>t<![CDATA[c]]>"
      "<!-- n --><e/></record></feedback>";
  for (std::size_t n = 0; n < doc.size(); ++n) {
    auto scan = ingest::ScanFeedback(doc.substr(0, n));
    BOOST_TEST(!scan.ok(), "prefix of " << n << " bytes was accepted");
  }
  BOOST_TEST(ingest::ScanFeedback(doc).ok());
}

BOOST_AUTO_TEST_SUITE_END()
