// libFuzzer target over the IMAP response parser (imap_parser.h), the code
// that reads what an IMAP server sends, and the helpers that interpret its
// output. The input is a server's byte stream: responses are parsed one
// after another, as the client does, until the bytes run out or one is
// refused. Any crash, sanitizer report, timeout or out-of-memory is a bug,
// and so is a result that breaks the parser's promises (checked below).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "imap_parser.h"
#include "imap_protocol.h"

namespace imap = dmarcwatch::ingest::imap;

namespace {

// Touches every value, as the client's interpretation of a response does.
void Walk(const imap::Value& v, std::size_t depth, std::size_t max_depth) {
  if (depth > max_depth) __builtin_trap();
  if (v.kind == imap::Value::Kind::kNumber && imap::ToUint32(v.text).has_value() &&
      *imap::ToUint32(v.text) != v.number) {
    __builtin_trap();
  }
  for (const imap::Value& item : v.items) Walk(item, depth + 1, max_depth);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  imap::ParserLimits limits;
  // Small limits so that every one of them is reached by short inputs.
  limits.max_line_bytes = 512;
  limits.max_literal_bytes = 4096;
  limits.max_response_bytes = 8192;
  limits.max_depth = 8;
  limits.max_values = 1000;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    imap::ParseResult r = imap::ParseResponse(rest, limits);
    if (r.state == imap::ParseState::kNeedMore) {
      // More is needed only when there is not enough, and never more than
      // the limits allow.
      if (r.need_total <= rest.size() || r.need_total > limits.max_response_bytes) {
        __builtin_trap();
      }
      break;
    }
    if (r.state == imap::ParseState::kError) {
      if (r.error.ok() || r.error.reason().empty()) __builtin_trap();
      break;
    }
    if (r.consumed == 0 || r.consumed > rest.size()) __builtin_trap();
    const imap::Response& response = r.response;
    for (const imap::Value& v : response.values) Walk(v, 1, limits.max_depth + 1);
    (void)imap::CapabilitiesFromValues(response.values);
    (void)imap::ParseCapabilities(imap::CodeArgument(response.code));
    (void)imap::FetchItem(response, "BODY[]");
    if (response.kind == imap::ResponseKind::kContinuation) {
      (void)imap::DescribeXoauth2Challenge(response.text);
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
