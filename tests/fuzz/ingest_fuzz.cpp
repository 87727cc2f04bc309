// libFuzzer target over ingest::ProcessInput, the single entry point from
// untrusted bytes to reports (unpack + parse). Any crash, sanitizer report,
// timeout or out-of-memory is a bug: no input may cause one. An XML input is
// also parsed both ways the parser can read a document, in pieces and whole
// (parse_internal.h), which must agree on everything.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/ingest/unpack.h"
#include "parse_internal.h"

namespace {

// Everything a parse returned, as one comparable string.
std::string Describe(const dmarcwatch::Result<dmarcwatch::model::Report>& r) {
  if (!r.ok()) return r.status().reason() + ": " + r.status().message();
  std::string out = dmarcwatch::ingest::ContentDigest(*r) + (r->version ? "+" + *r->version : "-") +
                    (r->xml_namespace ? "+" + *r->xml_namespace : "-");
  for (const auto& w : r->warnings) out += "|" + w.code + ":" + w.detail;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dmarcwatch::ingest::IngestOptions options = [] {
    dmarcwatch::ingest::IngestOptions o;
    // Smaller than the defaults so the fuzzer's memory limit is not the
    // first limit an input meets.
    o.unpack.max_inflated_bytes = 16 * dmarcwatch::ingest::kMiB;
    o.unpack.max_input_bytes = 4 * dmarcwatch::ingest::kMiB;
    return o;
  }();
  dmarcwatch::ingest::InputInfo info;
  info.origin = "fuzz";
  info.name = "fuzz";
  auto processed = dmarcwatch::ingest::ProcessInput(
      std::string_view(reinterpret_cast<const char*>(data), size), info, options);
  // Every report that came out must satisfy the parser's own promises.
  for (const auto& report : processed.reports) {
    if (report.records.empty() || report.report_metadata.report_id.empty() ||
        report.report_metadata.date_range.begin > report.report_metadata.date_range.end) {
      __builtin_trap();
    }
  }
  for (const auto& rejection : processed.rejections) {
    if (rejection.status.ok() || rejection.status.reason().empty()) __builtin_trap();
  }
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (dmarcwatch::ingest::DetectKind(input) == dmarcwatch::ingest::PayloadKind::kXml) {
    using dmarcwatch::ingest::ReadAs;
    using dmarcwatch::ingest::ParseAggregateReportAs;
    const auto pieces = ParseAggregateReportAs(input, options.parse, ReadAs::kPiecesWhenPossible);
    const auto whole = ParseAggregateReportAs(input, options.parse, ReadAs::kWhole);
    if (Describe(pieces) != Describe(whole)) __builtin_trap();
  }
  return 0;
}
