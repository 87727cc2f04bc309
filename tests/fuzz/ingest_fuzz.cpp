// libFuzzer target over ingest::ProcessInput, the single entry point from
// untrusted bytes to reports (unpack + parse). Any crash, sanitizer report,
// timeout or out-of-memory is a bug: no input may cause one.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dmarcwatch/ingest/pipeline.h"

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
  return 0;
}
