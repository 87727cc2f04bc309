#include "dmarcwatch/model/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace dmarcwatch::model {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = Family::kV4;
  } else {
    if (inet_pton(AF_INET6, buf, ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = Family::kV6;
  }
  return ip;
}

IpAddress IpAddress::V4(std::uint32_t host_order) {
  IpAddress ip;
  ip.family_ = Family::kV4;
  ip.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  ip.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  ip.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  ip.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::V6(const std::array<std::uint8_t, 16>& network_order) {
  IpAddress ip;
  ip.family_ = Family::kV6;
  ip.bytes_ = network_order;
  return ip;
}

std::optional<IpAddress> IpAddress::MappedV4() const {
  if (family_ != Family::kV6) return std::nullopt;
  for (int i = 0; i < 10; ++i) {
    if (bytes_[static_cast<std::size_t>(i)] != 0) return std::nullopt;
  }
  if (bytes_[10] != 0xff || bytes_[11] != 0xff) return std::nullopt;
  IpAddress v4;
  v4.family_ = Family::kV4;
  std::memcpy(v4.bytes_.data(), bytes_.data() + 12, 4);
  return v4;
}

namespace {

// The dotted quad of four bytes at `p`, written at `out`; returns the end.
char* WriteDottedQuad(const std::uint8_t* p, char* out) {
  for (std::size_t i = 0; i < 4; ++i) {
    const unsigned v = p[i];
    if (i > 0) *out++ = '.';
    if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
    *out++ = static_cast<char>('0' + v % 10);
  }
  return out;
}

}  // namespace

// By hand, not inet_ntop: glibc formats through sprintf, which was a
// measurable part of ingest (docs/performance.md). The text is exactly
// inet_ntop's (ip_address_test compares them): RFC 5952's rules (lower-case
// hex without leading zeros; the longest run of two or more zero groups,
// the first of equals, written "::"), and glibc's dotted form for the
// last 32 bits of ::a.b.c.d and ::ffff:a.b.c.d.
std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) return std::string(buf, WriteDottedQuad(bytes_.data(), buf));

  unsigned words[8];
  for (std::size_t i = 0; i < 8; ++i) {
    words[i] = (unsigned{bytes_[2 * i]} << 8u) | unsigned{bytes_[2 * i + 1]};
  }
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int end = i;
    while (end < 8 && words[end] == 0) ++end;
    if (end - i > best_len) {
      best = i;
      best_len = end - i;
    }
    i = end;
  }
  if (best_len < 2) best = -1;

  static constexpr char kHex[] = "0123456789abcdef";
  char* p = buf;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      return std::string(buf, WriteDottedQuad(bytes_.data() + 12, p));
    }
    const unsigned w = words[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (w >> shift) & 0xfu;
      if (nibble == 0 && !started && shift > 0) continue;
      started = true;
      *p++ = kHex[nibble];
    }
  }
  if (best >= 0 && best + best_len == 8) *p++ = ':';
  return std::string(buf, p);
}

std::string IpAddress::ReverseName() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (is_v4()) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(bytes_[static_cast<std::size_t>(i)]);
      out += '.';
    }
    out += "in-addr.arpa";
    return out;
  }
  out.reserve(72);
  for (int i = 15; i >= 0; --i) {
    const std::uint8_t b = bytes_[static_cast<std::size_t>(i)];
    out += kHex[b & 0x0f];
    out += '.';
    out += kHex[b >> 4];
    out += '.';
  }
  out += "ip6.arpa";
  return out;
}

std::optional<IpNetwork> IpNetwork::Parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const int max_len = ip->is_v4() ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    if (len < 0 || len > max_len) return std::nullopt;
  }
  // Host bits must be zero.
  const auto& b = ip->bytes();
  for (int bit = len; bit < max_len; ++bit) {
    if (b[static_cast<std::size_t>(bit / 8)] & (0x80 >> (bit % 8))) return std::nullopt;
  }
  IpNetwork net;
  net.address_ = *ip;
  net.prefix_length_ = len;
  return net;
}

bool IpNetwork::Contains(const IpAddress& candidate) const {
  IpAddress ip = candidate;
  if (ip.family() != address_.family()) {
    auto mapped = ip.MappedV4();
    if (!mapped || !address_.is_v4()) return false;
    ip = *mapped;
  }
  const auto& a = address_.bytes();
  const auto& b = ip.bytes();
  const int full = prefix_length_ / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(full)) != 0) return false;
  const int rest = prefix_length_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  const auto i = static_cast<std::size_t>(full);
  return (a[i] & mask) == (b[i] & mask);
}

IpAddress IpNetwork::last() const {
  IpAddress out = address_;
  const int max_len = address_.is_v4() ? 32 : 128;
  for (int bit = prefix_length_; bit < max_len; ++bit) {
    out.bytes_[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  }
  return out;
}

std::string IpNetwork::ToString() const {
  return address_.ToString() + "/" + std::to_string(prefix_length_);
}

}  // namespace dmarcwatch::model
