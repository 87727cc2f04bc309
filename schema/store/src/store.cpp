#include "dmarcwatch/store/store.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/Logger.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "compression.h"
#include "dialect.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "migrations.h"
#include "record_blocks.h"
#include "rows.h"
#include "store_impl.h"

namespace dmarcwatch::store {


bool RetryAfterConflict(const Status& failure, int attempt) {
  constexpr int kConflictAttempts = 6;
  if (attempt >= kConflictAttempts || failure.reason() != "database_conflict") return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(5 + (std::rand() % 50) * attempt));
  return true;
}

const char* ToString(SaveKind kind) {
  switch (kind) {
    case SaveKind::kNew: return "new";
    case SaveKind::kDuplicate: return "duplicate";
    case SaveKind::kConflict: return "conflict";
  }
  return "unknown";
}

Status MapException(const Poco::Exception& e, Backend backend) {
  namespace sqlite = Poco::Data::SQLite;
  namespace pg = Poco::Data::PostgreSQL;
  const std::string detail = model::Printable(e.displayText());
  if (Is<sqlite::DBLockedException>(e) || Is<sqlite::TableLockedException>(e)) {
    return Status::Unavailable("database_locked",
                               "the database is locked by another writer: " + detail);
  }
  const bool connect_failed = Is<Poco::Data::ConnectionFailedException>(e) ||
                              Is<Poco::Data::NotConnectedException>(e) ||
                              Is<pg::ConnectionException>(e);
  if (connect_failed && backend == Backend::kSqlite) {
    // For a file, "cannot connect" means it cannot be opened or created.
    return Status::IoError("cannot open the database file: " + detail);
  }
  if (connect_failed) {
    return Status::Unavailable("database_unreachable", "cannot reach the database: " + detail);
  }
  if (backend == Backend::kPostgres && Is<pg::PostgreSQLException>(e)) {
    // Poco 1.11 keeps no SQLSTATE, only the server's message, so these
    // are told apart by the English text of SQLSTATEs 40P01, 40001, 55P03
    // and 23505, 23503, 23514, 23502. A server with another lc_messages
    // makes them plain database errors (kIoError), nothing worse.
    const std::string& text = e.message();
    const auto has = [&text](std::string_view s) { return text.find(s) != std::string::npos; };
    if (has("deadlock detected") || has("could not serialize access")) {
      return Status::Unavailable("database_conflict",
                                 "another transaction got in the way; retry: " + detail);
    }
    if (has("lock timeout") || has("could not obtain lock")) {
      return Status::Unavailable("database_locked",
                                 "the database is locked by another writer: " + detail);
    }
    if (has("violates unique constraint") || has("violates foreign key constraint") ||
        has("violates check constraint") || has("violates not-null constraint")) {
      return Status(StatusCode::kFailedPrecondition, "constraint_violation",
                    "the database refused the row: " + detail);
    }
  }
  if (Is<BatchLostException>(e)) return Status::Unavailable("batch_lost", e.message());
  if (Is<sqlite::ConstraintViolationException>(e)) {
    return Status(StatusCode::kFailedPrecondition, "constraint_violation",
                  "the database refused the row: " + detail);
  }
  if (Is<Poco::DataFormatException>(e) || Is<Poco::JSON::JSONException>(e)) {
    return Status(StatusCode::kInternal, "corrupt_row",
                  "a stored row does not hold what this store writes: " + detail);
  }
  if (Is<sqlite::CantOpenDBFileException>(e)) {
    return Status::IoError("cannot open the database file: " + detail);
  }
  if (Is<sqlite::ReadOnlyException>(e) || Is<sqlite::DBAccessDeniedException>(e)) {
    return Status::IoError("the database is not writable: " + detail);
  }
  if (Is<sqlite::DatabaseFullException>(e)) {
    return Status::IoError("the database or its disk is full: " + detail);
  }
  return Status::IoError("database error: " + detail);
}


namespace {

// Opening a local file takes milliseconds. Poco waits this long before it
// reports a failed open (see PrepareDatabaseFile), so keep it short.
constexpr std::size_t kSqliteOpenTimeoutS = 5;
// Per connection; see Configure.
constexpr std::int64_t kSqliteCacheKiB = 16 * 1024;

void RegisterConnector(Backend backend) {
  static std::once_flag sqlite_once;
  static std::once_flag postgres_once;
  if (backend == Backend::kSqlite) {
    std::call_once(sqlite_once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
  } else {
    std::call_once(postgres_once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  }
}

// Makes sure SQLite will be able to open `path` read-write, and says why
// not otherwise. Poco 1.11 reports a failed SQLite open only after its
// login timeout (60 s by default) has run out, so the usual reasons are
// found here first: a missing directory (created), a directory in the
// file's place, a file or directory we may not write.
//
// An existing file is only stat()ed and access()ed, never opened: closing
// a descriptor drops every POSIX lock this process holds on the file,
// including those of another open Store's SQLite connection.
Status PrepareDatabaseFile(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      return Status::IoError("cannot create directory " + model::Printable(parent.string()) +
                             " for the database: " + ec.message());
    }
  }
  const fs::file_status status = fs::status(path, ec);
  if (fs::exists(status)) {
    if (fs::is_directory(status)) {
      return Status::IoError("the database path " + model::Printable(path) + " is a directory");
    }
    if (::access(path.c_str(), R_OK | W_OK) != 0) {
      return Status::IoError("cannot write the database " + model::Printable(path) + ": " +
                             std::generic_category().message(errno));
    }
    return Status::Ok();
  }
  // A new, empty file is what SQLite creates itself; 0644 is its default.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();  // another process was first
    return Status::IoError("cannot create the database " + model::Printable(path) + ": " +
                           std::generic_category().message(errno));
  }
  ::close(fd);
  return Status::Ok();
}

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Store::Impl::Build() {
  auto s = std::make_unique<Statements>(session);
  // Each statement's SQL, then its bindings: on SQLite as functions of a
  // statement prepared once, elsewhere as Poco's use() and into().
  const bool once = dialect.backend == Backend::kSqlite;
  using St = SqliteStatement;

  const std::string find_input = dialect.Sql("SELECT id FROM inputs WHERE sha256 = ?");
  const std::string insert_input =
      dialect.Sql("INSERT INTO inputs (" + ColumnList<InputRowData>() + ") VALUES (" +
                  PlaceholderList<InputRowData>() + ")" + dialect.OnConflictDoNothing());
  const std::string find_report_key = dialect.Sql(
      "SELECT id, content_sha256 FROM reports WHERE org_name = ? AND "
      "report_id = ? AND domain = ? AND begin_at = ? AND end_at = ? "
      "ORDER BY id");
  // DO NOTHING: a copy another process committed since our lookup is not an
  // error but a duplicate (only possible where the lookup takes no lock,
  // i.e. PostgreSQL; SQLite's BEGIN IMMEDIATE excludes it).
  const std::string insert_report =
      dialect.Sql("INSERT INTO reports (" + ColumnList<ReportRowData>() + ") VALUES (" +
                  PlaceholderList<ReportRowData>() + ")" + dialect.OnConflictDoNothing() +
                  dialect.ReturningId());
  const std::string insert_record_block =
      dialect.Sql("INSERT INTO record_blocks (" + ColumnList<RecordBlockRowData>() +
                  ") VALUES (" + PlaceholderList<RecordBlockRowData>() + ")");
  const std::string record_fingerprint =
      dialect.Sql("UPDATE reports SET analysis_fingerprint = ? WHERE id = ?");
  const std::string upsert_reject = dialect.Sql(
      "INSERT INTO rejects (" + ColumnList<RejectRowData>() + ") VALUES (" +
      PlaceholderList<RejectRowData>() + ")" +
      dialect.OnConflictUpdate("(COALESCE(input_id, 0)), payload_chain, payload_name, reason",
                               "code = excluded.code, message = excluded.message, "
                               "last_seen = excluded.last_seen, "
                               "seen_count = rejects.seen_count + 1"));
  const std::string find_signature = dialect.Sql("SELECT id FROM signatures WHERE digest = ?");
  const std::string insert_signature =
      dialect.Sql("INSERT INTO signatures (" + ColumnList<SignatureRowData>() + ") VALUES (" +
                  PlaceholderList<SignatureRowData>() + ")" + dialect.OnConflictDoNothing());

  if (once) {
    s->find_input.PrepareOnce(
        session, find_input, [this](St& st) { st.Bind(input_sha256); },
        [this](const St& st) { found_input_id = st.Int(0); });
    s->insert_input.PrepareOnce(session, insert_input,
                                [this](St& st) { st.Bind(InputRowData::Fields(input_row)); });
    s->find_report_key.PrepareOnce(
        session, find_report_key,
        [this](St& st) { st.Bind(key_org_name, key_report_id, key_domain, key_begin, key_end); },
        [this](const St& st) {
          found_report_ids.push_back(st.Int(0));
          found_report_digests.push_back(st.Text(1));
        });
    s->insert_report.PrepareOnce(session, insert_report,
                                 [this](St& st) { st.Bind(ReportRowData::Fields(report_row)); });
    s->last_insert_id.PrepareOnce(session, dialect.Sql(dialect.last_insert_id_query), nullptr,
                                  [this](const St& st) { new_report_id = st.Int(0); });
    s->insert_record_block.PrepareOnce(session, insert_record_block, [this](St& st) {
      st.Bind(RecordBlockRowData::Fields(record_block_row));
    });
    s->record_fingerprint.PrepareOnce(session, record_fingerprint, [this](St& st) {
      st.Bind(fingerprint, fingerprint_report_id);
    });
    s->upsert_reject.PrepareOnce(session, upsert_reject,
                                 [this](St& st) { st.Bind(RejectRowData::Fields(reject_row)); });
    s->find_signature.PrepareOnce(
        session, find_signature, [this](St& st) { st.Bind(signature_row.digest); },
        [this](const St& st) { found_signature_id = st.Int(0); });
    s->insert_signature.PrepareOnce(session, insert_signature, [this](St& st) {
      st.Bind(SignatureRowData::Fields(signature_row));
    });
  } else {
    s->find_input.poco() << find_input, use(input_sha256), into(found_input_id);
    s->insert_input.poco() << insert_input, use(input_row);
    s->find_report_key.poco() << find_report_key, use(key_org_name), use(key_report_id),
        use(key_domain), use(key_begin), use(key_end), into(found_report_ids),
        into(found_report_digests);
    s->insert_report.poco() << insert_report, use(report_row);
    if (dialect.insert_returning) {
      s->insert_report.poco().addExtract(into(new_report_id));
    } else {
      s->last_insert_id.poco() << dialect.Sql(dialect.last_insert_id_query), into(new_report_id);
    }
    s->insert_record_block.poco() << insert_record_block, use(record_block_row);
    s->record_fingerprint.poco() << record_fingerprint, use(fingerprint),
        use(fingerprint_report_id);
    s->upsert_reject.poco() << upsert_reject, use(reject_row);
    s->find_signature.poco() << find_signature, use(signature_row.digest),
        into(found_signature_id);
    s->insert_signature.poco() << insert_signature, use(signature_row);
  }
  statements = std::move(s);
}

Status Store::Impl::Configure() {
  if (dialect.backend == Backend::kPostgres) {
    // libpq prints the server's notices to stderr; "relation ... already
    // exists, skipping" at every open is not for the user's terminal.
    Exec("SET client_min_messages = warning");
    return Status::Ok();
  }
  Exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms));
  // A new file is in rollback-journal mode, where switching to WAL takes
  // the exclusive lock from a shared one. When another process opening
  // the same new file holds a shared lock too, SQLite answers BUSY at once
  // instead of waiting in the busy handler, since waiting could deadlock
  // (as sqlite3_busy_handler's documentation says). So two processes started
  // together on a new store could fail to open it. The switch is retried
  // here for as long as busy_timeout allows.
  std::string mode;
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (int attempt = 1;; ++attempt) {
    try {
      session << "PRAGMA journal_mode = WAL", into(mode), now;
      break;
    } catch (const Poco::Data::SQLite::DBLockedException&) {
      if (std::chrono::steady_clock::now() >= give_up) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt, 20)));
    }
  }
  if (options.database != kMemoryDatabase && model::AsciiLower(mode) != "wal") {
    return Status::IoError("cannot put the database in WAL mode (journal_mode is " +
                           model::Printable(mode) + ")");
  }
  // NORMAL is durable in WAL mode except for the last commits before a
  // power loss; the database itself cannot be corrupted by it.
  Exec("PRAGMA synchronous = NORMAL");
  Exec("PRAGMA foreign_keys = ON");
  // A report's rows land all over the rollup indexes, so with SQLite's
  // 2 MB default page cache every save read back and rewrote the same
  // pages (docs/performance.md). A bounded larger cache, and a checkpoint
  // (two fsyncs) every 16 MB of WAL rather than every 4 MB. No mmap: mapped
  // pages count as the process's memory and would grow with the database.
  Exec("PRAGMA cache_size = " + std::to_string(-kSqliteCacheKiB));
  Exec("PRAGMA wal_autocheckpoint = 4000");
  return Status::Ok();
}

Result<int> Store::Impl::Migrate() {
  // PostgreSQL: processes opening one database at once migrate it one at
  // a time; CREATE TABLE IF NOT EXISTS and ALTER TABLE are not safe
  // against the same statement running concurrently. The lock is the
  // connection's until released below (or the connection closes, when
  // Open fails).
  struct MigrationLock {
    Impl& impl;
    std::int64_t key = AdvisoryLockKey("dmarcwatch migrations");
    bool held = false;
    explicit MigrationLock(Impl& i) : impl(i) {
      if (impl.dialect.advisory_lock.empty()) return;
      impl.session << impl.dialect.Sql(impl.dialect.advisory_lock), use(key), now;
      held = true;
    }
    ~MigrationLock() {
      if (!held) return;
      try {
        std::int64_t released = 0;
        impl.session << impl.dialect.Sql(impl.dialect.advisory_unlock), into(released), use(key),
            now;
      } catch (...) {
        // The connection is gone, and the lock with it.
      }
    }
  } lock(*this);
  Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  const std::vector<Migration> known = EmbeddedMigrations();
  const int known_max = known.empty() ? 0 : known.back().version;

  std::vector<std::int64_t> applied;
  session << "SELECT version FROM schema_migrations ORDER BY version", into(applied), now;
  if (!applied.empty() && applied.back() > known_max) {
    return Status(StatusCode::kFailedPrecondition, "schema_too_new",
                  "database schema version " + std::to_string(applied.back()) +
                      " is newer than this dmarcwatch (" + std::to_string(known_max) + ")");
  }

  int count = 0;
  for (const Migration& m : known) {
    if (std::binary_search(applied.begin(), applied.end(), std::int64_t{m.version})) continue;
    WriteTransaction tx(*this);
    // Another process may have applied it while we waited for the lock.
    std::int64_t already = 0;
    std::int64_t version = m.version;
    session << dialect.Sql("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"),
        into(already), use(version), now;
    if (already != 0) continue;
    for (const std::string& statement : SplitStatements(dialect.ExpandMigration(m.sql))) {
      session << statement, now;
    }
    std::string name = m.name;
    std::int64_t applied_at = SystemNow();
    session << dialect.Sql(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
        use(version), use(name), use(applied_at), now;
    tx.Commit();
    ++count;
    log.information("event=migration_applied version=" + std::to_string(m.version) +
                    " name=" + m.name);
  }
  return count;
}

std::optional<std::int64_t> Store::Impl::InsertReport() {
  Statements& s = Prepared();
  new_report_id = 0;
  // execute() returns the rows extracted or, failing those, the rows
  // changed: 0 when ON CONFLICT skipped the insert.
  if (s.insert_report.execute() == 0) return std::nullopt;
  if (!dialect.insert_returning) s.last_insert_id.execute();
  return new_report_id;
}

namespace {

using Impl = internal::Access::Impl;

// Fills the record rows of `records`, record numbers from `first_index` on,
// with their analysis (parallel to them, or null) and inserts them.
// REQUIRES: an open write transaction; records not empty.
Status InsertRecordRows(Impl& i, std::int64_t report_row_id, std::size_t first_index,
                        const std::vector<model::Record>& records,
                        const model::ReportAnalysis* analysis) {
  FillRecordRows(report_row_id, first_index, records, i.record_rows);
  if (analysis != nullptr) {
    for (std::size_t k = 0; k < i.record_rows.size(); ++k) {
      ApplyAnalysis(analysis->records[k], i.record_rows[k]);
    }
    i.AssignSignatures(i.record_rows);
  }
  return i.InsertRecordBlocks(i.record_rows);
}

void RecordFingerprint(Impl& i, std::int64_t report_row_id, const std::string& fingerprint) {
  i.fingerprint = fingerprint;
  i.fingerprint_report_id = report_row_id;
  i.Prepared().record_fingerprint.execute();
}

// The report's key (org_name, report_id, lower-cased domain, range) into
// the variables find_report_key is bound to.
void SetReportKey(Impl& i, const model::Report& report) {
  const model::ReportMetadata& m = report.report_metadata;
  i.key_org_name = m.org_name;
  i.key_report_id = m.report_id;
  i.key_domain = model::AsciiLower(report.policy_published.domain);
  i.key_begin = m.date_range.begin;
  i.key_end = m.date_range.end;
}

// PostgreSQL: writers of the same key take turns, so that of two processes
// saving different content for one key at once, the second sees the first
// copy and stores a conflict, not a second "first" copy. Released at commit
// or rollback. REQUIRES: an open write transaction; SetReportKey.
void LockReportKey(Impl& i) {
  if (i.dialect.transaction_lock.empty()) return;
  std::int64_t key = AdvisoryLockKey("dmarcwatch report\n" + i.key_org_name + "\n" +
                                     i.key_report_id + "\n" + i.key_domain + "\n" +
                                     std::to_string(i.key_begin) + "\n" +
                                     std::to_string(i.key_end));
  i.session << i.dialect.Sql(i.dialect.transaction_lock), use(key), now;
}

// The stored reports with the key set by SetReportKey, oldest first, into
// found_report_ids and found_report_digests.
void FindReportKey(Impl& i) {
  i.found_report_ids.clear();  // Poco appends to extraction vectors
  i.found_report_digests.clear();
  i.Prepared().find_report_key.execute();
}

Status NulInText(const char* field) {
  return Status::InvalidInput("nul_in_text", std::string("the report's ") + field +
                                                 " holds a NUL byte, which cannot be stored");
}

}  // namespace

Status Store::Impl::InsertRecords(std::int64_t report_row_id, const model::Report& report,
                                  const model::ReportAnalysis* analysis) {
  // Recorded first: a report without records is analysed too, and must not
  // be offered for analysis again.
  if (analysis != nullptr) RecordFingerprint(*this, report_row_id, analysis->fingerprint);
  if (report.records.empty()) return Status::Ok();
  return InsertRecordRows(*this, report_row_id, 0, report.records, analysis);
}

Status Store::Impl::InsertRecordBlocks(const std::vector<RecordRowData>& rows) {
  RecordBlockRowData& block = record_block_row;
  for (std::size_t begin = 0; begin < rows.size(); begin += kRecordBlockRows) {
    const std::size_t end = std::min(rows.size(), begin + kRecordBlockRows);
    const std::string packed = EncodeRecordBlock(rows, begin, end, options.compression_level);
    if (packed.empty()) return Status::Internal("zlib could not compress a record block");
    block.report_row_id = rows[begin].report_row_id;
    block.first_index = rows[begin].row_index;
    block.row_count = static_cast<std::int64_t>(end - begin);
    block.encoding = kRecordBlockEncoding;
    block.data.assignRaw(reinterpret_cast<const unsigned char*>(packed.data()), packed.size());
    Prepared().insert_record_block.execute();
  }
  // The block's buffer is not kept between reports.
  block.data = Poco::Data::BLOB();
  return Status::Ok();
}

Result<std::vector<RecordRowData>> Store::Impl::LoadRecordRows(std::int64_t report_row_id) {
  // The rows of a report saved before migration 0008 first: a re-analysis
  // in another process moves them into blocks, never back, so reading in
  // this order cannot miss them between the two statements.
  std::vector<RecordRowData> rows;
  session << dialect.Sql("SELECT " + ColumnList<RecordRowData>() +
                         " FROM records WHERE report_row_id = ? ORDER BY row_index"),
      into(rows), bind(report_row_id), now;
  if (!rows.empty()) return rows;
  std::vector<std::int64_t> first, counts;
  std::vector<std::string> encodings;
  std::vector<Poco::Data::BLOB> data;
  session << dialect.Sql("SELECT first_index, row_count, encoding, data FROM record_blocks "
                         "WHERE report_row_id = ? ORDER BY first_index"),
      into(first), into(counts), into(encodings), into(data), bind(report_row_id), now;
  for (std::size_t k = 0; k < first.size(); ++k) {
    if (first[k] != static_cast<std::int64_t>(rows.size())) {
      return Status(StatusCode::kInternal, "corrupt_row",
                    "the record blocks of report " + std::to_string(report_row_id) +
                        " do not follow on: a block starts at record " +
                        std::to_string(first[k]) + " after " + std::to_string(rows.size()));
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data[k].rawContent()),
                                 data[k].size());
    DMARC_RETURN_IF_ERROR(
        DecodeRecordBlock(encodings[k], bytes, report_row_id, first[k], counts[k], rows));
  }
  return rows;
}

void Store::Impl::ReleaseRecordRows() {
  // The rows keep their buffers for the next report, but not without bound:
  // one report of 200,000 records would otherwise pin tens of megabytes.
  if (record_rows.capacity() > kKeptRecordRows) std::vector<RecordRowData>().swap(record_rows);
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

// ---- Write transactions and batches ------------------------------------------

namespace {
constexpr const char* kSavepoint = "SAVEPOINT write_operation";
constexpr const char* kRelease = "RELEASE write_operation";
constexpr const char* kRollbackTo = "ROLLBACK TO write_operation";

Status BatchLost(const std::string& why) {
  return Status::Unavailable("batch_lost", "the batch's transaction was rolled back (" + why +
                                               "): nothing since its last commit was stored");
}
}  // namespace

POCO_IMPLEMENT_EXCEPTION(BatchLostException, Poco::IllegalStateException, "Batch lost")

void Store::Impl::WritersTurn(int op) {
  if (writers_fd == -2) {
    writers_fd = -1;
    if (dialect.backend == Backend::kSqlite && options.database != kMemoryDatabase) {
      writers_fd =
          ::open((options.database + "-writers.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
  }
  if (writers_fd < 0) return;
  while (::flock(writers_fd, op) != 0 && errno == EINTR) {
  }
}

void Store::Impl::BeginWrite() {
  WritersTurn(LOCK_SH);
  try {
    Exec(dialect.begin_write);
  } catch (...) {
    WritersTurn(LOCK_UN);
    throw;
  }
}

Store::Impl::WriteTransaction::WriteTransaction(Impl& impl) : impl_(impl) {
  if (!impl_.batching) {
    impl_.BeginWrite();
    return;
  }
  if (impl_.batch_open && !SqliteInTransaction(impl_.session)) {
    // Rolled back by SQLite after a failure this store did not see as one.
    impl_.LoseBatch("the transaction was no longer open");
  }
  if (impl_.batch_lost) throw BatchLostException(impl_.batch_lost->message());
  if (!impl_.batch_open) {
    impl_.BeginWrite();
    impl_.batch_open = true;
  }
  impl_.Exec(kSavepoint);
  savepoint_ = true;
  ++impl_.savepoints_open;
}

void Store::Impl::WriteTransaction::Commit() {
  if (impl_.rollups_changed) {
    // Last, so that the row lock on the generation is held only for
    // the commit itself (see migration 0007).
    impl_.Exec("UPDATE rollup_generation SET generation = generation + 1 WHERE id = 1");
  }
  impl_.Exec(savepoint_ ? kRelease : "COMMIT");
  open_ = false;
  if (savepoint_) {
    --impl_.savepoints_open;
  } else {
    impl_.WritersTurn(LOCK_UN);
  }
  impl_.rollups_changed = false;
  // Signatures stored by this transaction are now safe to remember (in a
  // batch, once the batch commits).
  auto& into = savepoint_ ? impl_.batch_signature_ids : impl_.signature_ids;
  into.insert(impl_.pending_signature_ids.begin(), impl_.pending_signature_ids.end());
  impl_.pending_signature_ids.clear();
}

void Store::Impl::WriteTransaction::Rollback() noexcept {
  open_ = false;
  impl_.rollups_changed = false;
  impl_.pending_signature_ids.clear();
  std::string failure;
  try {
    if (savepoint_) {
      --impl_.savepoints_open;
      impl_.Exec(kRollbackTo);
      impl_.Exec(kRelease);
    } else {
      impl_.Exec("ROLLBACK");
    }
  } catch (const Poco::Exception& e) {
    failure = e.displayText();
    impl_.log.debug("event=rollback_skipped detail=\"" + LogValue(failure) + "\"");
  } catch (...) {
    failure = "unknown error";
    impl_.log.error("event=rollback_failed");
  }
  if (!savepoint_) impl_.WritersTurn(LOCK_UN);
  if (!savepoint_ || failure.empty()) return;
  // The operation could not be undone alone, or SQLite undid the whole
  // transaction: the batch goes, so that no part of the operation is
  // committed with it.
  impl_.LoseBatch(failure);
}

void Store::Impl::LoseBatch(const std::string& why) {
  // The transaction goes with everything released into it, if SQLite has
  // not rolled it back already.
  if (SqliteInTransaction(session)) {
    try {
      Exec("ROLLBACK");
    } catch (...) {
    }
  }
  batch_open = false;
  WritersTurn(LOCK_UN);
  batch_signature_ids.clear();
  batch_lost = BatchLost(why);
  log.error("event=batch_lost detail=\"" + LogValue(why) + "\"");
}

Status Store::Impl::CommitBatch() {
  if (batch_lost) {
    Status lost = *batch_lost;
    batch_lost.reset();
    return lost;
  }
  if (!batch_open) return Status::Ok();
  batch_open = false;
  Exec("COMMIT");
  // The writers that queued during the batch go first (writers_fd).
  WritersTurn(LOCK_EX);
  WritersTurn(LOCK_UN);
  signature_ids.insert(batch_signature_ids.begin(), batch_signature_ids.end());
  batch_signature_ids.clear();
  return Status::Ok();
}

Status Store::BeginBatch() {
  Impl& i = *impl_;
  if (i.dialect.backend != Backend::kSqlite || i.batching) return Status::Ok();
  return i.Run("begin_batch", [&]() -> Status {
    // Each operation's savepoint keeps the original of every page it
    // changes in a journal of its own, emptied when the savepoint is
    // released. Kept in a file, that journal was 87% of an import's writes
    // for reports of 2 records (docs/performance.md); in memory it holds
    // one operation's pages.
    // Only for the batch: it would keep the temporary files of large
    // queries in memory too.
    i.Exec("PRAGMA temp_store = MEMORY");
    i.batching = true;
    return Status::Ok();
  });
}

Status Store::CommitBatch() {
  Impl& i = *impl_;
  if (!i.batching) return Status::Ok();
  if (i.savepoints_open > 0) {
    return Status(StatusCode::kFailedPrecondition, "operation_open",
                  "a batch cannot commit while a write operation is open");
  }
  return i.Run("commit_batch", [&]() -> Status {
    try {
      return i.CommitBatch();
    } catch (const Poco::Exception& e) {
      // COMMIT failed: SQLite kept the transaction (busy) or rolled it
      // back. Either way nothing of the batch is stored; said once, here.
      i.LoseBatch(e.displayText());
      return i.CommitBatch();  // reports batch_lost, once
    }
  });
}

Status Store::EndBatch() {
  Impl& i = *impl_;
  if (!i.batching) return Status::Ok();
  Status committed = CommitBatch();
  if (!committed.ok() && i.savepoints_open > 0) return committed;  // the operation goes on
  i.batching = false;
  Status restored = i.Run("end_batch", [&]() -> Status {
    i.Exec("PRAGMA temp_store = DEFAULT");
    return Status::Ok();
  });
  return committed.ok() ? restored : committed;
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  Poco::Logger& log = Poco::Logger::get(kLoggerName);
  if (options.database.empty()) {
    return Status::InvalidInput("invalid_option", "storage database must not be empty");
  }
  if (options.busy_timeout_ms < 0) {
    return Status::InvalidInput("invalid_option", "busy_timeout_ms must not be negative");
  }
  if (options.compression_level < 1 || options.compression_level > 9) {
    return Status::InvalidInput("invalid_option", "compression_level must be 1 to 9");
  }

  Dialect dialect = Dialect::ForDatabase(options.database);
  const Backend backend = dialect.backend;
  const bool is_sqlite = backend == Backend::kSqlite;
  if (is_sqlite && options.database != kMemoryDatabase) {
    const Status ready = PrepareDatabaseFile(options.database);
    if (!ready.ok()) {
      log.error("event=store_failed op=open code=io_error reason=" + ready.reason() + " detail=\"" +
                LogValue(ready.message()) + "\"");
      return ready;
    }
  }

  // Poco's SQLite connector takes the path; its PostgreSQL connector takes
  // key=value pairs, not the URI the configuration holds.
  std::string connection = options.database;
  if (!is_sqlite) {
    std::optional<std::string> pairs = PostgresConnectionString(options.database);
    if (!pairs) {
      return Status::InvalidInput("invalid_option",
                                  "storage database is not a postgresql:// URI this store can "
                                  "use (malformed, or a value holds whitespace)");
    }
    connection = std::move(*pairs);
  }

  return Guard(log, backend, "open", [&]() -> Result<std::unique_ptr<Store>> {
    RegisterConnector(backend);
    const Poco::Data::Session session =
        is_sqlite ? Poco::Data::Session(dialect.connector, connection, kSqliteOpenTimeoutS)
                  : Poco::Data::Session(dialect.connector, connection);
    auto impl = std::make_unique<Impl>(options, std::move(dialect), session);
    DMARC_RETURN_IF_ERROR(impl->Configure());
    Result<int> applied = impl->Migrate();
    if (!applied.ok()) return applied.status();
    if (!is_sqlite) {
      // PostgreSQL's counterpart of SQLite's busy_timeout: a statement
      // waiting longer for another transaction's lock fails, as
      // database_locked (MapException), instead of waiting for ever. Set
      // after the migrations, which wait for one another however long
      // another process's migration takes.
      // (0 there means no limit: 1 ms is the closest to SQLite's 0.)
      impl->Exec("SET lock_timeout = " + std::to_string(std::max(1, options.busy_timeout_ms)));
    }
    // The write statements are built at the first write (Prepared()): on
    // SQLite building them prepares them, which a reader never needs.
    // A PostgreSQL URI may carry a password, so only a file path is logged.
    log.information(
        std::string("event=store_opened backend=") +
        (is_sqlite ? "sqlite database=\"" + LogValue(options.database) + "\"" : "postgresql") +
        " migrations_applied=" + std::to_string(*applied));
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  });
}

Result<std::int64_t> Store::PutInput(const InputRecord& input) {
  Impl& i = *impl_;
  return i.Run("put_input", [&]() -> Result<std::int64_t> {
    Impl::Statements& s = i.Prepared();
    i.input_sha256 = input.sha256;
    if (s.find_input.execute() > 0) return i.found_input_id;

    InputRowData& row = i.input_row;
    row.sha256 = input.sha256;
    row.channel = input.channel;
    row.origin = input.origin;
    row.name = input.name;
    row.message_id = input.message_id ? NullableText(*input.message_id) : NullableText();
    row.received_at = input.received_at;
    row.size = StoredCount(input.size);
    if (input.omitted) {
      row.compression = "omitted";
      row.raw.clear();
    } else {
      std::optional<std::string> packed =
          Compress(input.raw, LevelFor(input.raw, i.options.compression_level));
      if (!packed) return Status::Internal("zlib could not compress the input");
      row.compression = "zlib";
      row.raw =
          Poco::Data::BLOB(reinterpret_cast<const unsigned char*>(packed->data()), packed->size());
    }
    // DO NOTHING, then look again: another writer may have stored the same
    // bytes between the two statements, and then its row is ours too. In a
    // transaction of its own, or in the batch's (Store::BeginBatch).
    Impl::WriteTransaction tx(i);
    s.insert_input.execute();
    // The compressed bytes are not kept between calls: Nullable::clear()
    // would only mark them null and keep the buffer.
    row.raw = Poco::Nullable<Poco::Data::BLOB>();
    if (s.find_input.execute() == 0) {
      return Status::Internal("input " + model::Printable(input.sha256) +
                              " was neither inserted nor found");
    }
    tx.Commit();
    return i.found_input_id;
  });
}

Result<SaveResult> Store::SaveReport(std::int64_t input_id, const model::Report& report,
                                     const std::string& content_digest, model::UnixTime now_time,
                                     const model::ReportAnalysis* analysis) {
  Impl& i = *impl_;
  return i.RunRetrying("save_report", [&]() -> Result<SaveResult> {
    if (analysis != nullptr && analysis->records.size() != report.records.size()) {
      return Status::Internal("the analysis does not match the report's records");
    }
    if (const char* field = FindNulField(report)) return NulInText(field);
    SetReportKey(i, report);

    // Looks the key up; the same content is a duplicate, other content a
    // conflict with the first copy.
    auto lookup = [&]() -> std::optional<SaveResult> {
      FindReportKey(i);
      for (std::size_t k = 0; k < i.found_report_ids.size(); ++k) {
        if (i.found_report_digests[k] == content_digest) {
          return SaveResult{SaveKind::kDuplicate, i.found_report_ids[k], std::nullopt};
        }
      }
      return std::nullopt;
    };

    Impl::WriteTransaction tx(i);
    LockReportKey(i);
    if (std::optional<SaveResult> duplicate = lookup()) return *duplicate;  // tx rolls back
    std::optional<std::int64_t> first_copy;
    if (!i.found_report_ids.empty()) first_copy = i.found_report_ids.front();

    i.report_row = ToReportRow(input_id, report, content_digest, first_copy, now_time);
    const std::optional<std::int64_t> id = i.InsertReport();
    if (!id) {
      // Another writer committed this very content after our lookup.
      tx.Rollback();
      if (std::optional<SaveResult> duplicate = lookup()) return *duplicate;
      return Status::Unavailable("concurrent_write",
                                 "the report was being written by another process; retry");
    }
    DMARC_RETURN_IF_ERROR(i.InsertRecords(*id, report, analysis));
    // A conflicting copy is kept but never counted: the first copy is.
    if (analysis != nullptr && !first_copy) {
      i.AddToRollups(i.key_domain, model::DayNumber(report.report_metadata.date_range.begin),
                     report.report_metadata.org_name, i.record_rows, +1);
    }
    tx.Commit();
    i.ReleaseRecordRows();
    return SaveResult{first_copy ? SaveKind::kConflict : SaveKind::kNew, *id, first_copy};
  });
}

// ---- A report in batches ----------------------------------------------------
//
// The report row goes in first, with the columns only the end knows
// (content_sha256, record and message counts, warnings) empty, and is
// completed by Finish. Rollups are added batch by batch: a rollup row is a
// sum, so the batches add up to what the whole report adds (the first row
// of a path in the report is still the one whose kind and name a new
// rollup_daily row takes). A report whose key is stored already is either
// a duplicate, rolled back at Finish, or a conflicting copy, which is
// never counted: its batches add no rollups either way.

struct ReportWriter::State {
  explicit State(Impl& impl) : i(impl) {}

  // After a failure nothing of the report is written, and every later call
  // returns `failure`.
  void Fail(const Status& status) {
    failure = status;
    tx.reset();
    i.ReleaseRecordRows();
  }

  Impl& i;
  std::optional<Impl::WriteTransaction> tx;  // open from BeginReport to Finish
  Status failure;
  std::int64_t report_row_id = 0;
  std::optional<std::int64_t> first_copy;
  // The stored reports with the same key: the ids and content digests.
  std::vector<std::int64_t> found_ids;
  std::vector<std::string> found_digests;
  std::string domain;  // lower-cased
  std::string reporter;
  std::int64_t day = 0;
  std::size_t records = 0;
  std::uint64_t messages = 0;
  std::optional<bool> analysed;  // known at the first batch
};

ReportWriter::ReportWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

ReportWriter::~ReportWriter() {
  if (state_ && state_->tx) {
    state_->tx.reset();  // rolls back
    state_->i.ReleaseRecordRows();
  }
}

Result<std::unique_ptr<ReportWriter>> Store::BeginReport(std::int64_t input_id,
                                                         const model::Report& header,
                                                         model::UnixTime now_time) {
  Impl& i = *impl_;
  auto state = std::make_unique<ReportWriter::State>(i);
  ReportWriter::State& w = *state;
  const Status begun = i.RunRetrying("save_report", [&]() -> Status {
    w.tx.reset();  // the transaction of an attempt that failed
    model::Report bare = header;
    bare.records.clear();
    bare.warnings.clear();
    if (const char* field = FindNulField(bare)) return NulInText(field);
    SetReportKey(i, bare);
    w.tx.emplace(i);
    LockReportKey(i);
    FindReportKey(i);
    w.found_ids = i.found_report_ids;
    w.found_digests = i.found_report_digests;
    w.first_copy.reset();
    if (!w.found_ids.empty()) w.first_copy = w.found_ids.front();
    i.report_row = ToReportRow(input_id, bare, "", w.first_copy, now_time);
    const std::optional<std::int64_t> id = i.InsertReport();
    if (!id) {
      return Status::Unavailable("concurrent_write",
                                 "the report was being written by another process; retry");
    }
    w.report_row_id = *id;
    w.domain = i.key_domain;
    w.reporter = bare.report_metadata.org_name;
    w.day = model::DayNumber(bare.report_metadata.date_range.begin);
    return Status::Ok();
  });
  if (!begun.ok()) {
    w.tx.reset();
    return begun;
  }
  return std::unique_ptr<ReportWriter>(new ReportWriter(std::move(state)));
}

Status ReportWriter::AddRecords(const std::vector<model::Record>& records,
                                const model::ReportAnalysis* analysis) {
  State& w = *state_;
  if (!w.failure.ok()) return w.failure;
  if (!w.tx) return Status::Internal("the report was finished already");
  if (records.empty()) return Status::Ok();
  Impl& i = w.i;
  const Status added = i.Run("save_report", [&]() -> Status {
    if (analysis != nullptr && analysis->records.size() != records.size()) {
      return Status::Internal("the analysis does not match the report's records");
    }
    if (w.analysed && *w.analysed != (analysis != nullptr)) {
      return Status::Internal("a report's records came with and without analysis");
    }
    if (const char* field = FindNulField(records)) return NulInText(field);
    if (!w.analysed) {
      w.analysed = analysis != nullptr;
      if (analysis != nullptr) RecordFingerprint(i, w.report_row_id, analysis->fingerprint);
    }
    DMARC_RETURN_IF_ERROR(InsertRecordRows(i, w.report_row_id, w.records, records, analysis));
    if (analysis != nullptr && !w.first_copy) {
      i.AddToRollups(w.domain, w.day, w.reporter, i.record_rows, +1);
    }
    w.records += records.size();
    for (const model::Record& r : records) w.messages = model::SaturatingAdd(w.messages, r.count);
    return Status::Ok();
  });
  if (!added.ok()) w.Fail(added);
  return added;
}

Result<SaveResult> ReportWriter::Finish(const std::string& content_digest,
                                        const std::vector<model::ParseWarning>& warnings) {
  State& w = *state_;
  if (!w.failure.ok()) return w.failure;
  if (!w.tx) return Status::Internal("the report was finished already");
  Impl& i = w.i;
  Result<SaveResult> result = i.Run("save_report", [&]() -> Result<SaveResult> {
    for (std::size_t k = 0; k < w.found_ids.size(); ++k) {
      if (w.found_digests[k] == content_digest) {
        w.tx.reset();  // rolls back: the same report is stored
        i.ReleaseRecordRows();
        return SaveResult{SaveKind::kDuplicate, w.found_ids[k], std::nullopt};
      }
    }
    i.session << i.dialect.Sql(
        "UPDATE reports SET content_sha256 = ?, record_count = ?, message_count = ?, "
        "warnings = ?, warning_count = ? WHERE id = ?"),
        bind(content_digest), bind(StoredCount(w.records)), bind(StoredCount(w.messages)),
        bind(EncodeWarnings(warnings)), bind(StoredCount(warnings.size())), bind(w.report_row_id),
        now;
    w.tx->Commit();
    w.tx.reset();
    i.ReleaseRecordRows();
    return SaveResult{w.first_copy ? SaveKind::kConflict : SaveKind::kNew, w.report_row_id,
                      w.first_copy};
  });
  if (!result.ok()) w.Fail(result.status());
  return result;
}

Status Store::SaveReject(std::optional<std::int64_t> input_id, const RejectRecord& reject,
                         model::UnixTime now_time) {
  Impl& i = *impl_;
  return i.Run("save_reject", [&]() -> Status {
    Impl::Statements& s = i.Prepared();
    RejectRowData& row = i.reject_row;
    row.input_id = input_id ? NullableInt(*input_id) : NullableInt();
    row.payload_chain = reject.payload_chain;
    row.payload_name = reject.payload_name;
    row.code = reject.code;
    row.reason = reject.reason;
    row.message = reject.message;
    row.first_seen = now_time;
    row.last_seen = now_time;
    row.seen_count = 1;
    Impl::WriteTransaction tx(i);  // or a savepoint of the batch's
    s.upsert_reject.execute();
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::vector<ReportRow>> Store::ListReports(const ReportFilter& filter) {
  Impl& i = *impl_;
  return i.Run("list_reports", [&]() -> Result<std::vector<ReportRow>> {
    std::vector<ReportListRowData> rows;
    Poco::Data::Statement st(i.session);
    std::string sql = "SELECT " + ColumnList<ReportListRowData>() + " FROM reports";
    std::string where;
    auto add = [&where](const char* condition) {
      where += where.empty() ? " WHERE " : " AND ";
      where += condition;
    };
    if (filter.domain) add("domain = ?");
    if (filter.since) add("end_at >= ?");
    if (filter.until) add("begin_at < ?");
    sql += where + " ORDER BY begin_at DESC, id DESC LIMIT ? OFFSET ?";
    st << i.dialect.Sql(sql), into(rows);
    if (filter.domain) st.addBind(bind(model::AsciiLower(*filter.domain)));
    if (filter.since) st.addBind(bind(std::int64_t{*filter.since}));
    if (filter.until) st.addBind(bind(std::int64_t{*filter.until}));
    st.addBind(bind(std::int64_t{filter.limit}));
    st.addBind(bind(std::int64_t{filter.offset}));
    st.execute();

    std::vector<ReportRow> out;
    out.reserve(rows.size());
    for (const ReportListRowData& r : rows) out.push_back(ToReportRow(r));
    return out;
  });
}

Result<ReportRow> Store::GetReportRow(std::int64_t report_row_id) {
  Impl& i = *impl_;
  return i.Run("get_report_row", [&]() -> Result<ReportRow> {
    ReportListRowData row;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("SELECT " + ColumnList<ReportListRowData>() + " FROM reports WHERE id = ?"),
        into(row), bind(report_row_id);
    if (st.execute() == 0) return Status::NotFound("no report " + std::to_string(report_row_id));
    return ToReportRow(row);
  });
}

Result<std::vector<RejectRow>> Store::ListRejects(std::uint32_t limit, std::uint32_t offset) {
  Impl& i = *impl_;
  return i.Run("list_rejects", [&]() -> Result<std::vector<RejectRow>> {
    std::vector<RejectListRowData> rows;
    i.session << i.dialect.Sql("SELECT " + ColumnList<RejectListRowData>() +
                               " FROM rejects r LEFT JOIN inputs i ON i.id = r.input_id"
                               " ORDER BY r.last_seen DESC, r.id DESC LIMIT ? OFFSET ?"),
        into(rows), bind(std::int64_t{limit}), bind(std::int64_t{offset}), now;
    std::vector<RejectRow> out;
    out.reserve(rows.size());
    for (const RejectListRowData& r : rows) {
      RejectRow row;
      row.id = r.id;
      if (!r.input_id.isNull()) row.input_id = r.input_id.value();
      row.origin = r.origin;
      row.payload_chain = r.payload_chain;
      row.payload_name = r.payload_name;
      row.code = r.code;
      row.reason = r.reason;
      row.message = r.message;
      row.first_seen = r.first_seen;
      row.seen_count = r.seen_count < 0 ? 0 : static_cast<std::uint64_t>(r.seen_count);
      out.push_back(std::move(row));
    }
    return out;
  });
}

Result<Totals> Store::GetTotals() {
  Impl& i = *impl_;
  return i.Run("get_totals", [&]() -> Result<Totals> {
    // Each stored message_count is at most INT64_MAX, so their plain SUM
    // can overflow (an error in SQLite). Summing the high and low 32 bits
    // separately cannot, and the two halves are joined, saturating, below.
    std::int64_t inputs = 0, reports = 0, conflicts = 0, records = 0, high = 0, low = 0,
                 rejects = 0;
    i.session << "SELECT (SELECT COUNT(*) FROM inputs),"
                 " (SELECT COUNT(*) FROM reports),"
                 " (SELECT COUNT(*) FROM reports WHERE duplicate_of IS NOT NULL),"
                 " (SELECT CAST(COALESCE(SUM(record_count), 0) AS BIGINT) FROM reports),"
                 " (SELECT CAST(COALESCE(SUM(message_count / 4294967296), 0) AS BIGINT)"
                 "  FROM reports WHERE duplicate_of IS NULL),"
                 " (SELECT CAST(COALESCE(SUM(message_count % 4294967296), 0) AS BIGINT)"
                 "  FROM reports WHERE duplicate_of IS NULL),"
                 " (SELECT COUNT(*) FROM rejects)",
        into(inputs), into(reports), into(conflicts), into(records), into(high), into(low),
        into(rejects), now;
    const auto u = [](std::int64_t v) {
      return v < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(v);
    };
    Totals t;
    t.inputs = u(inputs);
    t.reports = u(reports);
    t.conflicts = u(conflicts);
    t.records = u(records);
    t.messages = u(high) >= (std::uint64_t{1} << 32) ? std::numeric_limits<std::uint64_t>::max()
                                                     : model::SaturatingAdd(u(high) << 32, u(low));
    t.rejects = u(rejects);
    return t;
  });
}

Result<std::string> Store::GetInputBytes(std::int64_t input_id) {
  Impl& i = *impl_;
  return i.Run("get_input_bytes", [&]() -> Result<std::string> {
    std::string compression;
    Poco::Nullable<Poco::Data::BLOB> raw;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("SELECT compression, raw FROM inputs WHERE id = ?"), into(compression),
        into(raw), bind(input_id);
    if (st.execute() == 0) return Status::NotFound("no input " + std::to_string(input_id));
    if (compression == "omitted" || raw.isNull()) {
      return Status::NotFound("input " + std::to_string(input_id) +
                              " was too large to keep; only its digest is stored");
    }
    const Poco::Data::BLOB& blob = raw.value();
    const std::string_view stream(reinterpret_cast<const char*>(blob.rawContent()), blob.size());
    std::optional<std::string> bytes = Decompress(stream);
    if (!bytes) {
      return Status(
          StatusCode::kInternal, "corrupt_row",
          "the stored bytes of input " + std::to_string(input_id) + " are not a valid zlib stream");
    }
    return std::move(*bytes);
  });
}

Result<model::Report> Store::GetReport(std::int64_t report_row_id) {
  Impl& i = *impl_;
  return i.Run("get_report", [&]() -> Result<model::Report> {
    ReportRowData row;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("SELECT " + ColumnList<ReportRowData>() + " FROM reports WHERE id = ?"),
        into(row), bind(report_row_id);
    if (st.execute() == 0) return Status::NotFound("no report " + std::to_string(report_row_id));
    Result<std::vector<RecordRowData>> records = i.LoadRecordRows(report_row_id);
    if (!records.ok()) return std::move(records).status();
    return FromRows(row, *records);
  });
}

Result<std::vector<std::pair<int, std::string>>> Store::AppliedMigrations() {
  Impl& i = *impl_;
  return i.Run("applied_migrations", [&]() -> Result<std::vector<std::pair<int, std::string>>> {
    std::vector<std::int64_t> versions;
    std::vector<std::string> names;
    i.session << "SELECT version, name FROM schema_migrations ORDER BY version", into(versions),
        into(names), now;
    std::vector<std::pair<int, std::string>> out;
    out.reserve(versions.size());
    for (std::size_t k = 0; k < versions.size(); ++k) {
      out.emplace_back(static_cast<int>(versions[k]), names[k]);
    }
    return out;
  });
}

}  // namespace dmarcwatch::store
