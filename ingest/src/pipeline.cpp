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

ProcessedInput ProcessInput(std::string_view bytes, const InputInfo& info,
                            const IngestOptions& options) {
  UnpackedInput input = UnpackInput(bytes, info, options);
  ProcessedInput out;
  out.sha256_raw = input.sha256_raw;
  out.message_id = input.unpacked.message_id;
  out.skipped = std::move(input.unpacked.skipped);

  for (Payload& payload : input.unpacked.reports) {
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
    SetProvenance(report.provenance, payload, input, info);
    out.content_digests.push_back(ContentDigest(report));
    out.reports.push_back(std::move(report));
  }
  for (PayloadFailure& failure : input.unpacked.failures) {
    out.rejections.push_back({std::move(failure.chain), std::move(failure.name),
                              std::move(failure.status)});
  }
  return out;
}

}  // namespace dmarcwatch::ingest
