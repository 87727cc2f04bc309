#pragma once
// SPF records (RFC 7208): fetched through the Resolver and expanded into
// the networks they authorise, with the DNS-lookup count of §4.6.4.
//
// Expansion follows ip4, ip6, a, mx, include and redirect; exists and ptr
// are counted as lookups but cannot be flattened (their result depends on
// the connecting IP), so a record using them is marked `dynamic`. Macros
// (§7) are not expanded. Loops and depth are bounded. This is for
// attribution ("is this IP authorised by SendGrid's include?") and for the
// per-domain check ("does example.com's SPF include every declared path,
// and within 10 lookups?"), not for evaluating live mail.
//
// Only "+" (or unqualified) mechanisms yield networks, and only below
// "+include"s; a record over the 10-lookup limit is still expanded, up to 20
// lookups, so the real count shows. Each record's terms are resolved in one
// batch. Bounds: 10 nested records, 10 MX hosts per mx, 10,000 networks,
// 100 problem lines.

#include <cstdint>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/model/ip_address.h"

namespace dmarcwatch::analysis {

struct SpfNetwork {
  model::IpNetwork network;
  std::string via;  // the include chain it came from: "example.com > sendgrid.net"
};

struct SpfExpansion {
  std::string domain;
  std::string record;                   // the v=spf1 record of `domain` ("" if none)
  DnsRcode rcode = DnsRcode::kError;    // of the TXT lookup of `domain`
  bool found = false;                   // exactly one v=spf1 record
  int lookups = 0;                      // DNS-querying terms, §4.6.4 (limit 10; counted to 20)
  // §4.6.4: limit 2. An "a" lookup is void when neither A nor AAAA answers.
  int void_lookups = 0;
  bool over_limit = false;              // lookups > 10
  bool dynamic = false;                 // uses exists/ptr/macros somewhere
  std::vector<std::string> includes;    // every include/redirect domain reached, in order
  std::vector<SpfNetwork> networks;     // every ip4/ip6/a/mx network, flattened
  std::vector<std::string> problems;    // one line each: "include:x.example has no SPF record"

  // The network entry authorising `ip`, or nullptr.
  const SpfNetwork* Authorizing(const model::IpAddress& ip) const;
  // True when `include_domain` is reached from this record (directly or nested).
  bool Includes(const std::string& include_domain) const;
};

// Fetches and expands the SPF record of `domain`.
SpfExpansion ExpandSpf(Resolver& resolver, const std::string& domain);

}  // namespace dmarcwatch::analysis
