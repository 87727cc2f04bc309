#include "mime.h"

#include <Poco/Exception.h>
#include <Poco/TextConverter.h>
#include <Poco/TextEncoding.h>
#include <Poco/UTF8Encoding.h>

#include <algorithm>
#include <array>
#include <climits>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::ingest::internal {
namespace {

using model::AsciiLower;
using model::EqualsIgnoreCase;
using model::ParseWarning;
using model::TrimAscii;

constexpr std::string_view kContinuationWarning = "mime_header_continuation";
// RFC 2231 §3 numbers continuation sections; nobody needs more than this,
// and the cap keeps a hostile "name*999999999=" from meaning anything.
constexpr int kMaxParamSection = 999;
// RFC 2046 §5.1.1 allows 70; real mail stays far below this.
constexpr std::size_t kMaxBoundaryBytes = 200;
constexpr std::size_t kMaxCharsetBytes = 64;
// RFC 2047 §2 caps an encoded word at 75 characters. Senders exceed that,
// so allow more, but keep a bound: every "=?" is scanned for its "?=", and
// an unbounded scan would make a hostile header quadratic.
constexpr std::size_t kMaxEncodedTextBytes = 1024;
constexpr std::size_t kWarningExcerptBytes = 80;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// The line starting at `pos`, without its line break (LF or CRLF). *next is
// set to the start of the following line, or text.size() at the end.
// REQUIRES: pos <= text.size()
std::string_view LineAt(std::string_view text, std::size_t pos, std::size_t* next) {
  const std::size_t nl = text.find('\n', pos);
  const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
  *next = nl == std::string_view::npos ? text.size() : nl + 1;
  std::string_view line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "field-name:" per RFC 5322 §3.6.8 (printable ASCII but ':'), narrowed to
// what the continuation rule needs: a name holding whitespace, '=', '"' or
// ';' is a parameter that lost its folding whitespace, not a field.
bool IsFieldLine(std::string_view line, std::size_t* colon_out) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c <= 0x20 || c >= 0x7f || c == '=' || c == '"' || c == ';') return false;
  }
  *colon_out = colon;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding of RFC 2231 §4 extended values; a malformed escape is kept.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct RawParam {
  std::string name;  // lower-case, with any RFC 2231 "*" suffix
  std::string value;
};

// Splits the parameter list after the first ';'. Lenient: stray ';', a
// missing closing quote (the value runs to the end), junk after a quoted
// string, a token without '=' (skipped).
std::vector<RawParam> SplitParams(std::string_view s) {
  std::vector<RawParam> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && (IsWsp(s[pos]) || s[pos] == ';' || s[pos] == '\r' || s[pos] == '\n')) {
      ++pos;
    }
    if (pos >= s.size()) break;
    const std::size_t stop = s.find_first_of("=;", pos);
    if (stop == std::string_view::npos) break;
    if (s[stop] == ';') {
      pos = stop + 1;
      continue;
    }
    RawParam param;
    param.name = AsciiLower(TrimAscii(s.substr(pos, stop - pos)));
    pos = stop + 1;
    while (pos < s.size() && IsWsp(s[pos])) ++pos;
    if (pos < s.size() && s[pos] == '"') {
      ++pos;
      while (pos < s.size()) {
        const char c = s[pos];
        if (c == '\\' && pos + 1 < s.size()) {
          param.value += s[pos + 1];
          pos += 2;
        } else if (c == '"') {
          ++pos;
          break;
        } else {
          param.value += c;
          ++pos;
        }
      }
      const std::size_t semi = s.find(';', pos);
      pos = semi == std::string_view::npos ? s.size() : semi;
    } else {
      const std::size_t semi = s.find(';', pos);
      const std::size_t end = semi == std::string_view::npos ? s.size() : semi;
      param.value = std::string(TrimAscii(s.substr(pos, end - pos)));
      pos = end;
    }
    if (!param.name.empty()) out.push_back(std::move(param));
  }
  return out;
}

// One RFC 2231 section of a parameter: name*N= or name*N*= (or name*=,
// which is section 0, extended).
struct Section {
  std::string value;
  bool extended = false;
};

// Joins the RFC 2231 sections of one parameter, decodes the extended ones
// and converts from the declared charset (§4: charset'language'%xx...).
std::string JoinSections(const std::map<int, Section>& sections) {
  std::string bytes;
  std::string charset;
  bool first = true;
  for (const auto& [index, section] : sections) {
    std::string_view value = section.value;
    if (first && section.extended) {
      const std::size_t q1 = value.find('\'');
      const std::size_t q2 = q1 == std::string_view::npos ? q1 : value.find('\'', q1 + 1);
      if (q2 != std::string_view::npos) {
        charset = std::string(value.substr(0, q1));
        value = value.substr(q2 + 1);
      }
    }
    first = false;
    bytes += section.extended ? PercentDecode(value) : std::string(value);
  }
  if (charset.empty()) return bytes;
  std::optional<std::string> utf8 = ToUtf8(bytes, charset);
  return utf8 ? std::move(*utf8) : bytes;
}

bool IsMediaType(std::string_view type) {
  const std::size_t slash = type.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= type.size()) return false;
  if (type.find('/', slash + 1) != std::string_view::npos) return false;
  return std::none_of(type.begin(), type.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f;
  });
}

// Decodes one RFC 2047 encoded word starting at text[pos] ("=?"). On
// success returns true, the UTF-8 text in *out and the position after "?="
// in *end.
bool DecodeWordAt(std::string_view text, std::size_t pos, std::string* out, std::size_t* end) {
  std::size_t p = pos + 2;
  const std::size_t q1 = text.find('?', p);
  if (q1 == std::string_view::npos || q1 == p || q1 - p > kMaxCharsetBytes) return false;
  std::string_view charset = text.substr(p, q1 - p);
  if (std::any_of(charset.begin(), charset.end(), [](char c) { return IsWsp(c); })) return false;
  // RFC 2231 §5: charset*language.
  const std::size_t star = charset.find('*');
  if (star != std::string_view::npos) charset = charset.substr(0, star);
  if (q1 + 2 >= text.size() || text[q1 + 2] != '?') return false;
  const char encoding = text[q1 + 1];
  p = q1 + 3;
  std::size_t close = p;
  for (;; ++close) {
    if (close + 1 >= text.size() || close - p > kMaxEncodedTextBytes) return false;
    const char c = text[close];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
    if (c == '?' && text[close + 1] == '=') break;
  }
  const std::string_view encoded = text.substr(p, close - p);
  std::string bytes;
  if (encoding == 'B' || encoding == 'b') {
    bytes = DecodeBase64(encoded);
  } else if (encoding == 'Q' || encoding == 'q') {
    // RFC 2047 §4.2: '_' is a space, =XX an octet.
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      const char c = encoded[i];
      if (c == '_') {
        bytes += ' ';
      } else if (c == '=' && i + 2 < encoded.size() && HexValue(encoded[i + 1]) >= 0 &&
                 HexValue(encoded[i + 2]) >= 0) {
        bytes += static_cast<char>(HexValue(encoded[i + 1]) * 16 + HexValue(encoded[i + 2]));
        i += 2;
      } else {
        bytes += c;
      }
    }
  } else {
    return false;
  }
  std::optional<std::string> utf8 = ToUtf8(bytes, charset);
  if (!utf8) return false;
  *out = std::move(*utf8);
  *end = close + 2;
  return true;
}

std::string DecodeTransfer(std::string_view body, const HeaderBlock& headers, bool* decoded) {
  const std::string* cte = headers.Find("content-transfer-encoding");
  *decoded = false;
  if (cte == nullptr) return {};
  const std::string encoding = AsciiLower(TrimAscii(*cte));
  if (encoding == "base64") {
    *decoded = true;
    return DecodeBase64(body);
  }
  if (encoding == "quoted-printable") {
    *decoded = true;
    return DecodeQuotedPrintable(body);
  }
  // 7bit, 8bit, binary, and anything unknown: the bytes as they are.
  return {};
}

std::string PartFilename(const HeaderBlock& headers, const StructuredValue& content_type) {
  const std::string* disposition_raw = headers.Find("content-disposition");
  std::string name;
  if (disposition_raw != nullptr) {
    const StructuredValue disposition = ParseStructuredValue(*disposition_raw);
    if (const std::string* filename = disposition.Param("filename")) name = *filename;
  }
  if (name.empty()) {
    if (const std::string* ct_name = content_type.Param("name")) name = *ct_name;
  }
  // RFC 2047 §5 forbids encoded words in parameters, but mail software
  // writes them there more often than it writes RFC 2231.
  return std::string(TrimAscii(DecodeEncodedWords(name)));
}

Status HeaderLimit(std::uint64_t limit) {
  return Status::LimitExceeded("max_header_bytes", "header block size exceeds max_header_bytes (" +
                                                       std::to_string(limit) + ")");
}

struct Frame {
  std::string_view entity;
  std::string_view default_type;
  std::vector<ParseWarning> warnings;  // from the header blocks above
  bool root = false;
  std::optional<HeaderBlock> headers;  // already parsed, for multipart children
};

}  // namespace

const std::string* HeaderBlock::Find(std::string_view name) const {
  for (const HeaderField& field : fields) {
    if (EqualsIgnoreCase(field.name, name)) return &field.value;
  }
  return nullptr;
}

const std::string* StructuredValue::Param(std::string_view name) const {
  for (const auto& [key, param_value] : params) {
    if (key == name) return &param_value;
  }
  return nullptr;
}

Result<HeaderBlock> ParseHeaderBlock(std::string_view entity, std::uint64_t max_header_bytes) {
  HeaderBlock block;
  if (entity.empty()) return block;
  std::size_t next = 0;
  const std::string_view first = LineAt(entity, 0, &next);
  std::size_t colon = 0;
  if (first.empty()) {
    // An empty header block (RFC 2046 §5.1.1: a part with no header fields
    // starts with its blank line).
    block.body_offset = next;
    return block;
  }
  if (!IsFieldLine(first, &colon)) return block;  // no header block at all

  std::size_t pos = 0;
  std::size_t joined_lines = 0;
  std::string joined_detail;
  block.body_offset = entity.size();
  while (pos < entity.size()) {
    const std::string_view line = LineAt(entity, pos, &next);
    if (line.empty()) {
      block.body_offset = next;
      break;
    }
    if (next > max_header_bytes) return HeaderLimit(max_header_bytes);
    if (IsWsp(line[0])) {
      // RFC 5322 §2.2.3 folding: unfold by removing the line break only.
      if (!block.fields.empty()) block.fields.back().value += line;
    } else if (IsFieldLine(line, &colon)) {
      block.fields.push_back(
          HeaderField{std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    } else {
      // A continuation that lost its leading whitespace, as some mail
      // software writes Content-Type parameters on their own line.
      HeaderField& field = block.fields.back();
      if (joined_lines == 0) {
        joined_detail = "line without a field name joined to " + model::Printable(field.name, 64) +
                        ": " + model::Printable(line, kWarningExcerptBytes);
      }
      ++joined_lines;
      field.value += ' ';
      field.value += line;
    }
    pos = next;
  }
  for (HeaderField& field : block.fields) field.value = std::string(TrimAscii(field.value));
  if (joined_lines > 0) {
    if (joined_lines > 1) joined_detail += " (and " + std::to_string(joined_lines - 1) + " more)";
    block.warnings.push_back(ParseWarning{std::string(kContinuationWarning), joined_detail});
  }
  return block;
}

StructuredValue ParseStructuredValue(std::string_view raw) {
  StructuredValue out;
  const std::size_t semi = raw.find(';');
  out.value = std::string(TrimAscii(raw.substr(0, semi)));
  if (semi == std::string_view::npos) return out;

  std::map<std::string, std::map<int, Section>> extended;
  for (RawParam& param : SplitParams(raw.substr(semi + 1))) {
    const std::size_t star = param.name.find('*');
    if (star == std::string::npos) {
      if (out.Param(param.name) == nullptr) out.params.emplace_back(param.name, param.value);
      continue;
    }
    const std::string base = param.name.substr(0, star);
    std::string_view rest = std::string_view(param.name).substr(star + 1);
    Section section;
    int index = 0;
    if (rest.empty()) {
      section.extended = true;  // name*=charset'lang'value
    } else {
      std::size_t digits = 0;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      if (digits == 0 || digits > 3) continue;
      const std::string_view tail = rest.substr(digits);
      if (!tail.empty() && tail != "*") continue;
      section.extended = tail == "*";
      for (std::size_t i = 0; i < digits; ++i) index = index * 10 + (rest[i] - '0');
      if (index > kMaxParamSection) continue;
    }
    if (base.empty()) continue;
    section.value = std::move(param.value);
    extended[base].emplace(index, std::move(section));
  }
  for (const auto& entry : extended) {
    // Not a structured binding: a lambda may not capture one before C++20
    // compilers agree on it (clang 14 refuses).
    const std::string& base = entry.first;
    std::string value = JoinSections(entry.second);
    auto it = std::find_if(out.params.begin(), out.params.end(),
                           [&base](const auto& p) { return p.first == base; });
    if (it != out.params.end()) {
      it->second = std::move(value);
    } else {
      out.params.emplace_back(base, std::move(value));
    }
  }
  return out;
}

std::string DecodeBase64(std::string_view encoded) {
  static constexpr auto kTable = [] {
    std::array<signed char, 256> table{};
    for (auto& v : table) v = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      table[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return table;
  }();
  std::string out;
  out.reserve(encoded.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : encoded) {
    if (c == '=') {
      // Padding ends a quantum; whatever follows starts a new one.
      acc = 0;
      bits = 0;
      continue;
    }
    const int v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xffu);
    }
  }
  return out;
}

std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (c == '=') {
      std::size_t j = i + 1;
      while (j < n && IsWsp(in[j])) ++j;
      if (j == n) break;  // soft line break at the very end
      if (in[j] == '\n') {
        i = j + 1;
        continue;
      }
      if (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
        i = j + 2;
        continue;
      }
      if (i + 2 < n && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
        out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
        i += 3;
        continue;
      }
      out += '=';
      ++i;
      continue;
    }
    if (IsWsp(c)) {
      // §6.7 rule 3: whitespace at the end of an encoded line was added in
      // transport and is not data.
      std::size_t j = i;
      while (j < n && IsWsp(in[j])) ++j;
      if (j == n || in[j] == '\n' || (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n')) {
        i = j;
        continue;
      }
      out.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string DecodeEncodedWords(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool after_word = false;
  std::size_t length_after_word = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '=' && i + 1 < text.size() && text[i + 1] == '?') {
      std::string decoded;
      std::size_t end = 0;
      if (DecodeWordAt(text, i, &decoded, &end)) {
        // RFC 2047 §6.2: whitespace between adjacent encoded words is
        // not displayed.
        if (after_word) out.resize(length_after_word);
        out += decoded;
        after_word = true;
        length_after_word = out.size();
        i = end;
        continue;
      }
    }
    const char c = text[i];
    out += c;
    if (!IsWsp(c) && c != '\r' && c != '\n') after_word = false;
    ++i;
  }
  return out;
}

std::optional<std::string> ToUtf8(std::string_view bytes, std::string_view charset) {
  std::string name = AsciiLower(TrimAscii(charset));
  if (name.empty() || name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii") {
    return std::string(bytes);
  }
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
  try {
    const Poco::TextEncoding::Ptr source = Poco::TextEncoding::find(name);
    if (source.isNull()) return std::nullopt;
    Poco::UTF8Encoding utf8;
    Poco::TextConverter converter(*source, utf8);
    std::string out;
    converter.convert(bytes.data(), static_cast<int>(bytes.size()), out);
    return out;
  } catch (const Poco::Exception&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string_view> SplitMultipart(std::string_view body, std::string_view boundary,
                                             std::size_t max_parts, bool* more) {
  std::vector<std::string_view> parts;
  *more = false;
  // Trailing whitespace is not part of a boundary (RFC 2046 §5.1.1,
  // bcharsnospace); a quoted value may still carry it.
  while (!boundary.empty() && IsWsp(boundary.back())) boundary.remove_suffix(1);
  if (boundary.empty() || boundary.size() > kMaxBoundaryBytes) return parts;
  const std::string delimiter = "--" + std::string(boundary);

  bool in_part = false;
  std::size_t part_start = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t next = 0;
    const std::string_view line = LineAt(body, pos, &next);
    if (StartsWith(line, delimiter)) {
      const std::string_view rest = line.substr(delimiter.size());
      const bool close = StartsWith(rest, "--");
      if (close || TrimAscii(rest).empty()) {
        if (in_part) {
          // The line break before the delimiter belongs to the delimiter.
          std::size_t end = pos;
          if (end > part_start && body[end - 1] == '\n') --end;
          if (end > part_start && body[end - 1] == '\r') --end;
          if (parts.size() >= max_parts) {
            *more = true;
            return parts;
          }
          parts.push_back(body.substr(part_start, end - part_start));
        }
        if (close) return parts;  // the epilogue is ignored
        in_part = true;
        part_start = next;
      }
    }
    pos = next;
  }
  if (in_part) {
    // No close delimiter: the last part runs to the end of the body.
    if (parts.size() >= max_parts) {
      *more = true;
    } else {
      parts.push_back(body.substr(part_start));
    }
  }
  return parts;
}

Status WalkMessage(std::string_view message, const UnpackLimits& limits, MimeCounters& counters,
                   MessageSummary* summary, const std::function<void(MimePart&&)>& on_part) {
  // An mbox "From " separator line (RFC 4155) is not part of the message.
  if (StartsWith(message, "From ")) {
    const std::size_t nl = message.find('\n');
    message = nl == std::string_view::npos ? std::string_view() : message.substr(nl + 1);
  }
  std::vector<Frame> stack;
  stack.push_back(Frame{message, "text/plain", {}, true, std::nullopt});
  while (!stack.empty()) {
    Frame frame = std::move(stack.back());
    stack.pop_back();
    if (counters.parts >= limits.max_mime_parts) {
      return Status::LimitExceeded("max_mime_parts",
                                   "number of MIME parts exceeds max_mime_parts (" +
                                       std::to_string(limits.max_mime_parts) + ")");
    }
    ++counters.parts;

    HeaderBlock headers;
    if (frame.headers) {
      headers = std::move(*frame.headers);
    } else {
      Result<HeaderBlock> parsed = ParseHeaderBlock(frame.entity, limits.max_header_bytes);
      if (!parsed.ok()) return std::move(parsed).status();
      headers = std::move(*parsed);
    }
    std::vector<ParseWarning> warnings = std::move(frame.warnings);
    warnings.insert(warnings.end(), headers.warnings.begin(), headers.warnings.end());

    const std::string* content_type_raw = headers.Find("content-type");
    const StructuredValue content_type =
        ParseStructuredValue(content_type_raw != nullptr ? *content_type_raw : std::string());
    std::string type = AsciiLower(content_type.value);
    // RFC 2045 §5.2: a missing or invalid Content-Type means the default.
    if (!IsMediaType(type)) type = std::string(frame.default_type);
    std::optional<std::string> report_type;
    if (const std::string* rt = content_type.Param("report-type")) {
      report_type = AsciiLower(TrimAscii(*rt));
    }

    if (frame.root && summary != nullptr) {
      if (const std::string* id = headers.Find("message-id")) summary->message_id = *id;
      if (const std::string* subject = headers.Find("subject")) {
        summary->subject = std::string(TrimAscii(DecodeEncodedWords(*subject)));
      }
      summary->content_type = type;
      if (type == "multipart/report") summary->report_type = report_type;
    }

    const std::string_view body =
        frame.entity.substr(std::min(headers.body_offset, frame.entity.size()));
    MimePart part;
    part.content_type = type;
    part.filename = PartFilename(headers, content_type);
    part.warnings = warnings;

    if (StartsWith(type, "multipart/")) {
      // RFC 6522 + RFC 6591: a failure report is handed over whole.
      if (type == "multipart/report" && report_type == "feedback-report") {
        part.kind = MimePartKind::kFailureReport;
        part.raw = body;
        on_part(std::move(part));
        continue;
      }
      const std::string* boundary = content_type.Param("boundary");
      bool more = false;
      const std::size_t budget =
          static_cast<std::size_t>(limits.max_mime_parts - counters.parts) + 1;
      std::vector<std::string_view> children;
      if (boundary != nullptr) children = SplitMultipart(body, *boundary, budget, &more);
      if (children.empty()) {
        // No boundary, or none found in the body: what is there is one
        // opaque part, which unpack classifies like any other.
        part.raw = body;
        on_part(std::move(part));
        continue;
      }
      const std::string_view child_default =
          type == "multipart/digest" ? "message/rfc822" : "text/plain";  // RFC 2046 §5.1.5
      std::vector<Frame> kids;
      kids.reserve(children.size());
      bool holds_feedback_report = false;
      for (const std::string_view child : children) {
        Result<HeaderBlock> child_headers = ParseHeaderBlock(child, limits.max_header_bytes);
        if (!child_headers.ok()) return std::move(child_headers).status();
        if (const std::string* child_type = child_headers->Find("content-type")) {
          if (AsciiLower(ParseStructuredValue(*child_type).value) == "message/feedback-report") {
            holds_feedback_report = true;
          }
        }
        kids.push_back(Frame{child, child_default, warnings, false, std::move(*child_headers)});
      }
      if (holds_feedback_report) {
        // An ARF report sent as multipart/mixed: its message/rfc822 part
        // is the reported message, not a report of ours.
        part.kind = MimePartKind::kFailureReport;
        part.raw = body;
        on_part(std::move(part));
        continue;
      }
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(std::move(*it));
      continue;
    }

    if (type == "message/feedback-report") {
      part.kind = MimePartKind::kFailureReport;
      part.raw = body;
      on_part(std::move(part));
      continue;
    }
    part.kind = (type == "message/rfc822" || type == "message/global") ? MimePartKind::kMessage
                                                                       : MimePartKind::kLeaf;
    bool decoded = false;
    std::string decoded_body = DecodeTransfer(body, headers, &decoded);
    part.was_decoded = decoded;
    if (decoded) {
      part.decoded = std::move(decoded_body);
    } else {
      part.raw = body;
    }
    on_part(std::move(part));
  }
  return Status::Ok();
}

}  // namespace dmarcwatch::ingest::internal
