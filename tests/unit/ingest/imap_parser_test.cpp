// The IMAP response parser (imap_parser.h) and the client's pure helpers
// (imap_protocol.h): responses as Dovecot, Gmail and Microsoft 365 send
// them, incremental input, and a table of hostile responses, each with the
// reason it is refused for.

#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "dmarcwatch/ingest/imap.h"
#include "imap_parser.h"
#include "imap_protocol.h"

// For Boost.Test messages; found by argument-dependent lookup.
namespace dmarcwatch {
static std::ostream& operator<<(std::ostream& os, StatusCode c) { return os << StatusCodeName(c); }
namespace ingest::imap {
static std::ostream& operator<<(std::ostream& os, ResponseKind k) {
  return os << static_cast<int>(k);
}
static std::ostream& operator<<(std::ostream& os, Value::Kind k) { return os << static_cast<int>(k); }
static std::ostream& operator<<(std::ostream& os, ParseState s) { return os << static_cast<int>(s); }
}  // namespace ingest::imap
}  // namespace dmarcwatch

namespace imap = dmarcwatch::ingest::imap;
using dmarcwatch::StatusCode;
using imap::ParseState;
using imap::ResponseKind;
using imap::Value;

namespace {

imap::ParseResult Parse(const std::string& bytes, const imap::ParserLimits& limits = {}) {
  return imap::ParseResponse(bytes, limits);
}

imap::Response Complete(const std::string& bytes) {
  imap::ParseResult r = Parse(bytes);
  BOOST_REQUIRE_MESSAGE(r.state == ParseState::kComplete,
                        "not complete: " << r.error.ToString() << " for " << bytes);
  BOOST_TEST(r.consumed == bytes.size());
  return r.response;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(imap_parser)

BOOST_AUTO_TEST_CASE(parses_the_greeting_with_capabilities) {
  const imap::Response r =
      Complete("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Dovecot (Debian) ready.\r\n");
  BOOST_TEST(r.kind == ResponseKind::kUntagged);
  BOOST_TEST(r.status == "OK");
  BOOST_TEST(r.code == "CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN");
  BOOST_TEST(r.text == "Dovecot (Debian) ready.");
  const auto caps = imap::ParseCapabilities(imap::CodeArgument(r.code));
  BOOST_TEST(caps.count("AUTH=PLAIN") == 1u);
  BOOST_TEST(caps.count("IMAP4REV1") == 1u);
}

BOOST_AUTO_TEST_CASE(parses_tagged_status_with_and_without_text) {
  imap::Response r = Complete("D0007 OK [READ-WRITE] Select completed (0.003 secs).\r\n");
  BOOST_TEST(r.kind == ResponseKind::kTagged);
  BOOST_TEST(r.tag == "D0007");
  BOOST_TEST(r.status == "OK");
  BOOST_TEST(imap::CodeName(r.code) == "READ-WRITE");
  r = Complete("a1 no\r\n");
  BOOST_TEST(r.status == "NO");
  BOOST_TEST(r.text.empty());
}

BOOST_AUTO_TEST_CASE(parses_select_data) {
  imap::Response r = Complete("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  BOOST_TEST(imap::CodeName(r.code) == "UIDVALIDITY");
  BOOST_TEST(imap::ToUint32(imap::CodeArgument(r.code)).value() == 3857529045u);
  r = Complete("* 172 EXISTS\r\n");
  BOOST_TEST(r.number.value() == 172u);
  BOOST_TEST(r.name == "EXISTS");
  r = Complete("* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Seen \\*)] Flags permitted.\r\n");
  BOOST_TEST(imap::CodeName(r.code) == "PERMANENTFLAGS");
  r = Complete("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
  BOOST_REQUIRE(r.values.size() == 1u);
  BOOST_TEST(r.values[0].items.size() == 5u);
  BOOST_TEST(r.values[0].items[2].text == "\\Deleted");
}

BOOST_AUTO_TEST_CASE(parses_search_and_list) {
  imap::Response r = Complete("* SEARCH 2 84 4294967295\r\n");
  BOOST_TEST(r.name == "SEARCH");
  BOOST_REQUIRE(r.values.size() == 3u);
  BOOST_TEST(r.values[2].number == 4294967295u);
  r = Complete("* SEARCH\r\n");
  BOOST_TEST(r.values.empty());
  r = Complete("* LIST (\\Noselect) \".\" \"\"\r\n");
  BOOST_REQUIRE(r.values.size() == 3u);
  BOOST_TEST(r.values[1].text == ".");
  BOOST_TEST(r.values[2].kind == Value::Kind::kString);
  r = Complete("* LIST (\\HasNoChildren) NIL INBOX\r\n");
  BOOST_TEST(r.values[1].kind == Value::Kind::kNil);
  BOOST_TEST(r.values[2].text == "INBOX");
}

BOOST_AUTO_TEST_CASE(parses_fetch_with_a_literal_body) {
  const std::string body = "Subject: hi\r\n\r\nbody with ) and {3}\r\n";
  const std::string wire = "* 12 FETCH (UID 34 BODY[] {" + std::to_string(body.size()) +
                           "}\r\n" + body + " FLAGS (\\Seen))\r\n";
  const imap::Response r = Complete(wire);
  BOOST_TEST(r.number.value() == 12u);
  BOOST_TEST(r.name == "FETCH");
  const Value* uid = imap::FetchItem(r, "UID");
  BOOST_REQUIRE(uid != nullptr);
  BOOST_TEST(uid->number == 34u);
  const Value* got = imap::FetchItem(r, "BODY[]");
  BOOST_REQUIRE(got != nullptr);
  BOOST_TEST(got->text == body);
  BOOST_TEST(imap::FetchItem(r, "FLAGS")->items.size() == 1u);
}

BOOST_AUTO_TEST_CASE(parses_sections_with_spaces_quoted_escapes_and_continuations) {
  imap::Response r = Complete("* 1 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {0}\r\n)\r\n");
  BOOST_TEST(r.values[0].items[0].text == "BODY[HEADER.FIELDS (DATE FROM)]");
  BOOST_TEST(r.values[0].items[1].text.empty());
  r = Complete("* LIST () \"/\" \"a \\\"quoted\\\" \\\\ name\"\r\n");
  BOOST_TEST(r.values[2].text == "a \"quoted\" \\ name");
  r = Complete("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n");
  BOOST_TEST(r.kind == ResponseKind::kContinuation);
  BOOST_TEST(imap::DescribeXoauth2Challenge(r.text) == "{\"status\":\"401\"}");
  r = Complete("+\r\n");
  BOOST_TEST(r.text.empty());
}

BOOST_AUTO_TEST_CASE(leaves_the_next_response_in_the_input) {
  const std::string two = "* 3 EXISTS\r\nD0001 OK done\r\n";
  imap::ParseResult r = Parse(two);
  BOOST_REQUIRE(r.state == ParseState::kComplete);
  BOOST_TEST(r.consumed == 12u);
  r = Parse(two.substr(r.consumed));
  BOOST_TEST(r.response.tag == "D0001");
}

BOOST_AUTO_TEST_CASE(asks_for_more_until_a_response_is_whole) {
  const std::string body(1000, 'x');
  const std::string wire = "* 1 FETCH (UID 1 BODY[] {1000}\r\n" + body + ")\r\n";
  // Every prefix is incomplete, and the size asked for never exceeds the
  // whole response.
  for (std::size_t cut = 0; cut < wire.size(); cut += 7) {
    imap::ParseResult r = Parse(wire.substr(0, cut));
    BOOST_REQUIRE_MESSAGE(r.state == ParseState::kNeedMore, "at " << cut);
    BOOST_TEST(r.need_total > cut);
    BOOST_TEST(r.need_total <= wire.size());
  }
  // Once the literal's header is there, the whole literal is asked for at once.
  imap::ParseResult r = Parse(wire.substr(0, 40));
  BOOST_TEST(r.need_total == std::string("* 1 FETCH (UID 1 BODY[] {1000}\r\n").size() + 1000);
}

BOOST_AUTO_TEST_CASE(refuses_a_literal_over_the_limit_before_reading_it) {
  imap::ParserLimits limits;
  limits.max_literal_bytes = 100;
  // Only the header has arrived: the size alone is refused.
  imap::ParseResult r = Parse("* 1 FETCH (UID 1 BODY[] {101}\r\n", limits);
  BOOST_REQUIRE(r.state == ParseState::kError);
  BOOST_TEST(r.error.code() == StatusCode::kLimitExceeded);
  BOOST_TEST(r.error.reason() == "max_literal_bytes");
  r = Parse("* 1 FETCH (UID 1 BODY[] {100}\r\n", limits);
  BOOST_TEST(r.state == ParseState::kNeedMore);
  // A size no integer holds is refused the same way, not wrapped around.
  r = Parse("* 1 FETCH (BODY[] {99999999999999999999999}\r\n", limits);
  BOOST_TEST(r.error.reason() == "max_literal_bytes");
}

BOOST_AUTO_TEST_CASE(refuses_a_line_over_the_limit_without_waiting_for_its_end) {
  imap::ParserLimits limits;
  limits.max_line_bytes = 64;
  imap::ParseResult r = Parse("* SEARCH " + std::string(70, '1'), limits);
  BOOST_REQUIRE(r.state == ParseState::kError);
  BOOST_TEST(r.error.reason() == "max_line_bytes");
  // Exactly at the limit, CRLF included, is accepted.
  const std::string exact = "* X " + std::string(64 - 6, 'a') + "\r\n";
  BOOST_REQUIRE(exact.size() == 64u);
  r = Parse(exact, limits);
  BOOST_TEST((r.state == ParseState::kComplete));
  BOOST_TEST(r.response.values.at(0).text.size() == 58u);
}

// Hostile or broken responses: each is refused with this reason.
struct Malformed {
  const char* name;
  std::string bytes;
  const char* reason;
};

BOOST_AUTO_TEST_CASE(refuses_malformed_and_hostile_responses) {
  imap::ParserLimits limits;
  limits.max_depth = 4;
  limits.max_values = 50;
  limits.max_literal_bytes = 1000;
  limits.max_response_bytes = 2000;
  const std::vector<Malformed> table = {
      {"bare LF", "* OK fine\n", "malformed_response"},
      {"no space after star", "*OK\r\n", "malformed_response"},
      {"unknown tagged status", "a1 MAYBE\r\n", "malformed_response"},
      {"untagged without name", "* \r\n", "malformed_response"},
      {"unclosed list", "* FLAGS (\\Seen\r\n", "malformed_response"},
      {"stray paren", "* FLAGS )\r\n", "malformed_response"},
      {"unclosed quote", "* LIST () \"/\" \"abc\r\n", "malformed_response"},
      {"literal not at line end", "* 1 FETCH (BODY[] {3} x)\r\nabc\r\n", "malformed_response"},
      {"literal without digits", "* 1 FETCH (BODY[] {}\r\n)\r\n", "malformed_response"},
      {"literal8", "* 1 FETCH (BINARY[] ~{3}\r\nabc)\r\n", "malformed_response"},
      {"control byte in atom", std::string("* CAPABILITY IMAP4\x01rev1\r\n"), "malformed_response"},
      {"NUL in quoted", std::string("* LIST () \"/\" \"a\0b\"\r\n", 21), "malformed_response"},
      {"unclosed bracket", "* 1 FETCH (BODY[HEADER 1)\r\n", "malformed_response"},
      {"code without bracket", "a1 OK [READ-WRITE done\r\n", "malformed_response"},
      {"number too large", "* 99999999999999999999999 EXISTS\r\n", "malformed_response"},
      {"deep nesting", "* X ((((((x))))))\r\n", "max_depth"},
      {"too many values", "* SEARCH" + [] {
         std::string s;
         for (int i = 0; i < 60; ++i) s += " 1";
         return s;
       }() + "\r\n", "max_values"},
      {"literal over limit", "* 1 FETCH (BODY[] {1001}\r\n", "max_literal_bytes"},
      {"literals over response limit",
       "* 1 FETCH (A {900}\r\n" + std::string(900, 'a') + " B {900}\r\n" + std::string(900, 'b') +
           " C {900}\r\n",
       "max_response_bytes"},
  };
  for (const Malformed& m : table) {
    imap::ParseResult r = Parse(m.bytes, limits);
    BOOST_TEST_CONTEXT(m.name) {
      BOOST_TEST((r.state == ParseState::kError));
      BOOST_TEST(r.error.reason() == m.reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_empty_input_needs_a_byte) {
  imap::ParseResult r = Parse("");
  BOOST_TEST((r.state == ParseState::kNeedMore));
  BOOST_TEST(r.need_total == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(imap_protocol)

BOOST_AUTO_TEST_CASE(translates_folder_names_to_the_server_delimiter) {
  BOOST_TEST(*imap::TranslateFolderName("Archive/DMARC", '.') == "Archive.DMARC");
  BOOST_TEST(*imap::TranslateFolderName("Archive/DMARC", '/') == "Archive/DMARC");
  BOOST_TEST(*imap::TranslateFolderName("inbox", '.') == "INBOX");
  BOOST_TEST(*imap::TranslateFolderName("inbox/Reports", '.') == "INBOX.Reports");
  BOOST_TEST(*imap::TranslateFolderName("Flat", '\0') == "Flat");
  BOOST_TEST(imap::TranslateFolderName("a/b", '\0').status().reason() == "no_hierarchy");
  BOOST_TEST(imap::TranslateFolderName("v1.2/x", '.').status().reason() == "bad_folder_name");
  BOOST_TEST(imap::TranslateFolderName("a//b", '.').status().reason() == "bad_folder_name");
  BOOST_TEST(imap::TranslateFolderName("", '.').status().reason() == "bad_folder_name");
}

BOOST_AUTO_TEST_CASE(encodes_folder_names_in_modified_utf7) {
  // RFC 3501 §5.1.3's own example, and '&'.
  BOOST_TEST(*imap::EncodeMailboxName("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e") ==
             "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  BOOST_TEST(*imap::EncodeMailboxName("R&D") == "R&-D");
  BOOST_TEST(*imap::EncodeMailboxName("Entw\xc3\xbcrfe") == "Entw&APw-rfe");
  // A character outside the BMP becomes a surrogate pair.
  BOOST_TEST(*imap::EncodeMailboxName("\xf0\x9f\x93\xa7") == "&2D3c5w-");
  BOOST_TEST(!imap::EncodeMailboxName("bad\xff").ok());
  BOOST_TEST(!imap::EncodeMailboxName("tab\there").ok());
}

BOOST_AUTO_TEST_CASE(quotes_strings_and_refuses_line_breaks) {
  BOOST_TEST(*imap::Quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  BOOST_TEST(!imap::Quote("two\r\nlines").ok());
}

BOOST_AUTO_TEST_CASE(builds_sasl_responses) {
  // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
  BOOST_TEST(*imap::Base64Decode(imap::SaslPlainResponse("tim", "tanstaaftanstaaf")) ==
             std::string("\0tim\0tanstaaftanstaaf", 21));
  BOOST_TEST(*imap::Base64Decode(imap::Xoauth2Response("someuser@example.com", "ya29.vF9dft4")) ==
             "user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4\x01\x01");
  BOOST_TEST(imap::Base64Encode("") == "");
  BOOST_TEST(imap::Base64Encode("f") == "Zg==");
  BOOST_TEST(imap::Base64Encode("fo") == "Zm8=");
  BOOST_TEST(imap::Base64Encode("foo") == "Zm9v");
  BOOST_TEST(!imap::Base64Decode("Zm9v!").has_value());
  BOOST_TEST(imap::DescribeXoauth2Challenge("%%%") == "an undecodable challenge");
}

BOOST_AUTO_TEST_CASE(formats_uid_sets_as_ranges) {
  BOOST_TEST(dmarcwatch::ingest::FormatUidSet({7, 1, 2, 3, 5, 9, 10, 3}) == "1:3,5,7,9:10");
  BOOST_TEST(dmarcwatch::ingest::FormatUidSet({4294967295u}) == "4294967295");
}

BOOST_AUTO_TEST_SUITE_END()
