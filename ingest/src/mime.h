#pragma once
// MIME: a lenient walker over one Internet message, for unpack.cpp only.
//
// Reads the header fields of RFC 5322 and the MIME structure of RFC 2045 and
// RFC 2046: multipart bodies split at their boundaries, base64 and
// quoted-printable bodies decoded, attachment names taken from
// Content-Disposition filename= or Content-Type name= (RFC 2231 parameter
// continuations and charsets, RFC 2047 encoded words). It is written for the
// mail that reporters really send, so it tolerates what strict parsers
// reject: a header line with no leading whitespace that continues the field
// above it (recorded as the warning "mime_header_continuation"), a missing
// close delimiter, bad base64 characters, an unknown transfer encoding.
//
// What it does not do: decide whether a part holds a report (unpack.cpp
// does, from the decoded bytes), decompress, or convert body charsets.
// Failure reports (RFC 6591: a message/feedback-report part, or a
// multipart/report with report-type=feedback-report) are handed over as one
// part of kind kFailureReport and not walked further, so the reported
// message inside is never mistaken for a report of our own.
//
// Limits: UnpackLimits::max_mime_parts (every entity counts, the message
// itself and multipart containers included) and max_header_bytes (each header
// block). Nesting of multiparts inside one message is walked with an explicit
// stack, not recursion; nested messages (message/rfc822) are handed to the
// caller, which bounds their depth. No exceptions; no shared state.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest::internal {

// One header field. The value is unfolded (RFC 5322 §2.2.3: line breaks
// removed, the whitespace that began the continuation kept) and trimmed.
struct HeaderField {
  std::string name;
  std::string value;
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  // Offset of the body in the parsed text: after the empty line that ends
  // the block, or the end of the text when there is none.
  std::size_t body_offset = 0;
  // "mime_header_continuation", at most one per block.
  std::vector<model::ParseWarning> warnings;

  // The value of the first field called `name` (ASCII case-insensitive), or
  // nullptr.
  const std::string* Find(std::string_view name) const;
};

// Parses the header block at the start of `entity`. Lines end with LF or
// CRLF. A line that begins with whitespace continues the field above it
// (folding); so does a line that does not look like "field-name: value"
// (no colon, or whitespace, '=', '"' or ';' before the colon), which real
// mail has, and which is recorded as a warning. When the first line is not a
// field at all, the entity has no header block and body_offset is 0.
// Fails with reason "max_header_bytes" when the block is longer than
// max_header_bytes.
Result<HeaderBlock> ParseHeaderBlock(std::string_view entity, std::uint64_t max_header_bytes);

// A structured header value: "type/subtype; name=value; ..." (RFC 2045
// §5.1). Parameter names are lower-cased; RFC 2231 continuations
// (name*0=, name*1*=) are joined and name*=charset'lang'%xx values decoded
// to UTF-8 and stored under the plain name, where they win over a plain
// parameter of the same name.
struct StructuredValue {
  std::string value;  // trimmed, as written (not lower-cased)
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* Param(std::string_view name) const;
};
StructuredValue ParseStructuredValue(std::string_view raw);

// RFC 2045 §6.8. Characters outside the alphabet are skipped; '=' ends a
// quantum, so that concatenated encoded blocks still decode.
std::string DecodeBase64(std::string_view encoded);
// RFC 2045 §6.7. Soft line breaks removed, =XX decoded, whitespace that
// transport added at line ends dropped; a malformed '=' sequence is kept as
// written.
std::string DecodeQuotedPrintable(std::string_view encoded);
// RFC 2047 encoded words (=?charset?B|Q?text?=) decoded to UTF-8; whitespace
// between two adjacent encoded words dropped (§6.2). A word in a charset
// that cannot be converted is left as written.
std::string DecodeEncodedWords(std::string_view text);
// `bytes` in `charset` converted to UTF-8, or nullopt when the charset is
// unknown here. UTF-8 and US-ASCII input is returned as is.
std::optional<std::string> ToUtf8(std::string_view bytes, std::string_view charset);

// Splits a multipart body at the delimiter lines "--boundary" (RFC 2046
// §5.1.1); the line break before a delimiter belongs to it. Preamble and
// epilogue are dropped. A missing close delimiter ends the last part at the
// end of the body. At most max_parts parts are returned; *more is set when
// there were others.
std::vector<std::string_view> SplitMultipart(std::string_view body, std::string_view boundary,
                                             std::size_t max_parts, bool* more);

enum class MimePartKind : std::uint8_t {
  kLeaf,           // a single-part entity: an attachment, an inline body
  kMessage,        // message/rfc822 or message/global: a nested message
  kFailureReport,  // an RFC 6591 failure report, not walked further
};

struct MimePart {
  MimePartKind kind = MimePartKind::kLeaf;
  std::string content_type;  // lower-case "type/subtype"
  std::string filename;      // decoded; empty when the part names none
  // The body after Content-Transfer-Encoding decoding. When the body was not
  // encoded, `raw` points into the walked message and `decoded` is unused.
  bool was_decoded = false;
  std::string decoded;
  std::string_view raw;
  // Warnings from the header blocks on the way from the message to here.
  std::vector<model::ParseWarning> warnings;

  std::string_view Body() const { return was_decoded ? std::string_view(decoded) : raw; }
};

// What the caller learns about the message itself.
struct MessageSummary {
  std::optional<std::string> message_id;   // unfolded, trimmed
  std::optional<std::string> subject;      // unfolded, trimmed, RFC 2047 decoded
  std::string content_type;                // lower-case "type/subtype"
  std::optional<std::string> report_type;  // RFC 6522 report-type of a multipart/report, lower-case
};

// Counts shared by a message and the messages nested in it.
struct MimeCounters {
  std::uint32_t parts = 0;
};

// Walks `message` and calls `on_part` for every leaf, nested message and
// failure report, in document order. An mbox "From " first line is skipped.
// Returns a failure (kLimitExceeded, reason "max_mime_parts" or
// "max_header_bytes") when a limit stopped the walk; the parts delivered
// before stay valid. `summary` may be null.
// REQUIRES: `message` outlives every MimePart::raw handed to on_part.
Status WalkMessage(std::string_view message, const UnpackLimits& limits, MimeCounters& counters,
                   MessageSummary* summary, const std::function<void(MimePart&&)>& on_part);

}  // namespace dmarcwatch::ingest::internal
