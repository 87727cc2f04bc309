#include "imap_protocol.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::ingest::imap {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decodes one UTF-8 sequence at `at`; false when it is not valid.
bool NextCodePoint(std::string_view s, std::size_t& at, std::uint32_t& cp) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(at);
  std::size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    len = 1;
  } else if ((b0 & 0xe0) == 0xc0) {
    cp = b0 & 0x1fu;
    len = 2;
  } else if ((b0 & 0xf0) == 0xe0) {
    cp = b0 & 0x0fu;
    len = 3;
  } else if ((b0 & 0xf8) == 0xf0) {
    cp = b0 & 0x07u;
    len = 4;
  } else {
    return false;
  }
  if (at + len > s.size()) return false;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(at + k) & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (byte(at + k) & 0x3fu);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  at += len;
  return true;
}

// Modified base64 (RFC 3501 §5.1.3): ',' for '/', no padding.
std::string ModifiedBase64(const std::vector<std::uint16_t>& units) {
  std::string bytes;
  for (std::uint16_t u : units) {
    bytes += static_cast<char>(u >> 8);
    bytes += static_cast<char>(u & 0xff);
  }
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '/', ',');
  return out;
}

}  // namespace

Result<std::string> Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return Status::InvalidInput("unquotable",
                                  "a CR, LF or NUL cannot be sent in an IMAP quoted string");
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

Result<std::string> EncodeMailboxName(std::string_view utf8) {
  std::string out;
  std::vector<std::uint16_t> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    out += '&';
    out += ModifiedBase64(pending);
    out += '-';
    pending.clear();
  };
  for (std::size_t at = 0; at < utf8.size();) {
    std::uint32_t cp = 0;
    if (!NextCodePoint(utf8, at, cp)) {
      return Status::InvalidInput("bad_folder_name", "a folder name is not valid UTF-8");
    }
    if (cp < 0x20 || cp == 0x7f) {
      return Status::InvalidInput("bad_folder_name", "a folder name holds a control character");
    }
    if (cp < 0x80) {
      flush();
      out += static_cast<char>(cp);
      if (cp == '&') out += '-';
      continue;
    }
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      pending.push_back(static_cast<std::uint16_t>(0xd800 + (v >> 10)));
      pending.push_back(static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff)));
    } else {
      pending.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  flush();
  return out;
}

Result<std::string> TranslateFolderName(std::string_view configured, char delimiter) {
  if (model::EqualsIgnoreCase(configured, "INBOX")) return std::string("INBOX");
  std::vector<std::string_view> levels;
  for (std::size_t start = 0;;) {
    const std::size_t slash = configured.find('/', start);
    levels.push_back(configured.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (levels.size() > 1 && delimiter == '\0') {
    return Status(StatusCode::kFailedPrecondition, "no_hierarchy",
                  "the server has no folder hierarchy, so \"" + model::Printable(configured) +
                      "\" cannot be a folder inside another");
  }
  std::string out;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string_view level = levels[i];
    if (level.empty()) {
      return Status::InvalidInput("bad_folder_name", "the folder name \"" +
                                                         model::Printable(configured) +
                                                         "\" has an empty level");
    }
    if (delimiter != '\0' && level.find(delimiter) != std::string_view::npos) {
      return Status::InvalidInput(
          "bad_folder_name", "the folder level \"" + model::Printable(level) +
                                 "\" holds the server's hierarchy delimiter '" +
                                 std::string(1, delimiter) + "'; use '/' between levels");
    }
    Result<std::string> encoded = EncodeMailboxName(level);
    if (!encoded.ok()) return encoded.status();
    // INBOX as the first level keeps its special spelling.
    if (i == 0 && model::EqualsIgnoreCase(level, "INBOX")) *encoded = "INBOX";
    if (i > 0) out += delimiter;
    out += *encoded;
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = b(i) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    const char* at = std::strchr(kBase64, c);
    if (c == '\0' || at == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(at - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (padding > 2) return std::nullopt;
  return out;
}

std::string SaslPlainResponse(std::string_view username, std::string_view password) {
  std::string message;
  message += '\0';
  message += username;
  message += '\0';
  message += password;
  return Base64Encode(message);
}

std::string Xoauth2Response(std::string_view username, std::string_view token) {
  std::string message = "user=";
  message += username;
  message += "\x01" "auth=Bearer ";
  message += token;
  message += "\x01\x01";
  return Base64Encode(message);
}

std::string DescribeXoauth2Challenge(std::string_view base64) {
  std::optional<std::string> decoded = Base64Decode(model::TrimAscii(base64));
  if (!decoded) return "an undecodable challenge";
  return model::Printable(*decoded, 200);
}

std::set<std::string> ParseCapabilities(std::string_view text) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    const std::size_t end = std::min(text.find(' ', at), text.size());
    if (end > at) out.insert(AsciiUpper(text.substr(at, end - at)));
    at = end;
  }
  return out;
}

std::set<std::string> CapabilitiesFromValues(const std::vector<Value>& values) {
  std::set<std::string> out;
  for (const Value& v : values) {
    if (v.kind == Value::Kind::kAtom || v.kind == Value::Kind::kNumber) {
      out.insert(AsciiUpper(v.text));
    }
  }
  return out;
}

std::string CodeName(std::string_view code) {
  return AsciiUpper(code.substr(0, std::min(code.find(' '), code.size())));
}

std::string_view CodeArgument(std::string_view code) {
  const std::size_t space = code.find(' ');
  return space == std::string_view::npos ? std::string_view() : code.substr(space + 1);
}

std::optional<std::uint32_t> ToUint32(std::string_view digits) {
  std::uint32_t v = 0;
  if (digits.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

const Value* FetchItem(const Response& fetch, std::string_view name) {
  if (fetch.values.empty() || fetch.values[0].kind != Value::Kind::kList) return nullptr;
  const std::vector<Value>& items = fetch.values[0].items;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].kind == Value::Kind::kAtom && AsciiUpper(items[i].text) == AsciiUpper(name)) {
      return &items[i + 1];
    }
  }
  return nullptr;
}

}  // namespace dmarcwatch::ingest::imap
