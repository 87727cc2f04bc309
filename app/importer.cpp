#include "importer.h"

#include <fstream>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::app {

void ImportTotals::Add(const InputOutcome& outcome) {
  ++inputs;
  for (const ReportOutcome& r : outcome.reports) {
    switch (r.kind) {
      case store::SaveKind::kNew:
        ++reports_new;
        records += r.records;
        messages = model::SaturatingAdd(messages, r.messages);
        break;
      case store::SaveKind::kDuplicate:
        ++duplicates;
        break;
      case store::SaveKind::kConflict:
        ++conflicts;
        records += r.records;
        break;
    }
  }
  rejected += outcome.rejections.size();
  skipped += outcome.skipped.size();
}

Importer::Importer(store::Store& store, ingest::IngestOptions options, Clock clock,
                   analysis::Analyzer* analyzer)
    : store_(store), options_(std::move(options)), clock_(std::move(clock)), analyzer_(analyzer) {}

namespace {

store::RejectRecord ToRejectRecord(const ingest::Rejection& r) {
  return {r.chain, r.name, std::string(StatusCodeName(r.status.code())), r.status.reason(),
          r.status.message()};
}

store::RejectRecord ToRejectRecord(const ingest::Skipped& s) {
  std::string message;
  if (s.reason == "smtp_tls_report") {
    message = "an SMTP TLS report (RFC 8460); dmarcwatch does not import these yet";
  } else if (s.reason == "failure_report") {
    message = "a DMARC failure report (RFC 6591); dmarcwatch does not import these yet";
  } else {
    message = "not a DMARC aggregate report (" + s.reason + ")";
  }
  return {s.chain, s.name, "skipped", s.reason, message};
}

}  // namespace

Result<InputOutcome> Importer::Import(std::string_view bytes, const ingest::InputInfo& info) {
  ingest::ProcessedInput processed = ingest::ProcessInput(bytes, info, options_);
  const model::UnixTime now = clock_();

  store::InputRecord input;
  input.sha256 = processed.sha256_raw;
  input.channel = info.channel;
  input.origin = info.origin;
  input.name = info.name;
  input.message_id = processed.message_id;
  input.received_at = info.received_at;
  input.size = bytes.size();
  input.raw.assign(bytes);
  Result<std::int64_t> input_id = store_.PutInput(input);
  if (!input_id.ok()) return std::move(input_id).status();

  InputOutcome outcome;
  outcome.input_id = *input_id;
  for (std::size_t i = 0; i < processed.reports.size(); ++i) {
    const model::Report& report = processed.reports[i];
    std::optional<model::ReportAnalysis> analysis;
    if (analyzer_ != nullptr) analysis = analyzer_->Analyze(report);
    Result<store::SaveResult> saved = store_.SaveReport(
        *input_id, report, processed.content_digests[i], now, analysis ? &*analysis : nullptr);
    if (!saved.ok()) return std::move(saved).status();
    ReportOutcome r;
    r.kind = saved->kind;
    r.report_row_id = saved->report_row_id;
    r.org_name = report.report_metadata.org_name;
    r.report_id = report.report_metadata.report_id;
    r.domain = report.policy_published.domain;
    r.records = report.records.size();
    r.messages = report.MessageCount();
    r.warnings = report.warnings.size();
    outcome.reports.push_back(std::move(r));
  }
  for (const ingest::Rejection& rejection : processed.rejections) {
    DMARC_RETURN_IF_ERROR(store_.SaveReject(*input_id, ToRejectRecord(rejection), now));
  }
  for (ingest::Skipped& skipped : processed.skipped) {
    // The human-readable parts of a report email are expected; only
    // payloads of kinds not imported (yet) are worth keeping a note of.
    if (skipped.reason == "not_a_report") continue;
    DMARC_RETURN_IF_ERROR(store_.SaveReject(*input_id, ToRejectRecord(skipped), now));
    outcome.skipped.push_back(std::move(skipped));
  }
  outcome.rejections = std::move(processed.rejections);
  return outcome;
}

Result<InputOutcome> Importer::ImportTooLarge(const ingest::InputInfo& info, std::uint64_t size,
                                              const std::string& path) {
  const model::UnixTime now = clock_();
  store::InputRecord input;
  {
    ingest::Sha256 sha;
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 16);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      sha.Update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
    }
    input.sha256 = sha.HexDigest();
  }
  input.channel = info.channel;
  input.origin = info.origin;
  input.name = info.name;
  input.received_at = info.received_at;
  input.size = size;
  input.omitted = true;
  Result<std::int64_t> input_id = store_.PutInput(input);
  if (!input_id.ok()) return std::move(input_id).status();

  ingest::Rejection rejection{
      "", info.name,
      Status::LimitExceeded("max_input_bytes",
                            "input is " + std::to_string(size) + " bytes, over max_input_bytes (" +
                                std::to_string(options_.unpack.max_input_bytes) + ")")};
  DMARC_RETURN_IF_ERROR(store_.SaveReject(*input_id, ToRejectRecord(rejection), now));
  InputOutcome outcome;
  outcome.input_id = *input_id;
  outcome.rejections.push_back(std::move(rejection));
  return outcome;
}

}  // namespace dmarcwatch::app
