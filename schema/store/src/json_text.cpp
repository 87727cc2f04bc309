#include "json_text.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <cstddef>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::store {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

// The length a UTF-8 lead byte announces, or 0 for a byte that cannot
// start a sequence. Whether the sequence is really valid (continuation
// bytes, overlongs, surrogates) is left to model::IsValidUtf8.
std::size_t AnnouncedLength(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b & 0xe0) == 0xc0) return 2;
  if ((b & 0xf0) == 0xe0) return 3;
  if ((b & 0xf8) == 0xf0) return 4;
  return 0;
}

void AppendAscii(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (c == '"' || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < 0x20) {
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0x0f];
  } else {
    out += static_cast<char>(c);
  }
}

Poco::JSON::Array::Ptr ParseArray(std::string_view json) {
  Poco::JSON::Parser parser;
  const Poco::Dynamic::Var parsed = parser.parse(std::string(json));
  if (parsed.type() != typeid(Poco::JSON::Array::Ptr)) {
    throw Poco::DataFormatException("stored JSON is not an array", std::string(json));
  }
  return parsed.extract<Poco::JSON::Array::Ptr>();
}

std::string StringAt(const Poco::Dynamic::Var& v, std::string_view json) {
  if (!v.isString()) {
    throw Poco::DataFormatException("stored JSON holds a non-string", std::string(json));
  }
  return v.extract<std::string>();
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  const bool valid = model::IsValidUtf8(s);
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one append: in a valid
    // string that is everything but quotes, backslashes and control bytes.
    std::size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || (c >= 0x80 && !valid)) break;
      ++run;
    }
    out.append(s.substr(i, run - i));
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      AppendAscii(out, c);
      ++i;
      continue;
    }
    // Only reached in an invalid string: keep whole valid sequences.
    const std::size_t len = AnnouncedLength(c);
    if (len != 0 && i + len <= s.size() && model::IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  out += '"';
}

void AppendJsonOptional(std::string& out, const std::optional<std::string>& s) {
  if (s) {
    AppendJsonString(out, *s);
  } else {
    out += "null";
  }
}

std::string EncodeStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    AppendJsonString(out, values[i]);
  }
  out += ']';
  return out;
}

std::string EncodeRows(const std::vector<JsonRow>& rows) {
  std::string out = "[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0) out += ',';
    out += '[';
    for (std::size_t k = 0; k < rows[i].size(); ++k) {
      if (k != 0) out += ',';
      AppendJsonOptional(out, rows[i][k]);
    }
    out += ']';
  }
  out += ']';
  return out;
}

std::vector<std::string> DecodeStringArray(std::string_view json) {
  std::vector<std::string> out;
  if (json == "[]") return out;  // the common case needs no parser
  const Poco::JSON::Array::Ptr array = ParseArray(json);
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    out.push_back(StringAt(array->get(static_cast<unsigned>(i)), json));
  }
  return out;
}

std::vector<JsonRow> DecodeRows(std::string_view json) {
  std::vector<JsonRow> out;
  if (json == "[]") return out;
  const Poco::JSON::Array::Ptr array = ParseArray(json);
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Poco::JSON::Array::Ptr row = array->getArray(static_cast<unsigned>(i));
    if (row.isNull()) {
      throw Poco::DataFormatException("stored JSON row is not an array", std::string(json));
    }
    JsonRow decoded;
    decoded.reserve(row->size());
    for (std::size_t k = 0; k < row->size(); ++k) {
      const Poco::Dynamic::Var v = row->get(static_cast<unsigned>(k));
      if (v.isEmpty()) {
        decoded.emplace_back(std::nullopt);
      } else {
        decoded.emplace_back(StringAt(v, json));
      }
    }
    out.push_back(std::move(decoded));
  }
  return out;
}

}  // namespace dmarcwatch::store
