#include "importer.h"

#include <malloc.h>

#include <fstream>
#include <optional>
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

void ImportTotals::Add(const ImportTotals& other) {
  inputs += other.inputs;
  reports_new += other.reports_new;
  duplicates += other.duplicates;
  conflicts += other.conflicts;
  rejected += other.rejected;
  skipped += other.skipped;
  records += other.records;
  messages = model::SaturatingAdd(messages, other.messages);
  failed += other.failed;
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

// Saves one report while it is parsed (ingest::ParsePayload). A report of
// up to kBatchRecords records is kept whole and saved with SaveReport at its
// end, so that a duplicate is found before anything is written. A larger
// one goes through a store::ReportWriter in batches of about that many
// records, each analysed, stored and freed before the next is parsed: the
// report is never held whole, neither as the model nor as store rows.
class ReportSaver : public ingest::ReportSink {
 public:
  static constexpr std::size_t kBatchRecords = 4096;

  ReportSaver(store::Store& store, analysis::Analyzer* analyzer, std::int64_t input_id,
              model::UnixTime now)
      : store_(store), analyzer_(analyzer), input_id_(input_id), now_(now) {}

  Status OnHeader(const model::Report& header) override {
    writer_.reset();  // the parse started over: what was written goes
    records_.clear();
    header_ = header;
    return Status::Ok();
  }

  Status OnRecords(std::vector<model::Record>& records) override {
    for (model::Record& r : records) records_.push_back(std::move(r));
    if (records_.size() > kBatchRecords) return Write();
    return Status::Ok();
  }

  // Saves what is left once the parse has succeeded.
  Result<store::SaveResult> Finish(const ingest::ParseSummary& summary) {
    if (!writer_) {
      model::Report report = header_;  // header_ stays for the outcome
      report.records = std::move(records_);
      report.warnings = summary.warnings;
      std::optional<model::ReportAnalysis> analysis;
      if (analyzer_ != nullptr) analysis = analyzer_->Analyze(report);
      return store_.SaveReport(input_id_, report, summary.content_digest, now_,
                               analysis ? &*analysis : nullptr);
    }
    if (!records_.empty()) DMARC_RETURN_IF_ERROR(Write());
    return writer_->Finish(summary.content_digest, summary.warnings);
  }

  const model::Report& header() const { return header_; }
  // The store's Status when the sink stopped the parse; OK otherwise.
  const Status& failure() const { return failure_; }
  // True once records went to the store before the report's end.
  bool streamed() const { return writer_ != nullptr; }

 private:
  Status Write() {
    if (!writer_) {
      Result<std::unique_ptr<store::ReportWriter>> writer =
          store_.BeginReport(input_id_, header_, now_);
      if (!writer.ok()) return failure_ = std::move(writer).status();
      writer_ = std::move(*writer);
    }
    std::optional<model::ReportAnalysis> analysis;
    if (analyzer_ != nullptr) analysis = analyzer_->Analyze(records_, header_.policy_published);
    Status added = writer_->AddRecords(records_, analysis ? &*analysis : nullptr);
    records_.clear();
    if (!added.ok()) failure_ = added;
    return added;
  }

  store::Store& store_;
  analysis::Analyzer* analyzer_;
  std::int64_t input_id_;
  model::UnixTime now_;
  model::Report header_;
  std::vector<model::Record> records_;
  std::unique_ptr<store::ReportWriter> writer_;
  Status failure_;
};

}  // namespace

Result<InputOutcome> Importer::Import(std::string_view bytes, const ingest::InputInfo& info) {
  ingest::UnpackedInput input = ingest::UnpackInput(bytes, info, options_);
  const model::UnixTime now = clock_();

  Result<std::int64_t> input_id = [&] {
    store::InputRecord record;
    record.sha256 = input.sha256_raw;
    record.channel = info.channel;
    record.origin = info.origin;
    record.name = info.name;
    record.message_id = input.unpacked.message_id;
    record.received_at = info.received_at;
    record.size = bytes.size();
    record.raw.assign(bytes);
    return store_.PutInput(record);
  }();
  if (!input_id.ok()) return std::move(input_id).status();

  InputOutcome outcome;
  outcome.input_id = *input_id;
  std::vector<ingest::Rejection> rejections;
  for (ingest::Payload& payload : input.unpacked.reports) {
    for (int attempt = 1;; ++attempt) {
      ReportSaver saver(store_, analyzer_, *input_id, now);
      Result<ingest::ParseSummary> parsed =
          ingest::ParsePayload(payload, input, info, options_, saver);
      Result<store::SaveResult> saved = Status::Internal("not saved");
      if (parsed.ok()) {
        saved = saver.Finish(*parsed);
      } else if (!saver.failure().ok()) {
        saved = saver.failure();
      } else {
        rejections.push_back({payload.chain, payload.name, std::move(parsed).status()});
        break;
      }
      if (!saved.ok()) {
        // A report written in batches that PostgreSQL rolled back to break a
        // deadlock is parsed and written again, as SaveReport does itself
        // for a report saved whole.
        if (saver.streamed() && store::RetryAfterConflict(saved.status(), attempt)) continue;
        return std::move(saved).status();
      }
      ReportOutcome r;
      r.kind = saved->kind;
      r.report_row_id = saved->report_row_id;
      r.org_name = saver.header().report_metadata.org_name;
      r.report_id = saver.header().report_metadata.report_id;
      r.domain = saver.header().policy_published.domain;
      r.records = parsed->records;
      r.messages = parsed->messages;
      r.warnings = parsed->warnings.size();
      outcome.reports.push_back(std::move(r));
      break;
    }
    // The payload's bytes are no longer needed; free them before the next one.
    std::string().swap(payload.bytes);
  }
  ingest::TakeFailures(input.unpacked, rejections);
  for (const ingest::Rejection& rejection : rejections) {
    DMARC_RETURN_IF_ERROR(store_.SaveReject(*input_id, ToRejectRecord(rejection), now));
  }
  for (ingest::Skipped& skipped : input.unpacked.skipped) {
    // The human-readable parts of a report email are expected; only
    // payloads of kinds not imported (yet) are worth keeping a note of.
    if (skipped.reason == "not_a_report") continue;
    DMARC_RETURN_IF_ERROR(store_.SaveReject(*input_id, ToRejectRecord(skipped), now));
    outcome.skipped.push_back(std::move(skipped));
  }
  outcome.rejections = std::move(rejections);
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

void KeepFreedHeap() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

}  // namespace dmarcwatch::app
