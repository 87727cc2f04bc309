#pragma once
// IpAddress and IpNetwork: IPv4 and IPv6 addresses and CIDR blocks, as they
// appear in report rows (source_ip) and in the configuration (a direct
// path's ips). Value types; parsing never throws and rejects anything that
// is not a plain address (no zone ids, no leading zeros in IPv4 octets).
//
// IPv4-mapped IPv6 addresses (::ffff:192.0.2.1) are kept as written, but
// IpNetwork::Contains treats them as the IPv4 address they carry, because
// some reporters write IPv4 sources that way.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dmarcwatch::model {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kV4, kV6 };

  // Parses "192.0.2.1" or "2001:db8::1". Surrounding whitespace is not
  // accepted here; callers trim first.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(std::uint32_t host_order);
  static IpAddress V6(const std::array<std::uint8_t, 16>& network_order);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  // Network byte order; IPv4 uses the first 4 bytes.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  // The IPv4 address inside ::ffff:a.b.c.d, if this is one.
  std::optional<IpAddress> MappedV4() const;
  // Canonical text: dotted quad, or RFC 5952 IPv6.
  std::string ToString() const;
  // The reverse-DNS name (1.2.0.192.in-addr.arpa / nibble ip6.arpa).
  std::string ReverseName() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  friend class IpNetwork;
  Family family_ = Family::kV4;
  std::array<std::uint8_t, 16> bytes_{};
};

class IpNetwork {
 public:
  // Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128).
  // Host bits set below the prefix are an error ("192.0.2.1/24"), since they
  // usually mean a typo in the configuration.
  static std::optional<IpNetwork> Parse(std::string_view text);

  const IpAddress& address() const { return address_; }
  int prefix_length() const { return prefix_length_; }
  // The highest address in the block.
  IpAddress last() const;
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;

 private:
  IpAddress address_;
  int prefix_length_ = 0;
};

}  // namespace dmarcwatch::model

// For hash maps keyed by address, which large periods tally by.
template <>
struct std::hash<dmarcwatch::model::IpAddress> {
  std::size_t operator()(const dmarcwatch::model::IpAddress& ip) const noexcept {
    const auto& b = ip.bytes();
    return std::hash<std::string_view>()(
               std::string_view(reinterpret_cast<const char*>(b.data()), b.size())) ^
           static_cast<std::size_t>(ip.family());
  }
};
