// SPF expansion (RFC 7208) and the caching resolver, against a scripted
// Resolver: a table of answers. This tests expansion and caching logic, not
// DNS; tests/integration/dns_test.cpp runs the same code against a real
// server.

#include "dmarcwatch/analysis/spf.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/analysis/dns.h"

namespace dmarcwatch::analysis {

// For Boost.Test messages; found by argument-dependent lookup.
static std::ostream& operator<<(std::ostream& os, DnsRcode rcode) { return os << ToString(rcode); }

namespace {

// Answers from a table; anything not in it is NXDOMAIN. Records every batch
// it is asked.
class ScriptedResolver : public Resolver {
 public:
  void Set(DnsType type, const std::string& name, DnsAnswer answer) {
    table_[{type, name}] = std::move(answer);
  }
  void Txt(const std::string& name, std::vector<std::string> records) {
    Set(DnsType::kTxt, name, Ok(std::move(records)));
  }
  void A(const std::string& name, std::vector<std::string> addresses) {
    Set(DnsType::kA, name, Ok(std::move(addresses)));
  }
  void Aaaa(const std::string& name, std::vector<std::string> addresses) {
    Set(DnsType::kAaaa, name, Ok(std::move(addresses)));
  }
  void Mx(const std::string& name, std::vector<std::string> hosts) {
    Set(DnsType::kMx, name, Ok(std::move(hosts)));
  }
  void Fail(DnsType type, const std::string& name, DnsRcode rcode) {
    DnsAnswer answer;
    answer.rcode = rcode;
    Set(type, name, answer);
  }

  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuestion>& questions) override {
    batches.push_back(questions);
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& q : questions) {
      auto it = table_.find({q.type, q.name});
      if (it != table_.end()) {
        answers.push_back(it->second);
      } else {
        DnsAnswer nx;
        nx.rcode = DnsRcode::kNxDomain;
        answers.push_back(nx);
      }
    }
    return answers;
  }

  std::size_t QuestionCount() const {
    std::size_t n = 0;
    for (const auto& batch : batches) n += batch.size();
    return n;
  }
  bool Asked(DnsType type, const std::string& name) const {
    for (const auto& batch : batches) {
      for (const auto& q : batch) {
        if (q.type == type && q.name == name) return true;
      }
    }
    return false;
  }

  std::vector<std::vector<DnsQuestion>> batches;

 private:
  static DnsAnswer Ok(std::vector<std::string> values, std::uint32_t ttl = 3600) {
    DnsAnswer answer;
    answer.rcode = DnsRcode::kOk;
    answer.values = std::move(values);
    answer.ttl = ttl;
    return answer;
  }
  std::map<std::pair<DnsType, std::string>, DnsAnswer> table_;
};

model::IpAddress Ip(const std::string& text) {
  auto ip = model::IpAddress::Parse(text);
  BOOST_REQUIRE_MESSAGE(ip.has_value(), "bad test address " << text);
  return *ip;
}

std::vector<std::string> NetworkTexts(const SpfExpansion& e) {
  std::vector<std::string> out;
  for (const SpfNetwork& n : e.networks) out.push_back(n.network.ToString());
  return out;
}

std::string ViaOf(const SpfExpansion& e, const std::string& network) {
  for (const SpfNetwork& n : e.networks) {
    if (n.network.ToString() == network) return n.via;
  }
  return "<not found>";
}

bool HasProblem(const SpfExpansion& e, const std::string& fragment) {
  return std::any_of(e.problems.begin(), e.problems.end(),
                     [&](const std::string& p) { return p.find(fragment) != std::string::npos; });
}

std::string AllProblems(const SpfExpansion& e) {
  std::string out;
  for (const auto& p : e.problems) out += "\n  " + p;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spf)

BOOST_AUTO_TEST_CASE(flattens_ip4_and_ip6_with_default_and_explicit_cidr) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip6:2001:db8::/32 "
                          "+ip6:2001:db8:1::1 -all"});
  const SpfExpansion e = ExpandSpf(dns, "Example.COM.");
  BOOST_TEST(e.found);
  BOOST_TEST(e.domain == "example.com");
  BOOST_TEST(e.rcode == DnsRcode::kOk);
  BOOST_TEST(e.lookups == 0);
  BOOST_TEST(!e.dynamic);
  BOOST_TEST(e.problems.empty(), AllProblems(e));
  const std::vector<std::string> expected = {"192.0.2.0/24", "198.51.100.7/32", "2001:db8::/32",
                                             "2001:db8:1::1/128"};
  BOOST_TEST(NetworkTexts(e) == expected, boost::test_tools::per_element());
  BOOST_TEST(ViaOf(e, "192.0.2.0/24") == "example.com");
}

BOOST_AUTO_TEST_CASE(a_and_mx_add_the_networks_of_their_hosts) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 a a:web.example.com/24 mx//64 mx:other.example/28 -all"});
  dns.A("example.com", {"192.0.2.10"});
  dns.Aaaa("example.com", {"2001:db8::10"});
  dns.A("web.example.com", {"198.51.100.77"});
  dns.Mx("example.com", {"mx1.example.com", "mx2.example.com"});
  dns.A("mx1.example.com", {"192.0.2.25"});
  dns.Aaaa("mx1.example.com", {"2001:db8::25"});
  dns.A("mx2.example.com", {"192.0.2.26"});
  dns.Mx("other.example", {"mx.other.example"});
  dns.A("mx.other.example", {"203.0.113.77"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.found);
  BOOST_TEST(e.lookups == 4);  // a, a, mx, mx; MX host addresses are not counted (§4.6.4)
  const std::vector<std::string> expected = {
      "192.0.2.10/32", "2001:db8::10/128", "198.51.100.0/24", "192.0.2.25/32",
      "2001:db8::/64", "192.0.2.26/32",    "203.0.113.64/28"};
  BOOST_TEST(NetworkTexts(e) == expected, boost::test_tools::per_element());
  // Missing AAAA records of hosts that have A records are not void lookups.
  BOOST_TEST(e.void_lookups == 0);
  BOOST_TEST(e.problems.empty(), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(include_networks_carry_the_include_chain) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1 include:_spf.provider.example ~all"});
  dns.Txt("_spf.provider.example",
          {"v=spf1 ip4:198.51.100.0/24 include:_netblocks.provider.example -all"});
  dns.Txt("_netblocks.provider.example", {"v=spf1 ip6:2001:db8:aa::/48 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.found);
  BOOST_TEST(e.lookups == 2);
  BOOST_TEST(ViaOf(e, "192.0.2.1/32") == "example.com");
  BOOST_TEST(ViaOf(e, "198.51.100.0/24") == "example.com > _spf.provider.example");
  BOOST_TEST(ViaOf(e, "2001:db8:aa::/48") ==
             "example.com > _spf.provider.example > _netblocks.provider.example");
  const std::vector<std::string> includes = {"_spf.provider.example",
                                             "_netblocks.provider.example"};
  BOOST_TEST(e.includes == includes, boost::test_tools::per_element());
  BOOST_TEST(e.Includes("_NETBLOCKS.Provider.Example."));
  BOOST_TEST(!e.Includes("provider.example"));
  const SpfNetwork* hit = e.Authorizing(Ip("2001:db8:aa::25"));
  BOOST_REQUIRE(hit != nullptr);
  BOOST_TEST(hit->network.ToString() == "2001:db8:aa::/48");
  BOOST_TEST(e.Authorizing(Ip("203.0.113.1")) == nullptr);
  BOOST_TEST(e.problems.empty(), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(a_record_is_resolved_in_one_batch_per_level) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:a.example include:b.example a mx -all"});
  dns.Txt("a.example", {"v=spf1 ip4:192.0.2.1 -all"});
  dns.Txt("b.example", {"v=spf1 ip4:192.0.2.2 -all"});
  dns.A("example.com", {"192.0.2.3"});
  dns.Mx("example.com", {"mx.example.com"});
  dns.A("mx.example.com", {"192.0.2.4"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 4);
  // TXT of example.com; the four terms together; the MX host; the two
  // included records add no further questions.
  BOOST_REQUIRE(dns.batches.size() >= 3u);
  BOOST_TEST(dns.batches[0].size() == 1u);
  BOOST_TEST(dns.batches[1].size() == 5u);  // 2 TXT, A, AAAA, MX
  BOOST_TEST(dns.batches[2].size() == 2u);  // A, AAAA of the MX host
  const std::vector<std::string> expected = {"192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32",
                                             "192.0.2.4/32"};
  BOOST_TEST(NetworkTexts(e) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(redirect_is_followed_only_without_all) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1 redirect=_spf.example.net"});
  dns.Txt("_spf.example.net", {"v=spf1 ip4:198.51.100.0/24 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 1);
  BOOST_TEST(ViaOf(e, "198.51.100.0/24") == "example.com > _spf.example.net");
  BOOST_TEST(e.Includes("_spf.example.net"));

  ScriptedResolver with_all;
  with_all.Txt("example.com", {"v=spf1 redirect=_spf.example.net ip4:192.0.2.1 ~all"});
  with_all.Txt("_spf.example.net", {"v=spf1 ip4:198.51.100.0/24 -all"});
  const SpfExpansion ignored = ExpandSpf(with_all, "example.com");
  // §6.1: redirect is ignored when "all" is anywhere in the record.
  BOOST_TEST(ignored.lookups == 0);
  BOOST_TEST(!ignored.Includes("_spf.example.net"));
  BOOST_TEST(!with_all.Asked(DnsType::kTxt, "_spf.example.net"));
  BOOST_TEST(NetworkTexts(ignored) == std::vector<std::string>{"192.0.2.1/32"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(redirect_to_a_domain_without_spf_is_a_problem) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 redirect=nothing.example"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.found);
  BOOST_TEST(e.lookups == 1);
  BOOST_TEST(e.void_lookups == 1);
  BOOST_TEST(HasProblem(e, "nothing.example has no SPF record"), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(eleven_includes_count_eleven_lookups_and_are_over_the_limit) {
  ScriptedResolver dns;
  std::string record = "v=spf1";
  for (int i = 1; i <= 11; ++i) {
    const std::string name = "i" + std::to_string(i) + ".example";
    record += " include:" + name;
    dns.Txt(name, {"v=spf1 ip4:192.0.2." + std::to_string(i) + " -all"});
  }
  dns.Txt("example.com", {record + " -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 11);
  BOOST_TEST(e.over_limit);
  BOOST_TEST(HasProblem(e, "more than 10 DNS lookups (RFC 7208 §4.6.4)"), AllProblems(e));
  // The networks beyond the limit are still shown, flagged by over_limit.
  BOOST_TEST(e.networks.size() == 11u);
  BOOST_TEST(e.includes.size() == 11u);
}

BOOST_AUTO_TEST_CASE(ten_lookups_are_within_the_limit) {
  ScriptedResolver dns;
  // 1 include + (the included record's 2 a, 1 mx, 1 exists, 1 ptr) + 4 more
  // a in the top record = 10; ip4/ip6/all/exp are not lookups.
  dns.Txt("example.com",
          {"v=spf1 include:p.example a a a a ip4:192.0.2.0/24 exp=explain.example -all"});
  dns.Txt("p.example", {"v=spf1 a a mx exists:%{i}.x.example ptr ip6:2001:db8::/32 ?all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 10);
  BOOST_TEST(!e.over_limit);
  BOOST_TEST(!HasProblem(e, "more than 10"), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(lookups_are_counted_per_term_not_per_query) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 a mx -all"});
  dns.A("example.com", {"192.0.2.1"});
  dns.Aaaa("example.com", {"2001:db8::1"});
  dns.Mx("example.com", {"mx1.example.com", "mx2.example.com", "mx3.example.com"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  // "a" asks A and AAAA, "mx" asks MX and six address queries: two terms.
  BOOST_TEST(e.lookups == 2);
  BOOST_TEST(dns.QuestionCount() == 1u + 3u + 6u);
}

BOOST_AUTO_TEST_CASE(expansion_stops_at_the_hard_cap_but_reports_the_count) {
  ScriptedResolver dns;
  std::string record = "v=spf1";
  for (int i = 1; i <= 25; ++i) record += " a:h" + std::to_string(i) + ".example";
  dns.Txt("example.com", {record + " -all"});
  for (int i = 1; i <= 25; ++i) dns.A("h" + std::to_string(i) + ".example", {"192.0.2.1"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 20);
  BOOST_TEST(e.over_limit);
  BOOST_TEST(HasProblem(e, "expansion stopped after 20 DNS lookups"), AllProblems(e));
  BOOST_TEST(!dns.Asked(DnsType::kA, "h21.example"));
  BOOST_TEST(dns.Asked(DnsType::kA, "h20.example"));
}

BOOST_AUTO_TEST_CASE(void_lookups_are_counted) {
  ScriptedResolver dns;
  dns.Txt("example.com",
          {"v=spf1 include:gone.example a:nodata.example mx:nomx.example a:ok.example -all"});
  dns.Fail(DnsType::kA, "nodata.example", DnsRcode::kNoData);
  dns.Fail(DnsType::kAaaa, "nodata.example", DnsRcode::kNoData);
  dns.Fail(DnsType::kMx, "nomx.example", DnsRcode::kNoData);
  dns.A("ok.example", {"192.0.2.1"});  // its AAAA is NXDOMAIN, but A answered: not void
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.lookups == 4);
  BOOST_TEST(e.void_lookups == 3);
  BOOST_TEST(HasProblem(e, "more than 2 void lookups (RFC 7208 §4.6.4)"), AllProblems(e));
  BOOST_TEST(HasProblem(e, "gone.example has no SPF record"), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(include_loop_is_reported_and_not_followed) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:a.example -all"});
  dns.Txt("a.example", {"v=spf1 include:b.example -all"});
  dns.Txt("b.example", {"v=spf1 include:A.example. ip4:192.0.2.1 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(HasProblem(e, "loop: example.com > a.example > b.example > a.example"),
             AllProblems(e));
  BOOST_TEST(e.lookups == 3);  // the looping include is counted once, then not followed
  BOOST_TEST(NetworkTexts(e) == std::vector<std::string>{"192.0.2.1/32"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(self_include_is_a_loop) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:example.com -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(HasProblem(e, "loop: example.com > example.com"), AllProblems(e));
  BOOST_TEST(dns.batches.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_same_include_in_two_branches_is_not_a_loop) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:a.example include:b.example -all"});
  dns.Txt("a.example", {"v=spf1 include:common.example -all"});
  dns.Txt("b.example", {"v=spf1 include:common.example -all"});
  dns.Txt("common.example", {"v=spf1 ip4:192.0.2.0/24 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(!HasProblem(e, "loop"), AllProblems(e));
  BOOST_TEST(e.lookups == 4);  // receivers evaluate it twice, and count it twice
  BOOST_TEST(ViaOf(e, "192.0.2.0/24") == "example.com > a.example > common.example");
  BOOST_TEST(e.networks.size() == 2u);
}

BOOST_AUTO_TEST_CASE(deep_include_chains_are_cut) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:d1.example -all"});
  for (int i = 1; i <= 15; ++i) {
    dns.Txt("d" + std::to_string(i) + ".example",
            {"v=spf1 include:d" + std::to_string(i + 1) + ".example -all"});
  }
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  // Ten nested includes are within the limit and followed; the eleventh is
  // counted, not followed.
  BOOST_TEST(HasProblem(e, "nested too deeply"), AllProblems(e));
  BOOST_TEST(e.lookups == 11);
  BOOST_TEST(e.over_limit);
  BOOST_TEST(dns.Asked(DnsType::kTxt, "d10.example"));
  BOOST_TEST(!dns.Asked(DnsType::kTxt, "d11.example"));
}

BOOST_AUTO_TEST_CASE(several_spf_records_are_a_permerror) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1 -all", "v=spf1 include:x.example -all",
                          "google-site-verification=abc"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(!e.found);
  BOOST_TEST(e.record.empty());
  BOOST_TEST(e.rcode == DnsRcode::kOk);
  BOOST_TEST(HasProblem(e, "several SPF records"), AllProblems(e));
  BOOST_TEST(e.networks.empty());
}

BOOST_AUTO_TEST_CASE(no_record_nxdomain_and_failures_leave_found_false) {
  ScriptedResolver dns;
  dns.Txt("text-only.example", {"hello", "v=spf10 ip4:192.0.2.1", "v=spf1x"});
  dns.Fail(DnsType::kTxt, "nodata.example", DnsRcode::kNoData);
  dns.Fail(DnsType::kTxt, "slow.example", DnsRcode::kTimeout);

  const SpfExpansion text_only = ExpandSpf(dns, "text-only.example");
  BOOST_TEST(!text_only.found);
  BOOST_TEST(text_only.rcode == DnsRcode::kOk);
  BOOST_TEST(HasProblem(text_only, "no SPF record"), AllProblems(text_only));

  const SpfExpansion nodata = ExpandSpf(dns, "nodata.example");
  BOOST_TEST(!nodata.found);
  BOOST_TEST(nodata.rcode == DnsRcode::kNoData);

  const SpfExpansion missing = ExpandSpf(dns, "missing.example");
  BOOST_TEST(!missing.found);
  BOOST_TEST(missing.rcode == DnsRcode::kNxDomain);
  BOOST_TEST(HasProblem(missing, "does not exist"), AllProblems(missing));

  const SpfExpansion slow = ExpandSpf(dns, "slow.example");
  BOOST_TEST(!slow.found);
  BOOST_TEST(slow.rcode == DnsRcode::kTimeout);
  BOOST_TEST(HasProblem(slow, "temperror"), AllProblems(slow));

  const SpfExpansion bad = ExpandSpf(dns, "bad..example");
  BOOST_TEST(!bad.found);
  BOOST_TEST(dns.batches.size() == 4u);  // the bad name is never asked
}

BOOST_AUTO_TEST_CASE(version_tag_is_case_insensitive) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"V=SPF1 IP4:192.0.2.1 -ALL"});
  dns.Txt("bare.example", {"v=spf1"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.found);
  BOOST_TEST(NetworkTexts(e) == std::vector<std::string>{"192.0.2.1/32"},
             boost::test_tools::per_element());
  const SpfExpansion bare = ExpandSpf(dns, "bare.example");
  BOOST_TEST(bare.found);
  BOOST_TEST(bare.networks.empty());
  BOOST_TEST(bare.problems.empty(), AllProblems(bare));
}

BOOST_AUTO_TEST_CASE(only_pass_qualified_mechanisms_authorise) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 -ip4:192.0.2.66 ~ip4:192.0.2.67 ?ip4:192.0.2.68 "
                          "-a:bad.example ~include:soft.example +ip4:192.0.2.1 -all"});
  dns.A("bad.example", {"198.51.100.1"});
  dns.Txt("soft.example", {"v=spf1 ip4:203.0.113.0/24 include:deeper.example -all"});
  dns.Txt("deeper.example", {"v=spf1 ip4:203.0.114.0/24 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(NetworkTexts(e) == std::vector<std::string>{"192.0.2.1/32"},
             boost::test_tools::per_element());
  // Still counted and reached: a receiver evaluates them.
  BOOST_TEST(e.lookups == 3);
  BOOST_TEST(e.Includes("soft.example"));
  BOOST_TEST(e.Includes("deeper.example"));
  BOOST_TEST(e.Authorizing(Ip("203.0.113.5")) == nullptr);
}

BOOST_AUTO_TEST_CASE(exists_ptr_and_macros_are_dynamic_counted_and_not_resolved) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 exists:%{i}._spf.example.com ptr ptr:example.net "
                          "include:%{ir}.%{v}._spf.example.com a:%{d} mx:%{d}/24 "
                          "redirect=%{d}.example.org"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.found);
  BOOST_TEST(e.dynamic);
  BOOST_TEST(e.lookups == 7);
  BOOST_TEST(dns.batches.size() == 1u);  // only the record itself was fetched
  BOOST_TEST(e.networks.empty());
  BOOST_TEST(HasProblem(e, "ptr mechanism is deprecated (RFC 7208 §5.5)"), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(a_record_without_dynamic_terms_is_not_dynamic) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1 exp=explain.%{d} -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  // exp= is ignored: the macro in it does not make the record dynamic.
  BOOST_TEST(!e.dynamic);
  BOOST_TEST(e.lookups == 0);
}

struct CidrCase {
  const char* term;
  const char* network;  // expected flattened network, or "" for none
  const char* problem;  // expected problem fragment, or "" for none
};

BOOST_AUTO_TEST_CASE(cidr_lengths_are_parsed_strictly) {
  const CidrCase cases[] = {
      {"ip4:192.0.2.0/24", "192.0.2.0/24", ""},
      {"ip4:192.0.2.1", "192.0.2.1/32", ""},
      {"ip4:192.0.2.1/32", "192.0.2.1/32", ""},
      {"ip4:0.0.0.0/0", "0.0.0.0/0", ""},
      {"ip4:192.0.2.1/24", "192.0.2.0/24", "has host bits set"},
      {"ip4:192.0.2.0/33", "", "invalid CIDR length"},
      {"ip4:192.0.2.0/024", "", "invalid CIDR length"},
      {"ip4:192.0.2.0/", "", "invalid CIDR length"},
      {"ip4:192.0.2.0/-1", "", "invalid CIDR length"},
      {"ip4:192.0.2", "", "invalid ip4 address"},
      {"ip4:", "", "invalid ip4"},
      {"ip4", "", "invalid ip4"},
      {"ip4:2001:db8::1", "", "invalid ip4 address"},
      {"ip6:192.0.2.1", "", "invalid ip6 address"},
      {"ip6:2001:db8::/32", "2001:db8::/32", ""},
      {"ip6:2001:db8::1", "2001:db8::1/128", ""},
      {"ip6:2001:db8::/129", "", "invalid CIDR length"},
      {"ip6:2001:DB8:0:0::/48", "2001:db8::/48", ""},
      {"a/24", "192.0.2.0/24", ""},
      {"a//64", "192.0.2.10/32", ""},
      {"a/24//64", "192.0.2.0/24", ""},
      {"a/24/64", "", "invalid CIDR length"},
      {"a/33", "", "invalid CIDR length"},
      {"a///64", "", "invalid CIDR length"},
      {"a:host.example.com/16", "198.51.0.0/16", ""},
      {"a:", "", "invalid a domain"},
      {"a:bad..example", "", "invalid a domain"},
      {"mx/30", "192.0.2.24/30", ""},
      {"mx:example.com//0", "192.0.2.25/32", ""},
      {"mx:/24", "", "invalid mx domain"},
      {"include:", "", "invalid include domain"},
      {"include:bad/24", "", "invalid include domain"},
      {"all:example.com", "", "invalid all"},
      {"foo:bar", "", "unknown mechanism"},
      {"=x", "", "unknown term"},
      {"unknown-modifier=whatever", "", ""},
  };
  for (const CidrCase& c : cases) {
    BOOST_TEST_CONTEXT("term " << c.term) {
      ScriptedResolver dns;
      dns.Txt("example.com", {std::string("v=spf1 ") + c.term});
      dns.A("example.com", {"192.0.2.10"});
      dns.Aaaa("example.com", {"2001:db8::10"});
      dns.A("host.example.com", {"198.51.100.20"});
      dns.Mx("example.com", {"mx.example.com"});
      dns.A("mx.example.com", {"192.0.2.25"});
      const SpfExpansion e = ExpandSpf(dns, "example.com");
      BOOST_TEST(e.found);
      if (std::string(c.network).empty()) {
        BOOST_TEST(e.networks.empty());
      } else {
        BOOST_REQUIRE(!e.networks.empty());
        BOOST_TEST(e.networks.front().network.ToString() == c.network);
      }
      if (std::string(c.problem).empty()) {
        BOOST_TEST(e.problems.empty(), AllProblems(e));
      } else {
        BOOST_TEST(HasProblem(e, c.problem), AllProblems(e));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(mechanisms_after_all_are_ignored) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1 -all include:late.example ip4:192.0.2.2"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(NetworkTexts(e) == std::vector<std::string>{"192.0.2.1/32"},
             boost::test_tools::per_element());
  BOOST_TEST(e.lookups == 0);
  BOOST_TEST(HasProblem(e, "terms after \"all\" are ignored"), AllProblems(e));
}

BOOST_AUTO_TEST_CASE(duplicate_redirect_is_a_problem) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 redirect=a.example redirect=b.example"});
  dns.Txt("a.example", {"v=spf1 ip4:192.0.2.1 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(HasProblem(e, "more than once"), AllProblems(e));
  BOOST_TEST(e.lookups == 1);
}

BOOST_AUTO_TEST_CASE(mx_with_more_than_ten_hosts_is_a_problem) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 mx -all"});
  std::vector<std::string> hosts;
  for (int i = 1; i <= 12; ++i) {
    hosts.push_back("mx" + std::to_string(i) + ".example.com");
    dns.A(hosts.back(), {"192.0.2." + std::to_string(i)});
  }
  dns.Mx("example.com", hosts);
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(HasProblem(e, "more than 10 MX hosts"), AllProblems(e));
  BOOST_TEST(e.networks.size() == 10u);
  BOOST_TEST(!dns.Asked(DnsType::kA, "mx11.example.com"));
  BOOST_TEST(e.lookups == 1);
}

BOOST_AUTO_TEST_CASE(failed_lookups_inside_the_tree_are_temperrors) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 include:slow.example a:broken.example -all"});
  dns.Fail(DnsType::kTxt, "slow.example", DnsRcode::kTimeout);
  dns.Fail(DnsType::kA, "broken.example", DnsRcode::kServFail);
  dns.Fail(DnsType::kAaaa, "broken.example", DnsRcode::kServFail);
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(HasProblem(e, "TXT lookup failed (timeout; temperror)"), AllProblems(e));
  BOOST_TEST(HasProblem(e, "lookup failed (servfail)"), AllProblems(e));
  BOOST_TEST(e.void_lookups == 0);
}

BOOST_AUTO_TEST_CASE(authorizing_returns_the_first_matching_network) {
  ScriptedResolver dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.7 include:p.example -all"});
  dns.Txt("p.example", {"v=spf1 ip4:192.0.0.0/16 -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  const SpfNetwork* hit = e.Authorizing(Ip("192.0.2.7"));
  BOOST_REQUIRE(hit != nullptr);
  BOOST_TEST(hit->network.ToString() == "192.0.2.0/24");
  const SpfNetwork* provider = e.Authorizing(Ip("192.0.9.1"));
  BOOST_REQUIRE(provider != nullptr);
  BOOST_TEST(provider->via == "example.com > p.example");
  // Reporters sometimes write IPv4 sources as mapped IPv6.
  BOOST_TEST(e.Authorizing(Ip("::ffff:192.0.2.9")) != nullptr);
}

BOOST_AUTO_TEST_CASE(hostile_records_stay_bounded) {
  ScriptedResolver dns;
  std::string record = "v=spf1";
  for (int i = 0; i < 3000; ++i) record += " ip6:2001:db8::" + std::to_string(i % 9000);
  for (int i = 0; i < 300; ++i) record += " bogus" + std::to_string(i);
  dns.Txt("example.com", {record + " include:\x01\x7f\n.example"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.networks.size() == 3000u);
  BOOST_TEST(e.problems.size() <= 100u);
  BOOST_TEST(HasProblem(e, "further problems omitted"), AllProblems(e));
  for (const std::string& p : e.problems) {
    BOOST_TEST(p.find('\n') == std::string::npos);
    BOOST_TEST(p.find('\x01') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(networks_are_capped_at_ten_thousand) {
  ScriptedResolver dns;
  std::string top = "v=spf1";
  for (int k = 0; k < 4; ++k) {
    const std::string name = "big" + std::to_string(k) + ".example";
    top += " include:" + name;
    std::string record = "v=spf1";
    for (int i = 0; i < 3000; ++i) {
      record += " ip4:10." + std::to_string(k) + "." + std::to_string(i / 256) + "." +
                std::to_string(i % 256);
    }
    dns.Txt(name, {record + " -all"});
  }
  dns.Txt("example.com", {top + " -all"});
  const SpfExpansion e = ExpandSpf(dns, "example.com");
  BOOST_TEST(e.networks.size() == 10000u);
  BOOST_TEST(HasProblem(e, "more than 10000 networks"), AllProblems(e));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------

namespace {

DnsAnswer Answer(DnsRcode rcode, std::vector<std::string> values = {}, std::uint32_t ttl = 0) {
  DnsAnswer answer;
  answer.rcode = rcode;
  answer.values = std::move(values);
  answer.ttl = ttl;
  return answer;
}

struct CachingFixture {
  CachingFixture() {
    options.min_ttl = 300;
    options.max_ttl = 86400;
    options.negative_ttl = 3600;
  }
  CachingResolver Make() {
    return CachingResolver(upstream, cache, options, [this] { return now; });
  }
  ScriptedResolver upstream;
  MemoryDnsCache cache;
  DnsOptions options;
  model::UnixTime now = 1700000000;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(caching_resolver, CachingFixture)

BOOST_AUTO_TEST_CASE(second_question_is_answered_from_the_cache) {
  upstream.Set(DnsType::kA, "mail.example.com", Answer(DnsRcode::kOk, {"192.0.2.1"}, 3600));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kA, "mail.example.com"}};
  const auto first = resolver.Resolve(q);
  const auto second = resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 1u);
  BOOST_TEST(resolver.misses() == 1u);
  BOOST_TEST(resolver.hits() == 1u);
  BOOST_REQUIRE(second.size() == 1u);
  BOOST_TEST(second[0].rcode == DnsRcode::kOk);
  BOOST_TEST(second[0].values == first[0].values, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names_match_case_insensitively_and_without_the_trailing_dot) {
  upstream.Set(DnsType::kA, "mail.example.com", Answer(DnsRcode::kOk, {"192.0.2.1"}, 3600));
  CachingResolver resolver = Make();
  (void)resolver.Resolve({{DnsType::kA, "Mail.Example.COM."}});
  const auto again = resolver.Resolve({{DnsType::kA, "mail.example.com"}});
  BOOST_TEST(resolver.hits() == 1u);
  BOOST_TEST(again[0].rcode == DnsRcode::kOk);
  // The type is part of the key.
  (void)resolver.Resolve({{DnsType::kAaaa, "mail.example.com"}});
  BOOST_TEST(resolver.misses() == 2u);
}

BOOST_AUTO_TEST_CASE(misses_go_upstream_in_one_batch_in_order) {
  upstream.Set(DnsType::kA, "a.example", Answer(DnsRcode::kOk, {"192.0.2.1"}, 600));
  upstream.Set(DnsType::kTxt, "b.example", Answer(DnsRcode::kOk, {"hello"}, 600));
  upstream.Set(DnsType::kMx, "c.example", Answer(DnsRcode::kOk, {"mx.c.example"}, 600));
  CachingResolver resolver = Make();
  (void)resolver.Resolve({{DnsType::kA, "a.example"}});
  upstream.batches.clear();
  const auto answers = resolver.Resolve({{DnsType::kTxt, "b.example"},
                                         {DnsType::kA, "a.example"},
                                         {DnsType::kMx, "c.example"},
                                         {DnsType::kTxt, "b.example"}});
  BOOST_REQUIRE(upstream.batches.size() == 1u);
  BOOST_TEST(upstream.batches[0].size() == 2u);  // a.example was cached; b.example asked once
  BOOST_REQUIRE(answers.size() == 4u);
  BOOST_TEST(answers[0].values.at(0) == "hello");
  BOOST_TEST(answers[1].values.at(0) == "192.0.2.1");
  BOOST_TEST(answers[2].values.at(0) == "mx.c.example");
  BOOST_TEST(answers[3].values.at(0) == "hello");
  BOOST_TEST(resolver.hits() == 1u);
  BOOST_TEST(resolver.misses() == 4u);  // 1 earlier + 3 not answered from the cache now
}

BOOST_AUTO_TEST_CASE(negative_answers_are_cached_for_the_negative_ttl) {
  upstream.Set(DnsType::kTxt, "nodata.example", Answer(DnsRcode::kNoData));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kTxt, "nodata.example"},
                                      {DnsType::kTxt, "nx.example"}};
  (void)resolver.Resolve(q);
  now += 3599;
  const auto cached = resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 1u);
  BOOST_TEST(cached[0].rcode == DnsRcode::kNoData);
  BOOST_TEST(cached[1].rcode == DnsRcode::kNxDomain);
  now += 1;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 2u);  // expired after negative_ttl
}

BOOST_AUTO_TEST_CASE(timeouts_and_failures_are_not_cached) {
  upstream.Set(DnsType::kA, "slow.example", Answer(DnsRcode::kTimeout));
  upstream.Set(DnsType::kA, "broken.example", Answer(DnsRcode::kServFail));
  upstream.Set(DnsType::kA, "refused.example", Answer(DnsRcode::kError));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kA, "slow.example"},
                                      {DnsType::kA, "broken.example"},
                                      {DnsType::kA, "refused.example"}};
  (void)resolver.Resolve(q);
  const auto again = resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 2u);
  BOOST_TEST(upstream.batches[1].size() == 3u);
  BOOST_TEST(resolver.hits() == 0u);
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(again[0].rcode == DnsRcode::kTimeout);
  BOOST_TEST(again[1].rcode == DnsRcode::kServFail);
  BOOST_TEST(again[2].rcode == DnsRcode::kError);
}

BOOST_AUTO_TEST_CASE(short_ttls_are_raised_to_min_ttl) {
  upstream.Set(DnsType::kA, "short.example", Answer(DnsRcode::kOk, {"192.0.2.1"}, 5));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kA, "short.example"}};
  (void)resolver.Resolve(q);
  now += 299;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 1u);
  now += 1;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 2u);
}

BOOST_AUTO_TEST_CASE(long_ttls_are_cut_to_max_ttl) {
  upstream.Set(DnsType::kA, "long.example", Answer(DnsRcode::kOk, {"192.0.2.1"}, 604800));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kA, "long.example"}};
  (void)resolver.Resolve(q);
  now += 86399;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 1u);
  now += 1;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 2u);
}

BOOST_AUTO_TEST_CASE(ttl_within_bounds_is_kept) {
  upstream.Set(DnsType::kMx, "mid.example", Answer(DnsRcode::kOk, {"mx.mid.example"}, 7200));
  CachingResolver resolver = Make();
  const std::vector<DnsQuestion> q = {{DnsType::kMx, "mid.example"}};
  (void)resolver.Resolve(q);
  now += 7199;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 1u);
  now += 1;
  (void)resolver.Resolve(q);
  BOOST_TEST(upstream.batches.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_fully_cached_batch_does_not_call_upstream) {
  upstream.Set(DnsType::kA, "a.example", Answer(DnsRcode::kOk, {"192.0.2.1"}, 600));
  CachingResolver resolver = Make();
  (void)resolver.Resolve({{DnsType::kA, "a.example"}});
  (void)resolver.Resolve({{DnsType::kA, "a.example"}, {DnsType::kA, "a.example"}});
  BOOST_TEST(upstream.batches.size() == 1u);
  BOOST_TEST(resolver.hits() == 2u);
}

BOOST_AUTO_TEST_CASE(spf_expansion_through_the_cache_asks_upstream_once) {
  upstream.Set(DnsType::kTxt, "example.com",
               Answer(DnsRcode::kOk, {"v=spf1 include:p.example -all"}, 600));
  upstream.Set(DnsType::kTxt, "p.example",
               Answer(DnsRcode::kOk, {"v=spf1 ip4:192.0.2.0/24 -all"}, 600));
  CachingResolver resolver = Make();
  const SpfExpansion first = ExpandSpf(resolver, "example.com");
  const std::size_t asked = upstream.QuestionCount();
  const SpfExpansion second = ExpandSpf(resolver, "example.com");
  BOOST_TEST(upstream.QuestionCount() == asked);
  BOOST_TEST(second.networks.size() == first.networks.size());
  BOOST_TEST(second.lookups == 1);
}

BOOST_AUTO_TEST_CASE(memory_cache_expires_and_replaces_entries) {
  MemoryDnsCache memory;
  memory.Put(DnsType::kA, "x.example", Answer(DnsRcode::kOk, {"192.0.2.1"}), 100);
  BOOST_TEST(memory.Get(DnsType::kA, "x.example", 99).has_value());
  BOOST_TEST(!memory.Get(DnsType::kAaaa, "x.example", 99).has_value());
  memory.Put(DnsType::kA, "x.example", Answer(DnsRcode::kOk, {"192.0.2.2"}), 200);
  BOOST_TEST(memory.size() == 1u);
  BOOST_TEST(memory.Get(DnsType::kA, "x.example", 150)->values.at(0) == "192.0.2.2");
  BOOST_TEST(!memory.Get(DnsType::kA, "x.example", 200).has_value());
  BOOST_TEST(memory.size() == 0u);  // expired entries are dropped when met
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::analysis
