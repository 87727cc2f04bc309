#include "dmarcwatch/ingest/pipeline.h"

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/parse.h"

namespace dmarcwatch::ingest {
namespace {

void SetProvenance(model::Provenance& p, const Payload& payload, const UnpackedInput& input,
                   const InputInfo& info) {
  p.channel = info.channel;
  p.origin = info.origin;
  p.payload_chain = payload.chain;
  p.payload_name = payload.name;
  p.message_id = input.unpacked.message_id;
  p.received_at = info.received_at;
  p.sha256_raw = input.sha256_raw;
}

// Passes the report on with its provenance.
class ProvenanceSink : public ReportSink {
 public:
  ProvenanceSink(ReportSink& next, const Payload& payload, const UnpackedInput& input,
                 const InputInfo& info)
      : next_(next), payload_(payload), input_(input), info_(info) {}
  Status OnHeader(const model::Report& header) override {
    model::Report with = header;
    SetProvenance(with.provenance, payload_, input_, info_);
    return next_.OnHeader(with);
  }
  Status OnRecords(std::vector<model::Record>& records) override {
    return next_.OnRecords(records);
  }

 private:
  ReportSink& next_;
  const Payload& payload_;
  const UnpackedInput& input_;
  const InputInfo& info_;
};

}  // namespace

UnpackedInput UnpackInput(std::string_view bytes, const InputInfo& info,
                          const IngestOptions& options) {
  UnpackedInput out;
  out.sha256_raw = Sha256Hex(bytes);
  out.unpacked = Unpack(bytes, info.name, options.unpack);
  return out;
}

Result<ParseSummary> ParsePayload(const Payload& payload, const UnpackedInput& input,
                                  const InputInfo& info, const IngestOptions& options,
                                  ReportSink& sink) {
  ProvenanceSink with_provenance(sink, payload, input, info);
  Result<ParseSummary> parsed = ParseAggregateReport(payload.bytes, options.parse, with_provenance);
  if (parsed.ok()) {
    parsed->warnings.insert(parsed->warnings.begin(), payload.warnings.begin(),
                            payload.warnings.end());
  }
  return parsed;
}

void TakeFailures(Unpacked& unpacked, std::vector<Rejection>& rejections) {
  for (PayloadFailure& failure : unpacked.failures) {
    rejections.push_back({std::move(failure.chain), std::move(failure.name),
                          std::move(failure.status)});
  }
  unpacked.failures.clear();
}

ProcessedInput ProcessInput(std::string_view bytes, const InputInfo& info,
                            const IngestOptions& options) {
  UnpackedInput input = UnpackInput(bytes, info, options);
  ProcessedInput out;
  out.sha256_raw = input.sha256_raw;
  out.message_id = input.unpacked.message_id;
  out.skipped = std::move(input.unpacked.skipped);

  for (Payload& payload : input.unpacked.reports) {
    ReportCollector collected;
    Result<ParseSummary> parsed = ParsePayload(payload, input, info, options, collected);
    // The payload's bytes are no longer needed; free them before the next one.
    std::string().swap(payload.bytes);
    if (!parsed.ok()) {
      out.rejections.push_back({payload.chain, payload.name, std::move(parsed).status()});
      continue;
    }
    collected.report.warnings = std::move(parsed->warnings);
    out.content_digests.push_back(std::move(parsed->content_digest));
    out.reports.push_back(std::move(collected.report));
  }
  TakeFailures(input.unpacked, out.rejections);
  return out;
}

}  // namespace dmarcwatch::ingest
