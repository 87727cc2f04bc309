#include "json_writer.h"

#include <Poco/JSONString.h>

#include <sstream>

#include "dmarcwatch/web/json.h"

namespace dmarcwatch::web::internal {

void JsonWriter::BeforeValue() {
  if (comma_) out_ += ',';
  comma_ = true;
}

JsonWriter& JsonWriter::Open(char bracket) {
  BeforeValue();
  out_ += bracket;
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::Close(char bracket) {
  out_ += bracket;
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  out_ += Poco::toJSON(std::string(key), Poco::JSON_WRAP_STRINGS);
  out_ += ':';
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(const std::string& s) {
  BeforeValue();
  out_ += Poco::toJSON(s, Poco::JSON_WRAP_STRINGS);
  return *this;
}

JsonWriter& JsonWriter::OptString(const std::optional<std::string>& s) {
  return s ? String(*s) : Null();
}

JsonWriter& JsonWriter::StringOrNull(const std::string& s) {
  return s.empty() ? Null() : String(s);
}

JsonWriter& JsonWriter::Int(std::int64_t v) {
  BeforeValue();
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::UInt(std::uint64_t v) {
  BeforeValue();
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  BeforeValue();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Value(const Poco::JSON::Object::Ptr& v) {
  BeforeValue();
  out_ += ToText(v);
  return *this;
}

JsonWriter& JsonWriter::Value(const Poco::JSON::Array::Ptr& v) {
  BeforeValue();
  std::ostringstream text;
  v->stringify(text);
  out_ += text.str();
  return *this;
}

JsonWriter& JsonWriter::Counts(const model::Counts& c) {
  return BeginObject()
      .Key("messages").UInt(c.messages)
      .Key("dmarc_pass").UInt(c.dmarc_pass)
      .Key("spf_aligned").UInt(c.spf_aligned)
      .Key("dkim_aligned").UInt(c.dkim_aligned)
      .Key("disagreements").UInt(c.disagreements)
      .Key("quarantined").UInt(c.quarantined)
      .Key("rejected").UInt(c.rejected)
      .Key("rows").UInt(c.rows)
      .EndObject();
}

}  // namespace dmarcwatch::web::internal
