#include "dmarcwatch/model/text.h"

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/model/report.h"

namespace m = dmarcwatch::model;

BOOST_AUTO_TEST_SUITE(text_helpers)

BOOST_AUTO_TEST_CASE(printable_masks_control_bytes_and_bad_utf8) {
  BOOST_TEST(m::Printable("a\nb\x01" "c") == "a?b?c");
  BOOST_TEST(m::Printable("caf\xc3\xa9") == "caf\xc3\xa9");
  BOOST_TEST(m::Printable("bad\xff\xfe") == "bad??");
  BOOST_TEST(m::Printable("\xed\xa0\x80") == "???");  // a UTF-16 surrogate is not UTF-8
}

BOOST_AUTO_TEST_CASE(printable_caps_without_splitting_a_character) {
  BOOST_TEST(m::Printable("abcdef", 4) == "abcd...");
  BOOST_TEST(m::Printable("ab\xc3\xa9", 3) == "ab...");
  BOOST_TEST(m::Printable("abc", 3) == "abc");
}

BOOST_AUTO_TEST_CASE(trims_and_compares_ascii) {
  BOOST_TEST(m::TrimAscii("  \r\n pass\t ") == "pass");
  BOOST_TEST(m::TrimAscii("   ").empty());
  BOOST_TEST(m::EqualsIgnoreCase("PermError", "permerror"));
  BOOST_TEST(!m::EqualsIgnoreCase("pass", "passe"));
  BOOST_TEST(m::AsciiLower("Example.COM") == "example.com");
}

BOOST_AUTO_TEST_CASE(trims_exactly_the_six_ascii_spaces) {
  const std::string_view kSpace(" \t\n\v\f\r");
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool space = kSpace.find(c) != std::string_view::npos;
    const std::string padded = std::string(2, c) + "a" + c + "b" + std::string(3, c);
    const std::string_view want = space ? std::string_view(padded).substr(2, 3) : padded;
    BOOST_TEST(m::TrimAscii(padded) == want, "byte " << b);
    BOOST_TEST(m::TrimAscii(std::string(1, c)).empty() == space, "byte " << b);
  }
  BOOST_TEST(m::TrimAscii("").empty());
  BOOST_TEST(m::TrimAscii("x") == "x");
}

BOOST_AUTO_TEST_CASE(utf8_validation) {
  BOOST_TEST(m::IsValidUtf8("plain"));
  BOOST_TEST(m::IsValidUtf8("\xe2\x82\xac"));
  BOOST_TEST(!m::IsValidUtf8("\xc0\xaf"));   // overlong
  BOOST_TEST(!m::IsValidUtf8("\xe9t\xe9"));  // latin-1
}

BOOST_AUTO_TEST_CASE(message_counts_saturate) {
  m::Report r;
  r.records.resize(2);
  r.records[0].count = UINT64_MAX - 1;
  r.records[1].count = 5;
  BOOST_TEST(r.MessageCount() == UINT64_MAX);
  BOOST_TEST(m::HexEncode("\x01\xab") == "01ab");
}

BOOST_AUTO_TEST_SUITE_END()
