#pragma once
// JSON text for the variable-length lists kept inside a report or record
// row (errors, warnings, policy override reasons, DKIM and SPF results).
//
// Only two shapes are written and read: an array of strings
// (["a","b"]) and an array of arrays of strings or nulls
// ([["a",null],["b","c"]]). null stands for an absent optional, "" for an
// empty one, so the two stay distinguishable.
//
// Writing is a small escaper of our own (it runs for every record, so it
// must be cheap): '"' and '\' are escaped, control bytes become \u00XX,
// other bytes are copied, and invalid UTF-8 is replaced by U+FFFD so that
// the text is valid JSON for any reader. Reading uses Poco::JSON::Parser.
// The reading functions throw Poco exceptions, which the store's catch site
// maps; a malformed column is a corrupt database, not bad input.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmarcwatch::store {

// Appends s as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view s);
// Appends a JSON string literal, or null when absent.
void AppendJsonOptional(std::string& out, const std::optional<std::string>& s);

using JsonRow = std::vector<std::optional<std::string>>;

// Encodes ["a","b"].
std::string EncodeStringArray(const std::vector<std::string>& values);
// Encodes [["a",null],...]; each row is written as an array.
std::string EncodeRows(const std::vector<JsonRow>& rows);

// Decode the shapes above. Throw Poco::JSON::JSONException or
// Poco::DataFormatException on text that is not of that shape.
std::vector<std::string> DecodeStringArray(std::string_view json);
std::vector<JsonRow> DecodeRows(std::string_view json);

}  // namespace dmarcwatch::store
