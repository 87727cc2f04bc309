#pragma once
// JsonWriter: a JSON document written straight into a string, for the
// replies of thousands of objects (senders, a path's sources, a report's
// records), where building Poco::JSON objects first cost more than reading
// the data. Strings are escaped by Poco::toJSON, as Poco::JSON's stringify
// escapes them, so both forms of a value read alike; every string a report
// carries goes through it.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dmarcwatch/model/analysis.h"

namespace dmarcwatch::web::internal {

class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  // The name of the next member of the object being written.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(const std::string& s);
  JsonWriter& String(const char* s) { return String(std::string(s)); }
  JsonWriter& String(std::string_view s) { return String(std::string(s)); }
  JsonWriter& OptString(const std::optional<std::string>& s);  // null when absent
  JsonWriter& StringOrNull(const std::string& s);              // null when empty
  JsonWriter& Int(std::int64_t v);
  JsonWriter& UInt(std::uint64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // A value built as a Poco::JSON object or array, for the small parts.
  JsonWriter& Value(const Poco::JSON::Object::Ptr& v);
  JsonWriter& Value(const Poco::JSON::Array::Ptr& v);
  // The Counts object of docs/api.md (as CountsJson writes it).
  JsonWriter& Counts(const model::Counts& c);

  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  JsonWriter& Open(char bracket);
  JsonWriter& Close(char bracket);

  std::string out_;
  bool comma_ = false;  // a value precedes at this level
};

}  // namespace dmarcwatch::web::internal
