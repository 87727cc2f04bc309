#pragma once
// Limits on untrusted input. Every limit is on by default and configurable;
// there is no "0 = unlimited" (STYLE.md, "Untrusted input"). A rejection
// caused by a limit has StatusCode::kLimitExceeded and a reason naming the
// limit (the option's name below), so the user knows which knob to turn.

#include <cstddef>
#include <cstdint>

namespace dmarcwatch::ingest {

inline constexpr std::uint64_t kMiB = 1024 * 1024;

struct UnpackLimits {
  // Bytes of one input (a file, an email, an upload) read at all. Reason
  // "max_input_bytes". Postfix message_size_limit-like. For an mbox file
  // this applies to each message, not to the file (sources.h).
  std::uint64_t max_input_bytes = 64 * kMiB;
  // Bytes one decompressed payload may reach. Inflation stops at limit + 1
  // and the payload is rejected. Reason "max_inflated_bytes". The same
  // number also bounds all that one input inflates to together (message
  // "total inflated size exceeds ..."), so that 64 zip entries or several
  // attachments, each under the limit, cannot hold 64 times as much.
  std::uint64_t max_inflated_bytes = 256 * kMiB;
  // Inflated size / compressed size, checked once more than
  // ratio_check_after_bytes have come out (small inputs legitimately have
  // large ratios). Reason "max_inflate_ratio". For a zip archive the ratio
  // is that of all entries inflated so far to the archive's size, since the
  // compressed size of one entry is not known to the reader.
  std::uint64_t max_inflate_ratio = 250;
  std::uint64_t ratio_check_after_bytes = 1 * kMiB;
  // Entries in one zip archive (directories and __MACOSX included).
  // Reason "max_zip_entries".
  std::uint32_t max_zip_entries = 64;
  // MIME parts in one email, all levels: the message itself, multipart
  // containers and the parts of nested messages count. Reason
  // "max_mime_parts".
  std::uint32_t max_mime_parts = 32;
  // Parts of one email that are tried as reports (gzip, zip, zlib, JSON, or
  // XML that announces itself), nested messages included. Reason
  // "max_candidates".
  std::uint32_t max_candidates = 4;
  // Containers inside containers: eml>zip>xml is depth 2. gzip inside gzip
  // is allowed up to this; zip inside zip never is. Reason "max_depth".
  // Values above 32 act as 32, which bounds the unpacker's recursion.
  std::uint32_t max_depth = 4;
  // Messages in one mbox file. Reason "max_mbox_messages".
  std::uint32_t max_mbox_messages = 100000;
  // Header block of one email or MIME part. Reason "max_header_bytes".
  std::uint64_t max_header_bytes = 1 * kMiB;
};

struct ParseLimits {
  // <record> elements in one report. Reason "max_records".
  std::uint32_t max_records = 200000;
  // Bytes of one text value (org_name, a domain, a comment). Longer text is
  // an error, not a truncation: a report does not need it. Reason "max_text_bytes".
  std::size_t max_text_bytes = 1024;
  // Bytes of one domain name (RFC 1035 §2.3.4). Reason "max_domain_bytes".
  std::size_t max_domain_bytes = 253;
};

}  // namespace dmarcwatch::ingest
