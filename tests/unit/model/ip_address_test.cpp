#include "dmarcwatch/model/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <unordered_set>

using dmarcwatch::model::IpAddress;
using dmarcwatch::model::IpNetwork;

BOOST_AUTO_TEST_SUITE(ip_address)

BOOST_AUTO_TEST_CASE(parses_and_prints_v4_and_v6) {
  auto v4 = IpAddress::Parse("192.0.2.17");
  BOOST_REQUIRE(v4);
  BOOST_TEST(v4->is_v4());
  BOOST_TEST(v4->ToString() == "192.0.2.17");
  auto v6 = IpAddress::Parse("2001:DB8:0:0::1");
  BOOST_REQUIRE(v6);
  BOOST_TEST(!v6->is_v4());
  BOOST_TEST(v6->ToString() == "2001:db8::1");
}

// ToString formats by hand; stored addresses and rollup keys were written
// by inet_ntop, so the text must be the same, byte for byte. Every pattern
// of zero and non-zero groups (with 0xffff, 1 and other values in the
// non-zero ones), the IPv4 forms, and random addresses.
BOOST_AUTO_TEST_CASE(v6_text_is_inet_ntops) {
  std::mt19937_64 random(7489);
  const auto check = [](const std::array<std::uint8_t, 16>& bytes) {
    char expected[INET6_ADDRSTRLEN] = {};
    BOOST_REQUIRE(inet_ntop(AF_INET6, bytes.data(), expected, sizeof(expected)) != nullptr);
    const std::string got = IpAddress::V6(bytes).ToString();
    BOOST_TEST(got == expected);
    BOOST_TEST(IpAddress::Parse(got)->bytes() == bytes);
  };
  std::size_t checked = 0;
  for (unsigned zeros = 0; zeros < 256; ++zeros) {
    for (unsigned value : {0xffffu, 1u, 0x10u, 0xabcu, 0x2001u, 0x0db8u}) {
      std::array<std::uint8_t, 16> bytes{};
      for (std::size_t w = 0; w < 8; ++w) {
        const unsigned v = (zeros >> w) & 1u ? 0u : static_cast<unsigned>(value + w * (w % 3));
        bytes[2 * w] = static_cast<std::uint8_t>(v >> 8);
        bytes[2 * w + 1] = static_cast<std::uint8_t>(v);
      }
      check(bytes);
      // The same with random last 32 bits (the dotted forms).
      for (std::size_t k = 12; k < 16; ++k) bytes[k] = static_cast<std::uint8_t>(random());
      check(bytes);
      checked += 2;
    }
  }
  for (int n = 0; n < 20000; ++n) {
    std::array<std::uint8_t, 16> bytes{};
    for (std::uint8_t& b : bytes) {
      // Mostly zero bytes, so that zero groups and runs are common.
      b = random() % 3 == 0 ? static_cast<std::uint8_t>(random()) : 0;
    }
    check(bytes);
    ++checked;
  }
  BOOST_TEST(checked == 256u * 6u * 2u + 20000u);
  BOOST_TEST(IpAddress::Parse("::ffff:192.0.2.1")->ToString() == "::ffff:192.0.2.1");
  BOOST_TEST(IpAddress::Parse("::192.0.2.1")->ToString() == "::192.0.2.1");
  BOOST_TEST(IpAddress::Parse("::")->ToString() == "::");
  BOOST_TEST(IpAddress::Parse("1:0:0:2:0:0:0:3")->ToString() == "1:0:0:2::3");
  BOOST_TEST(IpAddress::Parse("1:0:0:2:0:0:3:4")->ToString() == "1::2:0:0:3:4");
  BOOST_TEST(IpAddress::Parse("1:0:2:3:4:5:6:7")->ToString() == "1:0:2:3:4:5:6:7");
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_an_address) {
  for (const char* bad : {"", "999.1.1.1", "1.2.3", "1.2.3.4.5", "not-an-ip", " 1.2.3.4",
                          "1.2.3.4 ", "2001:db8::1%eth0", "::ffff:1.2.3", "01.2.3.4x"}) {
    BOOST_TEST(!IpAddress::Parse(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(reverse_names_follow_rfc_1035_and_3596) {
  BOOST_TEST(IpAddress::Parse("192.0.2.1")->ReverseName() == "1.2.0.192.in-addr.arpa");
  BOOST_TEST(IpAddress::Parse("2001:db8::1")->ReverseName() ==
             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

BOOST_AUTO_TEST_CASE(networks_contain_their_addresses_only) {
  auto net = IpNetwork::Parse("192.0.2.0/28");
  BOOST_REQUIRE(net);
  BOOST_TEST(net->Contains(*IpAddress::Parse("192.0.2.15")));
  BOOST_TEST(!net->Contains(*IpAddress::Parse("192.0.2.16")));
  BOOST_TEST(net->Contains(*IpAddress::Parse("::ffff:192.0.2.3")));
  BOOST_TEST(!net->Contains(*IpAddress::Parse("2001:db8::1")));
  auto v6 = IpNetwork::Parse("2001:db8:10::/64");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->Contains(*IpAddress::Parse("2001:db8:10::abcd")));
  BOOST_TEST(!v6->Contains(*IpAddress::Parse("2001:db8:11::1")));
  auto odd = IpNetwork::Parse("10.0.0.0/9");
  BOOST_REQUIRE(odd);
  BOOST_TEST(odd->Contains(*IpAddress::Parse("10.127.255.255")));
  BOOST_TEST(!odd->Contains(*IpAddress::Parse("10.128.0.0")));
  BOOST_TEST(IpNetwork::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("203.0.113.9")));
}

BOOST_AUTO_TEST_CASE(last_is_the_highest_address_of_the_block) {
  BOOST_TEST(IpNetwork::Parse("192.0.2.0/28")->last().ToString() == "192.0.2.15");
  BOOST_TEST(IpNetwork::Parse("10.0.0.0/9")->last().ToString() == "10.127.255.255");
  BOOST_TEST(IpNetwork::Parse("2001:db8:10::/64")->last().ToString() ==
             "2001:db8:10:0:ffff:ffff:ffff:ffff");
  BOOST_TEST(IpNetwork::Parse("198.51.100.7")->last().ToString() == "198.51.100.7");
}

BOOST_AUTO_TEST_CASE(bare_address_is_a_host_network) {
  auto net = IpNetwork::Parse("198.51.100.7");
  BOOST_REQUIRE(net);
  BOOST_TEST(net->prefix_length() == 32);
  BOOST_TEST(net->ToString() == "198.51.100.7/32");
}

BOOST_AUTO_TEST_CASE(rejects_host_bits_and_bad_prefixes) {
  for (const char* bad : {"192.0.2.1/24", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1",
                          "2001:db8::/129", "2001:db8::1/64", "x/8"}) {
    BOOST_TEST(!IpNetwork::Parse(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(built_from_bytes_equals_parsed_and_hashes_alike) {
  const IpAddress v6 = *IpAddress::Parse("2001:db8::1");
  BOOST_TEST((IpAddress::V6(v6.bytes()) == v6));
  BOOST_TEST(IpAddress::V6(v6.bytes()).ToString() == "2001:db8::1");
  // ::c000:201 and 192.0.2.1 have the same first bytes, not the same family.
  const IpAddress v4 = *IpAddress::Parse("192.0.2.1");
  std::array<std::uint8_t, 16> low{};
  std::copy_n(v4.bytes().begin(), 4, low.begin());
  const IpAddress other = IpAddress::V6(low);
  BOOST_TEST((other != v4));
  BOOST_TEST((v4 < other));  // IPv4 sorts first
  const std::unordered_set<IpAddress> set{v4, other, v6, *IpAddress::Parse("2001:db8::1")};
  BOOST_TEST(set.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
