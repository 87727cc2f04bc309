#pragma once
// Unpack: from the bytes of one input to the report documents inside it.
//
// The kind of every layer is detected from its bytes, never from a file
// name or a declared MIME type: XML, gzip (several members, trailing junk
// after the last member, gzip inside gzip), zip (several entries, __MACOSX
// skipped, no nesting, no encryption, nothing written to disk), zlib, a MIME
// email (every attachment or inline part, base64 or quoted-printable,
// whatever its declared type, tolerant of broken headers), and JSON, which
// is recognised (SMTP TLS reports) but not unpacked further.
//
// What it does not do: parse XML (parse.h), read files (sources.h), store.
// Every limit in UnpackLimits applies; a payload over a limit is reported as
// a failure naming the limit, and the other payloads of the same input are
// still returned. Nothing here throws. Thread-compatible: no shared state.
//
// Outside emails every XML leaf is a report candidate: the parser decides.
// Inside an email a leaf part is tried when its decoded bytes are gzip, zip,
// zlib or JSON, or XML/text that starts with "<?xml" or has "<feedback" in
// its first 4 KiB; other parts (an HTML or plain-text body) are Skipped
// "not_a_report". Failure reports (RFC 6591: a message/feedback-report part,
// a multipart/report with report-type=feedback-report, or a multipart/report
// without report-type in which nothing importable was found) are Skipped
// "failure_report" whole, with the chain word "arf" ("eml>arf").
//
// Failure reasons: "empty_input", "empty_payload", "unrecognised_payload",
// "corrupt_gzip", "corrupt_zlib", "corrupt_zip", "nested_zip",
// "zip_encrypted", "empty_zip" (nothing but directories or metadata),
// "no_report_in_message" (kInvalidInput), and the limit names of
// UnpackLimits (kLimitExceeded).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

enum class PayloadKind : std::uint8_t {
  kXml, kGzip, kZip, kZlib, kEmail, kJson, kEmpty, kUnknown
};

// Looks at the first bytes only. An email is recognised by a first line that
// is a header field ("Received:", "From:", "Return-Path:") or an mbox
// "From " line. XML: optional UTF-8 BOM and whitespace, then '<'.
PayloadKind DetectKind(std::string_view bytes);
// "xml", "gz", "zip", "zlib", "eml", "json", "empty", "unknown": the words
// used in payload chains.
const char* ChainWord(PayloadKind kind);

// A document that looks like a DMARC aggregate report (XML), with how it was
// reached.
struct Payload {
  std::string chain;  // e.g. "eml>zip>xml"
  // Innermost name: zip entry, attachment filename (RFC 2231 / RFC 2047
  // decoded), or the input name; a gzip or zlib layer drops its ".gz" /
  // ".zlib" suffix ("r.xml.gz" holds "r.xml"). A zip entry with an empty name
  // is called "<archive name without .zip>#<entry number>". Names from the
  // data are masked like log values (model::Printable) and capped at 255
  // bytes.
  std::string name;
  std::string bytes;  // the XML, as found (encoding untouched)
  // What unpacking tolerated on the way ("gzip_trailing_junk",
  // "mime_header_continuation"); the pipeline adds these to the report's
  // warnings.
  std::vector<model::ParseWarning> warnings;
};

// A layer that could not be unpacked, or a leaf that is not a report.
struct PayloadFailure {
  std::string chain;
  std::string name;
  Status status;  // kInvalidInput or kLimitExceeded, reason per the limit or defect
};

// Something recognised and deliberately not imported (an SMTP TLS report, a
// failure report, a human-readable body part).
struct Skipped {
  std::string chain;
  std::string name;
  std::string reason;  // stable token: "smtp_tls_report", "failure_report", "not_a_report"
};

struct Unpacked {
  std::vector<Payload> reports;
  std::vector<PayloadFailure> failures;
  std::vector<Skipped> skipped;
  // From the outermost email, when the input is one: unfolded and trimmed;
  // the subject with RFC 2047 encoded words decoded.
  std::optional<std::string> message_id;
  std::optional<std::string> subject;
};

// Unpacks one input. `name` is used for the payload names of layers that
// have none of their own. Never fails as a whole: problems are in
// `failures`. An input with nothing in it at all yields one failure
// ("empty_input" or "unrecognised_payload" or "no_report_in_message").
Unpacked Unpack(std::string_view input, std::string_view name, const UnpackLimits& limits);

}  // namespace dmarcwatch::ingest
