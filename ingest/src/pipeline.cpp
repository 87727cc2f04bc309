#include "dmarcwatch/ingest/pipeline.h"

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/parse.h"

namespace dmarcwatch::ingest {

ProcessedInput ProcessInput(std::string_view bytes, const InputInfo& info,
                            const IngestOptions& options) {
  ProcessedInput out;
  out.sha256_raw = Sha256Hex(bytes);
  Unpacked unpacked = Unpack(bytes, info.name, options.unpack);
  out.message_id = unpacked.message_id;
  out.skipped = std::move(unpacked.skipped);

  for (Payload& payload : unpacked.reports) {
    Result<model::Report> parsed = ParseAggregateReport(payload.bytes, options.parse);
    // The payload's bytes are no longer needed; free them before the next one.
    std::string().swap(payload.bytes);
    if (!parsed.ok()) {
      out.rejections.push_back({payload.chain, payload.name, std::move(parsed).status()});
      continue;
    }
    model::Report report = std::move(parsed).value();
    report.warnings.insert(report.warnings.begin(), payload.warnings.begin(),
                           payload.warnings.end());
    model::Provenance& p = report.provenance;
    p.channel = info.channel;
    p.origin = info.origin;
    p.payload_chain = payload.chain;
    p.payload_name = payload.name;
    p.message_id = unpacked.message_id;
    p.received_at = info.received_at;
    p.sha256_raw = out.sha256_raw;
    out.content_digests.push_back(ContentDigest(report));
    out.reports.push_back(std::move(report));
  }
  for (PayloadFailure& failure : unpacked.failures) {
    out.rejections.push_back({std::move(failure.chain), std::move(failure.name),
                              std::move(failure.status)});
  }
  return out;
}

}  // namespace dmarcwatch::ingest
