#pragma once
// Text helpers for values that came from outside (reports, mail headers).
//
// Printable() is for logs and one-line reasons: it masks control bytes and
// invalid UTF-8 with '?', and caps the length (Postfix printable()). It does
// not escape for HTML or SQL; those happen where the text is shown or stored.

#include <string>
#include <string_view>

namespace dmarcwatch::model {

// Lower-cases ASCII letters only.
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Trims ASCII whitespace (space, tab, CR, LF, VT, FF) at both ends.
std::string_view TrimAscii(std::string_view s);
// True when `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);
// Masks control bytes and invalid UTF-8 with '?', caps at max_bytes and
// appends "..." when cut. Never splits a UTF-8 sequence.
std::string Printable(std::string_view s, std::size_t max_bytes = 256);
// Lower-case hex of the bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace dmarcwatch::model
