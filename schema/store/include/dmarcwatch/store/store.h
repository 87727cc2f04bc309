#pragma once
// Store: persistence of inputs, reports, records and rejected inputs, over
// Poco::Data (SQLite by default; PostgreSQL when the database is a
// "postgresql://" URI).
//
// Opening a store applies the numbered migrations in schema/sql that are not
// yet recorded in schema_migrations, each in its own transaction.
//
// Write path: every report is saved with its records in one transaction, or
// in one savepoint of a batch (BeginBatch), so a process killed at any point
// leaves whole reports or none. Inputs are
// keyed by the SHA-256 of their bytes and reports by (org_name, report_id,
// policy domain, begin, end) plus the content digest:
//   - same key, same content   -> SaveKind::kDuplicate, nothing written;
//   - same key, other content  -> SaveKind::kConflict, saved with
//                                 duplicate_of pointing at the first copy;
//   - otherwise                -> SaveKind::kNew.
// Statements are built once per Store, at its first write, and reused (on
// SQLite prepared once, sqlite_statement.h); the records of a report are
// written as blocks. A report too large to hold whole is saved in batches
// of records within its one transaction (BeginReport, ReportWriter), with
// the same result.
//
// Counts are stored as signed 64-bit integers: a count above INT64_MAX is
// stored, and read back, as INT64_MAX. Lists (errors, warnings, reasons,
// DKIM and SPF results) are stored as JSON text, where invalid UTF-8 is
// replaced by U+FFFD; every other string is kept byte for byte.
//
// Threading: a Store is used by one thread at a time. Several Store objects
// (threads or processes) may share one database; SQLite runs in WAL mode
// with a busy timeout. Nothing here throws: Poco exceptions are mapped to a
// Status at this adapter (kUnavailable for a locked or unreachable
// database, kIoError otherwise).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::store {

struct StoreOptions {
  // A file path for SQLite ("var/dmarcwatch.db"; parent directories are
  // created), ":memory:", or "postgresql://user:pw@host:port/db".
  std::string database = "var/dmarcwatch.db";
  // How long a writer waits for another writer's lock before kUnavailable.
  int busy_timeout_ms = 10000;
  // zlib level for stored raw inputs and record blocks (1 fast ... 9
  // small). Level 1 keeps most of the size gain on XML at a third of level
  // 6's time.
  int compression_level = 1;
  // Keep the answers of the period queries (QueryPathTotals, QuerySources)
  // in the store until the rollups change, for every process to share
  // (migration 0007). Off: every query is computed (benchmarks, tests).
  // At most kMaxKeptAnswers are kept, the newest.
  bool keep_answers = true;
  static constexpr std::size_t kMaxKeptAnswers = 64;
};

// One input as received, before unpacking.
struct InputRecord {
  std::string sha256;  // hex
  std::string channel;
  std::string origin;
  std::string name;
  std::optional<std::string> message_id;
  model::UnixTime received_at = 0;
  std::uint64_t size = 0;
  // The bytes. Empty with `omitted` set when the input was too large to keep.
  std::string raw;
  bool omitted = false;
};

enum class SaveKind { kNew, kDuplicate, kConflict };
const char* ToString(SaveKind kind);

// After a failure with reason "database_conflict" (PostgreSQL rolled the
// transaction back to break a deadlock or a serialization failure), whether
// to run it again: true, after a short random pause, for the first few
// attempts (1 is the first). Store operations retry so by themselves; a
// caller whose one transaction spans work of its own (a report saved in
// batches while it is parsed) retries that work with this.
bool RetryAfterConflict(const Status& failure, int attempt);

struct SaveResult {
  SaveKind kind = SaveKind::kNew;
  std::int64_t report_row_id = 0;  // the new row, or the existing identical one
  std::optional<std::int64_t> duplicate_of;  // kConflict: the first copy
};

// One rejected payload of an input.
struct RejectRecord {
  std::string payload_chain;
  std::string payload_name;
  std::string code;     // StatusCodeName(): "invalid_input", "limit_exceeded"; or "skipped"
  std::string reason;   // stable token
  std::string message;  // one line
};

struct ReportFilter {
  std::optional<std::string> domain;
  std::optional<model::UnixTime> since;  // reports whose range ends at or after this
  std::optional<model::UnixTime> until;  // reports whose range begins before this
  std::uint32_t limit = 1000;
  std::uint32_t offset = 0;
};

struct ReportRow {
  std::int64_t id = 0;
  std::int64_t input_id = 0;
  std::string org_name;
  std::string email;
  std::string report_id;
  std::string domain;
  model::UnixTime begin = 0;
  model::UnixTime end = 0;
  std::uint64_t records = 0;
  std::uint64_t messages = 0;
  std::optional<std::int64_t> duplicate_of;
  std::string payload_chain;
  std::string payload_name;
  std::string origin;
  std::uint32_t warnings = 0;
  model::UnixTime imported_at = 0;
  std::string content_sha256;  // ingest::ContentDigest of the report
};

struct RejectRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> input_id;
  std::string origin;
  std::string payload_chain;
  std::string payload_name;
  std::string code;
  std::string reason;
  std::string message;
  model::UnixTime first_seen = 0;
  std::uint64_t seen_count = 0;
};

// The rollup queries take a model::RollupQuery.
using RollupFilter = model::RollupQuery;

// A cached DNS answer, in the store's terms (analysis defines the meaning).
struct DnsCacheEntry {
  std::string rcode;
  std::vector<std::string> values;
  std::int64_t ttl = 0;
  model::UnixTime expires_at = 0;
};

struct Totals {
  std::uint64_t inputs = 0;
  std::uint64_t reports = 0;
  std::uint64_t conflicts = 0;  // reports flagged as a different copy of another
  std::uint64_t records = 0;
  std::uint64_t messages = 0;
  std::uint64_t rejects = 0;
};

class ReportWriter;

namespace internal {
struct Access;  // store_impl.h: lets the store's feature files reach Impl
}

class Store {
 public:
  // Opens (creating when needed) and migrates. kIoError when the file cannot
  // be created or written, kUnavailable when the database is unreachable or
  // locked, kFailedPrecondition when its schema is newer than this binary,
  // kInvalidInput for options out of range.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Group commit, for a bulk import (SQLite; on PostgreSQL, which several
  // processes share, these do nothing and every operation commits by
  // itself). From BeginBatch() on, the write operations run in one
  // transaction, each in a savepoint of its own (one that fails is undone
  // alone), until CommitBatch() commits them together; the next write
  // begins the next transaction. Until then nothing of them is durable or
  // seen by another connection, and the database stays locked for other
  // writers: the caller commits every few hundred inputs or second, and
  // before it acts outside the store on what it stored (moves a message,
  // answers an upload). When SQLite rolls the transaction back by itself
  // (an I/O error, a full disk), every later write and CommitBatch() fail
  // with kUnavailable, reason batch_lost: the inputs since the last
  // commit are to be imported again. EndBatch() commits and ends the
  // batch.
  Status BeginBatch();
  Status CommitBatch();
  Status EndBatch();

  // Keeps an input (compressed) unless one with the same SHA-256 is stored.
  // Returns the input's row id either way.
  Result<std::int64_t> PutInput(const InputRecord& input);

  // Saves one parsed report with its records in one transaction.
  // REQUIRES: input_id from PutInput; content_digest from ingest::ContentDigest.
  // kInvalidInput (reason nul_in_text) when a field stored as plain text
  // holds a NUL byte; kUnavailable when another writer holds the database
  // longer than busy_timeout_ms. Nothing of the report is written on error.
  Result<SaveResult> SaveReport(std::int64_t input_id, const model::Report& report,
                                const std::string& content_digest, model::UnixTime now,
                                const model::ReportAnalysis* analysis = nullptr);

  // Saves one report whose records come later, in batches (ReportWriter):
  // for a report too large to hold whole, which SaveReport needs. `header`
  // is the report without its records and warnings (those come with the
  // writer; any here are ignored). The write transaction is open from here
  // until ReportWriter::Finish or the writer's destruction, which rolls it
  // back: until then this Store must not be used for anything else.
  // REQUIRES: input_id from PutInput; the Store outlives the writer.
  // Fails as SaveReport does.
  Result<std::unique_ptr<ReportWriter>> BeginReport(std::int64_t input_id,
                                                    const model::Report& header,
                                                    model::UnixTime now);

  // Records a rejected payload. The same (input, chain, name, reason) seen
  // again bumps seen_count and takes the newer code and message instead of
  // adding a row; "no input" counts as one input for this.
  Status SaveReject(std::optional<std::int64_t> input_id, const RejectRecord& reject,
                            model::UnixTime now);

  // Reports matching the filter, newest first (by range begin, then by row
  // id). The domain filter ignores ASCII case; ReportRow::domain is the
  // lower-cased policy domain.
  Result<std::vector<ReportRow>> ListReports(const ReportFilter& filter);
  // Rejected payloads, most recently seen first.
  Result<std::vector<RejectRow>> ListRejects(std::uint32_t limit,
                                                     std::uint32_t offset);
  // Row counts over the whole store. reports counts every stored report,
  // conflicts included; messages sums the reports that are not conflicts,
  // saturating at UINT64_MAX.
  Result<Totals> GetTotals();
  // The original bytes of an input, decompressed. kNotFound when omitted.
  Result<std::string> GetInputBytes(std::int64_t input_id);
  // One stored report, rebuilt with all its fields and its records in row
  // order (absent optionals stay absent). kNotFound for an unknown row.
  Result<model::Report> GetReport(std::int64_t report_row_id);
  // One report's list row; kNotFound when there is none.
  Result<ReportRow> GetReportRow(std::int64_t report_row_id);

  // ---- Analysis and rollups ----------------------------------------------

  // Replaces the analysis of a stored report's records and moves its
  // contributions in the rollups accordingly, in one transaction.
  // REQUIRES: analysis has one entry per record of the report.
  Status ReplaceAnalysis(std::int64_t report_row_id, const model::ReportAnalysis& analysis);
  // Reports (oldest first, ids above after_id) whose records were never
  // analysed or were analysed with another configuration fingerprint.
  Result<std::vector<std::int64_t>> ReportsToAnalyze(const std::string& fingerprint,
                                                     std::int64_t after_id, std::uint32_t limit);
  // Whether ReportsToAnalyze(fingerprint, 0, 1) would name one: read from
  // the index reports_analysis, not by visiting every report.
  Result<bool> AnyReportToAnalyze(const std::string& fingerprint);
  // Every stored report's row id, oldest first, above after_id.
  Result<std::vector<std::int64_t>> ReportIds(std::int64_t after_id, std::uint32_t limit);
  // The analysis stored with a report's records, in row order (entries of
  // records never analysed have an empty path_key).
  Result<model::ReportAnalysis> GetAnalysis(std::int64_t report_row_id);

  // Per path over the filter's period (path_key in the filter is ignored).
  Result<std::vector<model::PathTotals>> QueryPathTotals(const RollupFilter& filter);
  // Per day, per path (or summed over paths when by_path is false).
  Result<std::vector<model::DailyCounts>> QueryDaily(const RollupFilter& filter, bool by_path);
  // Per path and reporter.
  Result<std::vector<model::ReporterCounts>> QueryReporters(const RollupFilter& filter);
  // Per path, source IP and signature, most messages first, at most
  // filter.limit groups.
  Result<std::vector<model::SourceCounts>> QuerySources(const RollupFilter& filter);
  // QueryPathTotals and QuerySources keep their answers in the store (see
  // StoreOptions::keep_answers) until the rollups change: this number,
  // raised by every committed transaction that changes a rollup, in any
  // process. Equal numbers, equal answers.
  Result<std::int64_t> RollupGeneration();
  // The policy each domain published, from its newest report.
  Result<std::vector<model::PublishedPolicy>> LatestPolicies();
  // Policy domains that have analysed data, and the first and last day of
  // it (DayNumber). first > last when there is none.
  Result<std::vector<std::string>> Domains();
  Result<std::pair<std::int64_t, std::int64_t>> DataDays(const std::optional<std::string>& domain);

  // ---- DNS cache -----------------------------------------------------------
  Result<std::optional<DnsCacheEntry>> GetDnsAnswer(const std::string& qtype,
                                                    const std::string& name);
  // The cached answers of many names at once (those absent are left out):
  // a few queries instead of one per name.
  Result<std::map<std::string, DnsCacheEntry>> GetDnsAnswers(const std::string& qtype,
                                                             const std::vector<std::string>& names);
  Status PutDnsAnswer(const std::string& qtype, const std::string& name,
                      const DnsCacheEntry& entry);

  // Applied migrations, newest last: (version, name).
  Result<std::vector<std::pair<int, std::string>>> AppliedMigrations();

 private:
  friend struct internal::Access;
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One report being saved in batches (Store::BeginReport). What it stores is
// what SaveReport stores for the same report with all its records: the
// same rows, rollups and duplicate detection. What differs is when the
// duplicate is found: the records are written as they come, and a report
// whose key is stored already with the same content is rolled back at
// Finish (kDuplicate) rather than never written. A writer is used by one
// thread; after a failure every call returns that failure, and nothing of
// the report is written.
class ReportWriter {
 public:
  ~ReportWriter();  // rolls back unless Finish succeeded
  ReportWriter(const ReportWriter&) = delete;
  ReportWriter& operator=(const ReportWriter&) = delete;

  // The report's next records, in order, with their analysis (parallel to
  // them) or null: given for every batch or for none.
  Status AddRecords(const std::vector<model::Record>& records,
                    const model::ReportAnalysis* analysis = nullptr);
  // Ends the report and commits it (or rolls it back, for a duplicate).
  // REQUIRES: content_digest is ingest::ContentDigest of the whole report,
  // warnings its Report::warnings.
  Result<SaveResult> Finish(const std::string& content_digest,
                            const std::vector<model::ParseWarning>& warnings);

 private:
  friend class Store;
  struct State;  // store.cpp
  explicit ReportWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace dmarcwatch::store
