#pragma once
// Importer: one input's way from bytes to the store, shared by every
// channel (files, watched folders, HTTP upload, IMAP).
//
// Order, so that nothing is ever lost: (1) the input is unpacked and the raw
// input kept (or, when too large to keep, its name, size and hash); (2) each
// report is parsed and saved in its own transaction, one after the other;
// (3) every rejected or skipped payload is recorded with its reason. A crash
// between any two steps is repaired by importing the same input again: the
// input is found by its SHA-256, saved reports come back as duplicates,
// missing ones are added. `dmarcwatch import` runs its inputs in batches
// (Store::BeginBatch): the transactions of up to 256 inputs, or of a
// second, commit together, and an interrupted import loses at most the
// open batch, which the same repair restores.
//
// Memory: a report of more than 4,096 records (kBatchRecords in
// importer.cpp) is saved while it is parsed, a batch at a time through a
// store::ReportWriter, so that neither the report nor its store rows are
// ever held whole; what is held is the inflated document and one batch
// (docs/performance.md, "Peak memory"). Smaller reports are held whole and
// saved with SaveReport, which finds a duplicate before writing anything.
//
// An Import() that returns a Status means the store could not be written
// (retry later); bad input is never a Status here, it is in the outcome.
// DNS-based attribution (rule 5) is not done here: the caller runs it on
// the committed reports (AnalysisService::EnrichWithDns), off this path.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/mailboxes.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

struct ReportOutcome {
  store::SaveKind kind = store::SaveKind::kNew;
  std::int64_t report_row_id = 0;
  std::string org_name;
  std::string report_id;
  std::string domain;
  std::uint64_t records = 0;
  std::uint64_t messages = 0;
  std::size_t warnings = 0;
};

struct InputOutcome {
  std::int64_t input_id = 0;
  std::vector<ReportOutcome> reports;
  std::vector<ingest::Rejection> rejections;
  std::vector<ingest::Skipped> skipped;
};

// Totals over many inputs, for summaries and status.
struct ImportTotals {
  std::uint64_t inputs = 0;
  std::uint64_t reports_new = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t rejected = 0;
  std::uint64_t skipped = 0;
  std::uint64_t records = 0;   // of new and conflicting reports
  std::uint64_t messages = 0;  // of new reports
  std::uint64_t failed = 0;    // inputs that could not be stored (environment errors)

  void Add(const InputOutcome& outcome);
  void Add(const ImportTotals& other);
};

class Importer {
 public:
  using Clock = std::function<model::UnixTime()>;

  // REQUIRES: `store` (and `analyzer`, when given) outlive the Importer.
  // With an analyzer, every report is analysed (attribution rules 1-4, 6)
  // and saved with its analysis, so the rollups are current at once.
  Importer(store::Store& store, ingest::IngestOptions options, Clock clock,
           analysis::Analyzer* analyzer = nullptr);

  // Imports one input held in memory.
  Result<InputOutcome> Import(std::string_view bytes, const ingest::InputInfo& info);
  // Records an input that was too large to read: kept by name, size and
  // the hash of the file at `path` (streamed, never held whole), with a
  // reject naming the limit.
  Result<InputOutcome> ImportTooLarge(const ingest::InputInfo& info, std::uint64_t size,
                                      const std::string& path);

  const ingest::IngestOptions& options() const { return options_; }

 private:
  store::Store& store_;
  ingest::IngestOptions options_;
  Clock clock_;
  analysis::Analyzer* analyzer_;
};

// Ingest allocates and frees a document and its parse tree for every
// report. By default glibc gives the freed top of the heap back to the
// kernel once more than 128 KiB of it is free, and the next report faults
// the same pages in again, zeroed: 84,000 page faults for the 400 reports
// of the 200,000-row benchmark, 7,000 with these settings, and a third
// less system time (docs/performance.md). Keeps up to 64 MiB of freed heap
// mapped instead; the peak is the same. For a process that ingests only.
void KeepFreedHeap();

// Writes what a poll or a folder scan did into its ingest run, from an
// outcome with seen, imported, invalid, moved, totals and error.
template <typename Outcome>
void FillIngestRun(store::IngestRun& run, const Outcome& out, model::UnixTime finished_at) {
  run.finished_at = finished_at;
  run.seen = out.seen;
  run.imported = out.imported;
  run.invalid = out.invalid;
  run.moved = out.moved;
  run.reports_new = out.totals.reports_new;
  if (!out.error.ok()) {
    run.error_reason = out.error.reason();
    run.error_message = out.error.message();
  }
}

}  // namespace dmarcwatch::app
