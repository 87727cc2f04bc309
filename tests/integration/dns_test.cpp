// The c-ares resolver, forward-confirmed reverse DNS and SPF expansion
// against a real DNS server: unbound (Debian package `unbound`), started by
// this test on 127.0.0.1 with a free port and a generated configuration that
// answers only from local zones. Nothing leaves the machine: every name the
// tests ask is in a local zone, and everything else is refused.
//
// A missing unbound fails every test that needs it, with a message saying
// what to install; it is never skipped.

#define BOOST_TEST_MODULE dns
#include "dmarcwatch/analysis/dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dmarcwatch/analysis/spf.h"
#include "unbound_server.h"

namespace dmarcwatch::analysis {

// For Boost.Test messages; found by argument-dependent lookup.
static std::ostream& operator<<(std::ostream& os, DnsRcode rcode) { return os << ToString(rcode); }

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kBenchAddresses = 10000;

// 198.18.0.0/15 is set aside for benchmarks (RFC 2544); the n-th address.
std::string BenchAddress(int n) {
  return "198.18." + std::to_string(n / 256) + "." + std::to_string(n % 256);
}

// The test zones, as unbound configuration lines.
std::string ZoneConfig() {
  std::ostringstream z;
  const auto zone = [&](const std::string& name) {
    z << "  local-zone: \"" << name << "\" static\n";
  };
  const auto data = [&](const std::string& rr) { z << "  local-data: '" << rr << "'\n"; };
  const auto ptr = [&](const std::string& ip, const std::string& name) {
    z << "  local-data-ptr: \"" << ip << " " << name << "\"\n";
  };

  zone("example.com.");
  data("ready.example.com. A 192.0.2.1");
  data("www.example.com. 600 A 192.0.2.80");
  data("www.example.com. 600 AAAA 2001:db8::80");
  data("multi.example.com. A 192.0.2.1");
  data("multi.example.com. A 192.0.2.2");
  // A TXT record of several character-strings, and a second record.
  const std::string part1(200, 'a'), part2(200, 'b'), part3(100, 'c');
  data("long.example.com. TXT \"" + part1 + "\" \"" + part2 + "\" \"" + part3 + "\"");
  data("long.example.com. TXT \"second record\"");
  // Answers too big for UDP (c-ares retries over TCP): a 5,000-octet record
  // is kept, a 10,000-octet one is over the resolver's cap and dropped.
  std::string big, huge;
  for (int i = 0; i < 20; ++i) big += " \"" + std::string(250, static_cast<char>('a' + i)) + "\"";
  for (int i = 0; i < 40; ++i) huge += " \"" + std::string(250, 'h') + "\"";
  data("big.example.com. TXT" + big);
  data("huge.example.com. TXT" + huge);
  data("huge.example.com. TXT \"short\"");
  data("hugeonly.example.com. TXT" + huge);
  // MX order on the wire is not preference order.
  data("example.com. MX 20 mx2.example.com.");
  data("example.com. MX 30 mx3.example.com.");
  data("example.com. MX 10 mx1.example.com.");
  data("example.com. A 192.0.2.10");
  data("example.com. TXT \"site-verification=abc123\"");
  data(
      "example.com. TXT \"v=spf1 a mx ip4:198.51.100.0/28 ip6:2001:db8:100::/48 "
      "include:_spf.provider.example ~all\"");
  data("mx1.example.com. A 192.0.2.25");
  data("mx2.example.com. A 192.0.2.26");
  data("mx2.example.com. AAAA 2001:db8::26");
  data("mx3.example.com. A 192.0.2.27");
  // FCrDNS: mail.example.com leads back to .25 / ::25.
  data("mail.example.com. A 192.0.2.25");
  data("mail.example.com. AAAA 2001:db8::25");
  data("a.example.com. A 192.0.2.30");
  data("b.example.com. A 192.0.2.31");
  data("many.example.com. A 192.0.2.40");
  data("nomail.example.com. MX 0 .");

  zone("provider.example.");
  data(
      "_spf.provider.example. TXT \"v=spf1 ip4:203.0.113.0/24 "
      "include:_netblocks.provider.example -all\"");
  data(
      "_netblocks.provider.example. TXT \"v=spf1 ip4:198.51.100.128/25 "
      "ip6:2001:db8:200::/40 -all\"");

  // A domain whose record needs 11 lookups.
  zone("over.example.");
  std::string over = "v=spf1";
  for (int i = 1; i <= 11; ++i) {
    over += " include:i" + std::to_string(i) + ".over.example";
    data("i" + std::to_string(i) + ".over.example. TXT \"v=spf1 ip4:203.0.113." +
         std::to_string(i) + " -all\"");
  }
  // Longer than one character-string (255 octets): published as two,
  // which SPF joins without a separator (RFC 7208 §3.3).
  const std::size_t half = over.find(" include:i7.");
  data("over.example. TXT \"" + over.substr(0, half) + "\" \"" + over.substr(half) + " -all\"");

  zone("2.0.192.in-addr.arpa.");
  ptr("192.0.2.25", "mail.example.com");
  ptr("192.0.2.99", "mail.example.com");  // points at a name that points elsewhere
  data("30.2.0.192.in-addr.arpa. PTR a.example.com.");
  data("30.2.0.192.in-addr.arpa. PTR b.example.com.");
  for (int i = 0; i < 12; ++i) {
    data("40.2.0.192.in-addr.arpa. PTR n" + std::to_string(i) + ".example.com.");
  }
  zone("8.b.d.0.1.0.0.2.ip6.arpa.");
  ptr("2001:db8::25", "mail.example.com");
  ptr("2001:db8::99", "mail.example.com");

  zone("bench.example.");
  zone("18.198.in-addr.arpa.");
  for (int i = 0; i < kBenchAddresses; ++i) {
    const std::string name = "h" + std::to_string(i) + ".bench.example";
    ptr(BenchAddress(i), name);
    data(name + ". A " + BenchAddress(i));
  }
  return z.str();
}

using testing::UnboundServer;

UnboundServer* g_server = nullptr;

struct UnboundFixture {
  UnboundFixture() {
    g_server = &server;
    server.Start(ZoneConfig(), "ready.example.com");
  }
  ~UnboundFixture() {
    server.Stop();
    server.RemoveFiles();
    g_server = nullptr;
  }
  UnboundServer server;
};

// The running server, or a failed test saying why there is none.
UnboundServer& Server() {
  BOOST_REQUIRE_MESSAGE(g_server != nullptr && g_server->ok(),
                        (g_server != nullptr ? g_server->error() : std::string("no fixture")));
  return *g_server;
}

std::unique_ptr<Resolver> MakeResolver(DnsOptions options) {
  if (options.servers.empty()) options.servers = {Server().address()};
  auto resolver = MakeAresResolver(options);
  BOOST_REQUIRE_MESSAGE(resolver.ok(),
                        (resolver.ok() ? std::string() : resolver.status().ToString()));
  return std::move(*resolver);
}

std::unique_ptr<Resolver> MakeResolver() { return MakeResolver(DnsOptions{}); }

model::IpAddress Ip(const std::string& text) {
  auto ip = model::IpAddress::Parse(text);
  BOOST_REQUIRE_MESSAGE(ip.has_value(), "bad test address " << text);
  return *ip;
}

long long MillisecondsSince(Clock::time_point start) {
  return static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// A UDP "server" on 127.0.0.1 that reads queries and never answers,
// recording when each arrived.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    BOOST_REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    BOOST_REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    start_ = Clock::now();
    thread_ = std::thread([this] { Loop(); });
  }
  ~SilentServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void ResetClock() {
    std::lock_guard<std::mutex> lock(mutex_);
    start_ = Clock::now();
    arrivals_.clear();
  }
  // Milliseconds after ResetClock() at which each query arrived.
  std::vector<long long> arrivals() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrivals_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 20) <= 0) continue;
      char buf[4096];
      if (recv(fd_, buf, sizeof(buf), 0) <= 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      arrivals_.push_back(MillisecondsSince(start_));
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  Clock::time_point start_;
  std::vector<long long> arrivals_;
  std::thread thread_;
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(UnboundFixture);

BOOST_AUTO_TEST_SUITE(dns, *boost::unit_test::label("integration"))

BOOST_AUTO_TEST_CASE(a_and_aaaa_answers_carry_addresses_and_ttl) {
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kA, "WWW.Example.COM."},
                                          {DnsType::kAaaa, "www.example.com"},
                                          {DnsType::kA, "multi.example.com"}});
  BOOST_REQUIRE(answers.size() == 3u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kOk);
  BOOST_TEST(answers[0].values == std::vector<std::string>{"192.0.2.80"},
             boost::test_tools::per_element());
  BOOST_TEST(answers[0].ttl == 600u);
  BOOST_TEST(answers[1].rcode == DnsRcode::kOk);
  BOOST_TEST(answers[1].values == std::vector<std::string>{"2001:db8::80"},
             boost::test_tools::per_element());
  BOOST_TEST(answers[1].ttl == 600u);
  const std::set<std::string> multi(answers[2].values.begin(), answers[2].values.end());
  BOOST_TEST((multi == std::set<std::string>{"192.0.2.1", "192.0.2.2"}));
}

BOOST_AUTO_TEST_CASE(txt_strings_of_one_record_are_joined) {
  DnsOptions options;
  options.min_ttl = 123;
  auto resolver = MakeResolver(options);
  const auto answers = resolver->Resolve({{DnsType::kTxt, "long.example.com"}});
  BOOST_REQUIRE(answers.size() == 1u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kOk);
  BOOST_REQUIRE(answers[0].values.size() == 2u);
  const std::string joined = std::string(200, 'a') + std::string(200, 'b') + std::string(100, 'c');
  const std::set<std::string> records(answers[0].values.begin(), answers[0].values.end());
  BOOST_TEST(records.count(joined) == 1u);
  BOOST_TEST(records.count("second record") == 1u);
  // c-ares 1.18 does not report TXT TTLs; the resolver uses min_ttl.
  BOOST_TEST(answers[0].ttl == 123u);
}

BOOST_AUTO_TEST_CASE(large_txt_answers_come_over_tcp_and_are_capped) {
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kTxt, "big.example.com"},
                                          {DnsType::kTxt, "huge.example.com"},
                                          {DnsType::kTxt, "hugeonly.example.com"}});
  BOOST_REQUIRE(answers.size() == 3u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kOk);
  BOOST_REQUIRE(answers[0].values.size() == 1u);
  std::string big;
  for (int i = 0; i < 20; ++i) big += std::string(250, static_cast<char>('a' + i));
  BOOST_TEST(answers[0].values[0] == big);
  // A record over 8 KiB is dropped, not cut: a cut SPF record would mean
  // something its domain never published.
  BOOST_TEST(answers[1].rcode == DnsRcode::kOk);
  BOOST_TEST(answers[1].values == std::vector<std::string>{"short"},
             boost::test_tools::per_element());
  BOOST_TEST(answers[2].rcode == DnsRcode::kNoData);
}

BOOST_AUTO_TEST_CASE(mx_hosts_come_in_preference_order) {
  auto resolver = MakeResolver();
  const auto answers =
      resolver->Resolve({{DnsType::kMx, "example.com"}, {DnsType::kMx, "nomail.example.com"}});
  BOOST_REQUIRE(answers.size() == 2u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kOk);
  const std::vector<std::string> expected = {"mx1.example.com", "mx2.example.com",
                                             "mx3.example.com"};
  BOOST_TEST(answers[0].values == expected, boost::test_tools::per_element());
  // RFC 7505 null MX: the domain names no mail host.
  BOOST_TEST(answers[1].rcode == DnsRcode::kNoData);
  BOOST_TEST(answers[1].values.empty());
}

BOOST_AUTO_TEST_CASE(ptr_answers_for_ipv4_and_ipv6) {
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kPtr, Ip("192.0.2.25").ReverseName()},
                                          {DnsType::kPtr, Ip("2001:db8::25").ReverseName()},
                                          {DnsType::kPtr, Ip("192.0.2.30").ReverseName()}});
  BOOST_REQUIRE(answers.size() == 3u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kOk);
  BOOST_TEST(answers[0].values == std::vector<std::string>{"mail.example.com"},
             boost::test_tools::per_element());
  BOOST_TEST(answers[1].rcode == DnsRcode::kOk);
  BOOST_TEST(answers[1].values == std::vector<std::string>{"mail.example.com"},
             boost::test_tools::per_element());
  const std::set<std::string> two(answers[2].values.begin(), answers[2].values.end());
  BOOST_TEST((two == std::set<std::string>{"a.example.com", "b.example.com"}));
}

BOOST_AUTO_TEST_CASE(nxdomain_and_nodata_are_told_apart) {
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kA, "nothing.example.com"},
                                          {DnsType::kMx, "www.example.com"},
                                          {DnsType::kTxt, "www.example.com"},
                                          {DnsType::kPtr, Ip("192.0.2.200").ReverseName()},
                                          {DnsType::kAaaa, "mx1.example.com"}});
  BOOST_REQUIRE(answers.size() == 5u);
  BOOST_TEST(answers[0].rcode == DnsRcode::kNxDomain);
  BOOST_TEST(answers[1].rcode == DnsRcode::kNoData);
  BOOST_TEST(answers[2].rcode == DnsRcode::kNoData);
  BOOST_TEST(answers[3].rcode == DnsRcode::kNxDomain);
  BOOST_TEST(answers[4].rcode == DnsRcode::kNoData);
  for (const auto& answer : answers) BOOST_TEST(answer.values.empty());
}

BOOST_AUTO_TEST_CASE(names_outside_the_test_zones_are_refused_not_recursed) {
  // The defaults' timeout and tries: a slow server must not turn REFUSED
  // into a timeout.
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kA, "www.example.org"}});
  BOOST_TEST(answers[0].rcode == DnsRcode::kError);  // REFUSED
}

BOOST_AUTO_TEST_CASE(bad_names_are_errors_without_a_query) {
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.address()};
  options.timeout_ms = 200;
  options.tries = 1;
  auto resolver = MakeResolver(options);
  const std::string too_long = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                               std::string(63, 'c') + "." + std::string(62, 'd') + ".example";
  const std::string long_label = std::string(64, 'a') + ".example";
  const Clock::time_point start = Clock::now();
  const auto answers = resolver->Resolve({{DnsType::kA, "a..example.com"},
                                          {DnsType::kA, ""},
                                          {DnsType::kA, "."},
                                          {DnsType::kA, ".example.com"},
                                          {DnsType::kA, too_long},
                                          {DnsType::kA, long_label},
                                          {DnsType::kTxt, "bad name.example"},
                                          {DnsType::kTxt, "esc\\.example"}});
  // Answered before a query could even have timed out (timeout_ms 200),
  // with room for a slow machine; that no query was sent is checked below.
  BOOST_TEST(MillisecondsSince(start) < 2000);
  BOOST_REQUIRE(answers.size() == 8u);
  for (const auto& answer : answers) BOOST_TEST(answer.rcode == DnsRcode::kError);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(silent.arrivals().empty());
}

BOOST_AUTO_TEST_CASE(disabled_dns_answers_error_without_sockets) {
  SilentServer silent;
  DnsOptions options;
  options.enabled = false;
  options.servers = {silent.address()};
  auto resolver = MakeAresResolver(options);
  BOOST_REQUIRE(resolver.ok());
  const auto answers =
      (*resolver)->Resolve({{DnsType::kA, "www.example.com"}, {DnsType::kTxt, "example.com"}});
  BOOST_REQUIRE(answers.size() == 2u);
  for (const auto& answer : answers) BOOST_TEST(answer.rcode == DnsRcode::kError);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(silent.arrivals().empty());
}

BOOST_AUTO_TEST_CASE(invalid_server_addresses_are_rejected) {
  for (const char* server : {"not-an-address", "127.0.0.1,127.0.0.2", ""}) {
    BOOST_TEST_CONTEXT("server \"" << server << "\"") {
      DnsOptions options;
      options.servers = {server};
      auto resolver = MakeAresResolver(options);
      BOOST_TEST(!resolver.ok());
      if (!resolver.ok()) BOOST_TEST((resolver.status().code() == StatusCode::kUnavailable));
    }
  }
  DnsOptions bad;
  bad.servers = {"127.0.0.1:53"};
  bad.max_in_flight = 0;
  auto resolver = MakeAresResolver(bad);
  BOOST_TEST(!resolver.ok());
}

BOOST_AUTO_TEST_CASE(duplicate_questions_get_the_same_answer) {
  auto resolver = MakeResolver();
  const auto answers = resolver->Resolve({{DnsType::kA, "www.example.com"},
                                          {DnsType::kA, "WWW.EXAMPLE.COM"},
                                          {DnsType::kA, "www.example.com."}});
  BOOST_REQUIRE(answers.size() == 3u);
  for (const auto& answer : answers) {
    BOOST_TEST(answer.rcode == DnsRcode::kOk);
    BOOST_TEST(answer.values == std::vector<std::string>{"192.0.2.80"},
               boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(forward_confirmed_ptrs_for_ipv4_and_ipv6) {
  auto resolver = MakeResolver();
  const std::vector<model::IpAddress> ips = {
      Ip("192.0.2.25"), Ip("192.0.2.99"),  Ip("2001:db8::25"),      Ip("2001:db8::99"),
      Ip("192.0.2.30"), Ip("192.0.2.200"), Ip("::ffff:192.0.2.25"), Ip("192.0.2.40")};
  const std::vector<PtrResult> results = ForwardConfirmedPtrs(*resolver, ips);
  BOOST_REQUIRE(results.size() == ips.size());
  const std::vector<std::string> mail = {"mail.example.com"};
  const std::vector<std::string> none;

  BOOST_TEST(results[0].rcode == DnsRcode::kOk);
  BOOST_TEST(results[0].names == mail, boost::test_tools::per_element());
  BOOST_TEST(results[0].confirmed == mail, boost::test_tools::per_element());
  // 192.0.2.99 says it is mail.example.com, which is 192.0.2.25.
  BOOST_TEST(results[1].names == mail, boost::test_tools::per_element());
  BOOST_TEST(results[1].confirmed == none, boost::test_tools::per_element());
  BOOST_TEST(results[2].confirmed == mail, boost::test_tools::per_element());
  BOOST_TEST(results[3].names == mail, boost::test_tools::per_element());
  BOOST_TEST(results[3].confirmed == none, boost::test_tools::per_element());
  // Two PTR names; only a.example.com leads back.
  BOOST_TEST(results[4].names.size() == 2u);
  BOOST_TEST(results[4].confirmed == std::vector<std::string>{"a.example.com"},
             boost::test_tools::per_element());
  BOOST_TEST(results[5].rcode == DnsRcode::kNxDomain);
  BOOST_TEST(results[5].names.empty());
  // An IPv4-mapped source is looked up as the IPv4 address it carries.
  BOOST_TEST(results[6].confirmed == mail, boost::test_tools::per_element());
  // Twelve PTR names: at most ten are kept and checked.
  BOOST_TEST(results[7].names.size() == 10u);
  BOOST_TEST(results[7].confirmed.empty());
}

BOOST_AUTO_TEST_CASE(spf_tree_is_expanded_from_real_dns) {
  auto resolver = MakeResolver();
  const SpfExpansion e = ExpandSpf(*resolver, "example.com");
  std::string problems;
  for (const auto& p : e.problems) problems += "\n  " + p;
  BOOST_TEST(e.found);
  BOOST_TEST(e.rcode == DnsRcode::kOk);
  BOOST_TEST(e.record.rfind("v=spf1 a mx", 0) == 0u);
  BOOST_TEST(e.lookups == 4);  // a, mx, include, nested include
  BOOST_TEST(!e.over_limit);
  BOOST_TEST(!e.dynamic);
  BOOST_TEST(e.void_lookups == 0);
  BOOST_TEST(e.problems.empty(), problems);

  std::vector<std::string> networks;
  for (const SpfNetwork& n : e.networks) networks.push_back(n.network.ToString() + " via " + n.via);
  const std::vector<std::string> expected = {
      "192.0.2.10/32 via example.com",
      "192.0.2.25/32 via example.com",
      "192.0.2.26/32 via example.com",
      "2001:db8::26/128 via example.com",
      "192.0.2.27/32 via example.com",
      "198.51.100.0/28 via example.com",
      "2001:db8:100::/48 via example.com",
      "203.0.113.0/24 via example.com > _spf.provider.example",
      "198.51.100.128/25 via example.com > _spf.provider.example > _netblocks.provider.example",
      "2001:db8:200::/40 via example.com > _spf.provider.example > _netblocks.provider.example",
  };
  BOOST_TEST(networks == expected, boost::test_tools::per_element());
  BOOST_TEST(e.Includes("_spf.provider.example"));
  BOOST_TEST(e.Includes("_netblocks.provider.example"));
  const SpfNetwork* provider = e.Authorizing(Ip("2001:db8:2ff::1"));
  BOOST_REQUIRE(provider != nullptr);
  BOOST_TEST(provider->network.ToString() == "2001:db8:200::/40");
  BOOST_TEST(e.Authorizing(Ip("192.0.2.99")) == nullptr);
}

BOOST_AUTO_TEST_CASE(spf_over_ten_lookups_from_real_dns) {
  auto resolver = MakeResolver();
  MemoryDnsCache cache;
  model::UnixTime now = 1700000000;
  CachingResolver caching(*resolver, cache, DnsOptions{}, [&] { return now; });
  const SpfExpansion e = ExpandSpf(caching, "over.example");
  BOOST_TEST(e.found);
  BOOST_TEST(e.lookups == 11);
  BOOST_TEST(e.over_limit);
  BOOST_TEST(e.networks.size() == 11u);
  const bool reported = std::any_of(e.problems.begin(), e.problems.end(), [](const std::string& p) {
    return p.find("more than 10 DNS lookups (RFC 7208 §4.6.4)") != std::string::npos;
  });
  BOOST_TEST(reported);
  // A second expansion is served from the cache.
  const std::uint64_t misses = caching.misses();
  const SpfExpansion again = ExpandSpf(caching, "over.example");
  BOOST_TEST(caching.misses() == misses);
  BOOST_TEST(again.lookups == 11);
}

BOOST_AUTO_TEST_CASE(ten_thousand_ptr_lookups_complete) {
  auto resolver = MakeResolver();
  std::vector<DnsQuestion> questions;
  std::vector<model::IpAddress> ips;
  for (int i = 0; i < kBenchAddresses; ++i) {
    ips.push_back(Ip(BenchAddress(i)));
    questions.push_back({DnsType::kPtr, ips.back().ReverseName()});
  }
  const Clock::time_point start = Clock::now();
  const auto answers = resolver->Resolve(questions);
  const long long elapsed = MillisecondsSince(start);
  BOOST_TEST_MESSAGE(kBenchAddresses << " PTR lookups against unbound on loopback (max_in_flight "
                                     << DnsOptions{}.max_in_flight << "): " << elapsed << " ms");
  BOOST_REQUIRE(answers.size() == questions.size());
  int ok = 0;
  for (int i = 0; i < kBenchAddresses; ++i) {
    const auto& a = answers[static_cast<std::size_t>(i)];
    if (a.rcode == DnsRcode::kOk && a.values.size() == 1 &&
        a.values[0] == "h" + std::to_string(i) + ".bench.example") {
      ++ok;
    }
  }
  BOOST_TEST(ok == kBenchAddresses);

  const Clock::time_point fcrdns_start = Clock::now();
  const auto results = ForwardConfirmedPtrs(*resolver, ips);
  const long long fcrdns_elapsed = MillisecondsSince(fcrdns_start);
  BOOST_TEST_MESSAGE(kBenchAddresses << " forward-confirmed PTRs (PTR + A): " << fcrdns_elapsed
                                     << " ms");
  const auto confirmed = std::count_if(results.begin(), results.end(),
                                       [](const PtrResult& r) { return r.confirmed.size() == 1; });
  BOOST_TEST(confirmed == kBenchAddresses);
}

BOOST_AUTO_TEST_CASE(small_concurrency_cap_still_answers_everything) {
  DnsOptions options;
  options.max_in_flight = 4;
  auto resolver = MakeResolver(options);
  std::vector<DnsQuestion> questions;
  for (int i = 0; i < 300; ++i)
    questions.push_back({DnsType::kPtr, Ip(BenchAddress(i)).ReverseName()});
  const auto answers = resolver->Resolve(questions);
  BOOST_REQUIRE(answers.size() == questions.size());
  const auto ok = std::count_if(answers.begin(), answers.end(),
                                [](const DnsAnswer& a) { return a.rcode == DnsRcode::kOk; });
  BOOST_TEST(ok == 300);
}

BOOST_AUTO_TEST_CASE(no_more_than_max_in_flight_queries_are_outstanding) {
  // A server that reads and never answers: with one try per query, a new
  // query can only be sent once an earlier one has timed out, so the
  // arrival times show how many were outstanding at once.
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.address()};
  options.timeout_ms = 300;
  options.tries = 1;
  options.max_in_flight = 4;
  auto resolver = MakeResolver(options);
  std::vector<DnsQuestion> questions;
  for (int i = 0; i < 12; ++i) {
    questions.push_back({DnsType::kA, "q" + std::to_string(i) + ".example.com"});
  }
  silent.ResetClock();
  const auto answers = resolver->Resolve(questions);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::vector<long long> arrivals = silent.arrivals();
  for (const auto& answer : answers) BOOST_TEST(answer.rcode == DnsRcode::kTimeout);
  BOOST_TEST(arrivals.size() == 12u);
  // Three waves of four, one timeout (300 ms) apart: no fifth query can
  // arrive before the first has timed out.
  int first_wave = 0;
  for (long long ms : arrivals) first_wave += ms < 290 ? 1 : 0;
  BOOST_TEST(first_wave == 4);
  std::ostringstream times;
  for (long long ms : arrivals) times << ms << " ";
  BOOST_TEST_MESSAGE("query arrival times (ms): " << times.str());
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_yields_timeout_in_time) {
  // Bound but never read: the queries vanish.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  BOOST_REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  DnsOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  options.timeout_ms = 200;
  options.tries = 2;
  auto resolver = MakeResolver(options);
  const Clock::time_point start = Clock::now();
  const auto answers = resolver->Resolve({{DnsType::kA, "www.example.com"},
                                          {DnsType::kTxt, "example.com"},
                                          {DnsType::kPtr, Ip("192.0.2.25").ReverseName()}});
  const long long elapsed = MillisecondsSince(start);
  close(fd);
  BOOST_TEST_MESSAGE("no answer: kTimeout after " << elapsed << " ms (timeout_ms 200, tries 2)");
  BOOST_REQUIRE(answers.size() == 3u);
  for (const auto& answer : answers) BOOST_TEST(answer.rcode == DnsRcode::kTimeout);
  // The batch deadline is timeout_ms × tries × 2 = 800 ms; the upper bound
  // only says it did not hang, with room for a slow machine.
  BOOST_TEST(elapsed >= 150);
  BOOST_TEST(elapsed < 800 + 3000);
}

BOOST_AUTO_TEST_CASE(batch_deadline_cuts_long_retry_schedules) {
  // With 3 tries c-ares would wait 100 + 200 + 400 ms per query (it doubles
  // the wait each round); the resolver's own budget is timeout_ms × tries × 2
  // = 600 ms per wave of max_in_flight queries, so two queries one at a time
  // end at 1,200 ms: the first by c-ares' timeout at 700 ms, the second
  // cancelled by the deadline.
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.address()};
  options.timeout_ms = 100;
  options.tries = 3;
  options.max_in_flight = 1;
  auto resolver = MakeResolver(options);
  const Clock::time_point start = Clock::now();
  const auto answers =
      resolver->Resolve({{DnsType::kA, "one.example.com"}, {DnsType::kA, "two.example.com"}});
  const long long elapsed = MillisecondsSince(start);
  BOOST_TEST_MESSAGE("deadline: both kTimeout after " << elapsed << " ms");
  BOOST_REQUIRE(answers.size() == 2u);
  for (const auto& answer : answers) BOOST_TEST(answer.rcode == DnsRcode::kTimeout);
  BOOST_TEST(elapsed >= 1100);
  BOOST_TEST(elapsed < 1200 + 3000);  // it did not hang; room for a slow machine
  // The resolver is usable after a cancelled batch.
  const auto after = resolver->Resolve({{DnsType::kA, ""}});
  BOOST_TEST(after[0].rcode == DnsRcode::kError);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::analysis
