#pragma once
// Store: persistence of inputs, reports, records and rejected inputs, over
// Poco::Data (SQLite by default; PostgreSQL when the database is a
// "postgresql://" URI).
//
// Opening a store applies the numbered migrations in schema/sql that are not
// yet recorded in schema_migrations, each in its own transaction.
//
// Write path: every report is saved in one transaction with its records, so
// a process killed at any point leaves whole reports or none. Inputs are
// keyed by the SHA-256 of their bytes and reports by (org_name, report_id,
// policy domain, begin, end) plus the content digest:
//   - same key, same content   -> SaveKind::kDuplicate, nothing written;
//   - same key, other content  -> SaveKind::kConflict, saved with
//                                 duplicate_of pointing at the first copy;
//   - otherwise                -> SaveKind::kNew.
// Statements are prepared once per Store and reused.
//
// Threading: a Store is used by one thread at a time. Several Store objects
// (threads or processes) may share one database; SQLite runs in WAL mode
// with a busy timeout. Nothing here throws: Poco exceptions are mapped to a
// Status at this adapter (kUnavailable for a locked or unreachable
// database, kIoError otherwise).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::store {

struct StoreOptions {
  // A file path for SQLite ("var/dmarcwatch.db"; parent directories are
  // created), ":memory:", or "postgresql://user:pw@host:port/db".
  std::string database = "var/dmarcwatch.db";
  // How long a writer waits for another writer's lock before kUnavailable.
  int busy_timeout_ms = 10000;
  // zlib level for stored raw inputs (1 fast ... 9 small).
  int compression_level = 6;
};

// One input as received, before unpacking.
struct InputRecord {
  std::string sha256;  // hex
  std::string channel;
  std::string origin;
  std::string name;
  std::optional<std::string> message_id;
  model::UnixTime received_at;
  std::uint64_t size;
  // The bytes. Empty with `omitted` set when the input was too large to keep.
  std::string raw;
  bool omitted = false;
};

enum class SaveKind { kNew, kDuplicate, kConflict };
const char* ToString(SaveKind kind);

struct SaveResult {
  SaveKind kind = SaveKind::kNew;
  std::int64_t report_row_id;  // the new row, or the existing identical one
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
  std::uint32_t offset;
};

struct ReportRow {
  std::int64_t id;
  std::string org_name;
  std::string email;
  std::string report_id;
  std::string domain;
  model::UnixTime begin;
  model::UnixTime end;
  std::uint64_t records;
  std::uint64_t messages;
  std::optional<std::int64_t> duplicate_of;
  std::string payload_chain;
  std::string payload_name;
  std::string origin;
  std::uint32_t warnings;
  model::UnixTime imported_at;
};

struct RejectRow {
  std::int64_t id;
  std::optional<std::int64_t> input_id;
  std::string origin;
  std::string payload_chain;
  std::string payload_name;
  std::string code;
  std::string reason;
  std::string message;
  model::UnixTime first_seen;
  std::uint64_t seen_count;
};

struct Totals {
  std::uint64_t inputs;
  std::uint64_t reports;
  std::uint64_t conflicts;  // reports flagged as a different copy of another
  std::uint64_t records;
  std::uint64_t messages;
  std::uint64_t rejects;
};

class Store {
 public:
  // Opens (creating when needed) and migrates. kIoError when the file cannot
  // be created or written, kUnavailable when the database is unreachable.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Keeps an input (compressed) unless one with the same SHA-256 is stored.
  // Returns the input's row id either way.
  Result<std::int64_t> PutInput(const InputRecord& input);

  // Saves one parsed report with its records in one transaction.
  // REQUIRES: input_id from PutInput; content_digest from ingest::ContentDigest.
  Result<SaveResult> SaveReport(std::int64_t input_id, const model::Report& report,
                                        const std::string& content_digest,
                                        model::UnixTime now);

  // Records a rejected payload. The same (input, chain, name, reason) seen
  // again bumps seen_count instead of adding a row.
  Status SaveReject(std::optional<std::int64_t> input_id, const RejectRecord& reject,
                            model::UnixTime now);

  Result<std::vector<ReportRow>> ListReports(const ReportFilter& filter);
  Result<std::vector<RejectRow>> ListRejects(std::uint32_t limit,
                                                     std::uint32_t offset);
  Result<Totals> GetTotals();
  // The original bytes of an input, decompressed. kNotFound when omitted.
  Result<std::string> GetInputBytes(std::int64_t input_id);
  // The records of one stored report, in row order.
  Result<model::Report> GetReport(std::int64_t report_row_id);

  // Applied migrations, newest last: (version, name).
  Result<std::vector<std::pair<int, std::string>>> AppliedMigrations();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dmarcwatch::store
