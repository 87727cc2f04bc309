#pragma once
// Helpers shared by the DNS code of analysis (private to the module):
// normalising the names we ask about, and calling a Resolver defensively.
//
// Not thread-safe beyond what the Resolver passed in is.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/analysis/dns.h"

namespace dmarcwatch::analysis::internal {

// RFC 1035 §2.3.4: a name is at most 255 octets on the wire, which leaves
// 253 characters of text without the trailing dot; a label is 1..63 octets.
inline constexpr std::size_t kMaxDnsNameLength = 253;
inline constexpr std::size_t kMaxDnsLabelLength = 63;

// Lower-cases `name` and removes one trailing dot. Returns nullopt when the
// result is not something we send to a server: empty, longer than 253, an
// empty or over-long label, or a byte other than a letter, digit, '-' or
// '_' (underscore names such as _dmarc and _spf are common; internationalised
// names must already be A-labels). Backslashes in particular are refused
// because the resolver library would read them as escapes.
std::optional<std::string> NormalizeDnsName(std::string_view name);

// Lower-cases and strips one trailing dot without validating: the form
// under which answers are cached and names compared.
std::string CanonicalDnsName(std::string_view name);

// resolver.Resolve(questions), guaranteed to return exactly one answer per
// question even when a Resolver implementation misbehaves (missing answers
// become kError), so callers can index the result without checking.
std::vector<DnsAnswer> ResolveAll(Resolver& resolver, const std::vector<DnsQuestion>& questions);

}  // namespace dmarcwatch::analysis::internal
