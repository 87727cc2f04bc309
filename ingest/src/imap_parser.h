#pragma once
// IMAP response parser: a pure function from the bytes a server sent to one
// complete response (RFC 9051 §7 and §9, the same syntax as RFC 3501 §9 for
// everything this client asks for). No I/O, no allocation sized by a number
// the server declared before that number is checked.
//
// What it does: splits the server's stream into responses: tagged status
// ("a7 OK [READ-WRITE] done"), untagged status ("* OK [UIDVALIDITY 3]"),
// untagged data ("* 4 FETCH (UID 9 BODY[] {123}\r\n...)") and continuation
// requests ("+ base64"). Data is returned as a tree of atoms, numbers,
// strings (quoted or literal), NIL and parenthesised lists.
//
// What it deliberately does not do: interpret the data (imap_client.cpp
// does), accept literal8 (RFC 3516 "~{n}", never requested), or guess at a
// response it cannot parse: a malformed response is an error, and since the
// stream cannot be resynchronised after one, the connection is given up.
//
// Limits (Postfix smtp_stream / DESIGN.md "Untrusted input"), each with a
// stable reason:
//   - a line (the text between literals, CRLF included) is at most
//     max_line_bytes: "max_line_bytes";
//   - a literal {n} is refused when n > max_literal_bytes, before a byte of
//     it is read or stored: "max_literal_bytes";
//   - all lines and literals of one response together: "max_response_bytes";
//   - lists nested deeper than max_depth: "max_depth" (bounds the recursion);
//   - values in one response: "max_values".
// Anything else that does not follow the grammar: "malformed_response".
//
// Incremental use: call ParseResponse with all bytes received and not yet
// consumed. kNeedMore says how many bytes in total must be there before a
// new call can make progress (a literal's size is known from its header, so
// a 60 MB body is not re-parsed per packet). Threading: no state; safe to
// call from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest::imap {

struct ParserLimits {
  std::size_t max_line_bytes = 8 * 1024;
  std::uint64_t max_literal_bytes = 64 * 1024 * 1024;
  // Lines and literals of one response; at least max_literal_bytes plus
  // room for the lines around the literal.
  std::uint64_t max_response_bytes = 64 * 1024 * 1024 + 1024 * 1024;
  std::size_t max_depth = 16;
  std::size_t max_values = 100000;
};

struct Value {
  enum class Kind : std::uint8_t { kAtom, kNumber, kString, kNil, kList };
  Kind kind = Kind::kAtom;
  // kAtom: as sent ("\Seen", "BODY[]"); kString: the contents, quoted
  // string escapes undone; kNumber: the digits.
  std::string text;
  std::uint64_t number = 0;  // kNumber
  std::vector<Value> items;  // kList
};

enum class ResponseKind : std::uint8_t { kTagged, kUntagged, kContinuation };

struct Response {
  ResponseKind kind = ResponseKind::kUntagged;
  std::string tag;  // kTagged
  // Status responses: "OK", "NO", "BAD", "PREAUTH" or "BYE" (upper-cased).
  // Empty for untagged data and continuations.
  std::string status;
  // The response code without its brackets ("UIDVALIDITY 3857529045",
  // "CAPABILITY IMAP4rev1 ..."), or "".
  std::string code;
  // The human-readable text of a status response; for a continuation
  // request, everything after "+ " (SASL challenges are base64 here).
  std::string text;
  // Untagged data: "* 12 FETCH (...)" has number 12 and name "FETCH";
  // "* SEARCH 4 7" has no number, name "SEARCH" and values 4, 7.
  std::optional<std::uint64_t> number;
  std::string name;  // upper-cased
  std::vector<Value> values;

  bool IsStatus(std::string_view s) const { return status == s; }
};

enum class ParseState : std::uint8_t { kComplete, kNeedMore, kError };

struct ParseResult {
  ParseState state = ParseState::kNeedMore;
  // kComplete: bytes of the response, final CRLF included.
  std::size_t consumed = 0;
  // kNeedMore: the input must hold at least this many bytes (from its
  // start) before calling again. Never more than the limits allow.
  std::size_t need_total = 0;
  Response response;  // kComplete
  Status error;       // kError: kLimitExceeded or kInvalidInput
};

// Parses the first response in `bytes`.
ParseResult ParseResponse(std::string_view bytes, const ParserLimits& limits);

// Upper-cases ASCII letters (IMAP keywords are case-insensitive).
std::string AsciiUpper(std::string_view s);

}  // namespace dmarcwatch::ingest::imap
