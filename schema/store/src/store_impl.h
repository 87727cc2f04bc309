#pragma once
// The store's private parts shared by its source files: the Impl behind
// Store, its single exception-to-Status mapping, and the prepared
// statements of the write path. Not part of the module's interface.

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dialect.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/store/store.h"
#include "rows.h"
#include "sqlite_statement.h"

namespace dmarcwatch::store {

// SQLite's database of one connection, gone when it closes.
inline constexpr const char* kMemoryDatabase = ":memory:";

using Poco::Data::Keywords::bind;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

inline constexpr const char* kLoggerName = "dmarc.store";
inline constexpr std::size_t kKeptRecordRows = 4096;

// A value from outside (a path, a driver message) made safe for one quoted
// log field.
inline std::string LogValue(std::string_view s) {
  std::string out = model::Printable(s);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

template <typename T>
inline bool Is(const Poco::Exception& e) {
  return dynamic_cast<const T*>(&e) != nullptr;
}

// A key for the database's advisory locks (Dialect::try_advisory_lock and
// transaction_lock): FNV-1a over `text`, 64 bits, the same in every process,
// build and machine (std::hash is not required to be).
inline std::int64_t AdvisoryLockKey(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

// Thrown by a write operation in a batch that SQLite rolled back
// (WriteTransaction); MapException makes it reason batch_lost.
POCO_DECLARE_EXCEPTION(, BatchLostException, Poco::IllegalStateException)

// The single mapping from Poco exceptions to our codes (STYLE.md, Errors).
Status MapException(const Poco::Exception& e, Backend backend);

// Runs one public operation: its single catch site. A Poco exception
// becomes a Status and is logged once; on_exception then cleans up after
// the failure.
template <typename Fn, typename OnException>
auto Guard(Poco::Logger& log, Backend backend, const char* op, Fn&& fn, OnException&& on_exception)
    -> decltype(fn()) {
  Status failure;
  try {
    return fn();
  } catch (const Poco::Exception& e) {
    failure = MapException(e, backend);
  } catch (const std::exception& e) {
    failure = Status::Internal(model::Printable(e.what()));
  }
  on_exception();
  log.error(std::string("event=store_failed op=") + op +
            " code=" + std::string(StatusCodeName(failure.code())) + " reason=" + failure.reason() +
            " detail=\"" + LogValue(failure.message()) + "\"");
  return failure;
}

template <typename Fn>
auto Guard(Poco::Logger& log, Backend backend, const char* op, Fn&& fn) -> decltype(fn()) {
  return Guard(log, backend, op, std::forward<Fn>(fn), [] {});
}

struct Store::Impl {
  // One statement of the write path. On PostgreSQL a Poco::Data::Statement
  // with use() and into() bindings. On SQLite the same SQL prepared once
  // (SqliteStatement): `bind` binds the same variables before each run and
  // `read` reads each returned row into the same variables. execute()
  // returns what Poco's does: the rows read when there is something to
  // read into, else the rows changed.
  class WriteStatement {
   public:
    using BindFn = std::function<void(SqliteStatement&)>;
    using ReadFn = std::function<void(const SqliteStatement&)>;

    explicit WriteStatement(Poco::Data::Session& session) : poco_(session) {}
    // The Poco statement, for the caller to give its SQL and bindings.
    Poco::Data::Statement& poco() { return poco_; }
    void PrepareOnce(const Poco::Data::Session& session, const std::string& sql, BindFn bind,
                     ReadFn read = nullptr) {
      sqlite_ = std::make_unique<SqliteStatement>(session, sql);
      bind_ = std::move(bind);
      read_ = std::move(read);
    }
    std::size_t execute() {
      if (!sqlite_) return poco_.execute();
      if (bind_) bind_(*sqlite_);
      if (!read_) return sqlite_->Execute();
      return sqlite_->Query([this] { read_(*sqlite_); });
    }

   private:
    Poco::Data::Statement poco_;
    std::unique_ptr<SqliteStatement> sqlite_;
    BindFn bind_;
    ReadFn read_;
  };

  // The statements every save re-executes. Built at a Store's first write
  // (and again after a failure, see Run). Each holds references to the bound
  // variables below, so an Impl never moves.
  //
  // Poco 1.11's SQLite connector prepares a Statement's SQL again on every
  // execute() (a finished statement is reset, which finalizes the
  // sqlite3_stmt, and compiled anew), so on PostgreSQL "prepared once"
  // saves building the Statement only, and rollup contributions are bound
  // as vectors: one execute() prepares once and binds and steps once per
  // row. On SQLite every statement here is prepared once (WriteStatement).
  struct Statements {
    explicit Statements(Poco::Data::Session& session)
        : find_input(session),
          insert_input(session),
          find_report_key(session),
          insert_report(session),
          last_insert_id(session),
          insert_record_block(session),
          record_fingerprint(session),
          upsert_reject(session),
          find_signature(session),
          insert_signature(session) {}
    WriteStatement find_input;
    WriteStatement insert_input;
    WriteStatement find_report_key;
    WriteStatement insert_report;
    WriteStatement last_insert_id;
    WriteStatement insert_record_block;
    WriteStatement record_fingerprint;
    WriteStatement upsert_reject;
    // Analysis: signatures are looked up one at a time (most come from the
    // cache); rollup contributions are upserted as vectors (PostgreSQL) or
    // row by row with one prepared statement (SQLite).
    WriteStatement find_signature;
    WriteStatement insert_signature;
    std::optional<Poco::Data::Statement> upsert_daily;
    std::optional<Poco::Data::Statement> upsert_sources;
    std::optional<SqliteStatement> sqlite_upsert_daily;
    std::optional<SqliteStatement> sqlite_upsert_sources;
  };

  Impl(const StoreOptions& opts, Dialect d, const Poco::Data::Session& s)
      : options(opts), dialect(std::move(d)), session(s), log(Poco::Logger::get(kLoggerName)) {}

  Statements& Prepared() {
    if (!statements) Build();
    return *statements;
  }

  void Build();
  Status Configure();
  Result<int> Migrate();  // the number of migrations applied
  std::optional<std::int64_t> InsertReport();
  // Fills record_rows from the report (and its analysis) and inserts them.
  Status InsertRecords(std::int64_t report_row_id, const model::Report& report,
                       const model::ReportAnalysis* analysis);
  void ReleaseRecordRows();
  // Writes rows (all of one report, numbered from their row_index) as
  // record blocks of up to kRecordBlockRows. REQUIRES: an open write
  // transaction; rows not empty.
  Status InsertRecordBlocks(const std::vector<RecordRowData>& rows);
  // The records of a report in row order: its record blocks, or the rows
  // of the records table for a report saved before migration 0008.
  Result<std::vector<RecordRowData>> LoadRecordRows(std::int64_t report_row_id);
  // Sets signature_id on analysed rows, storing signatures not seen before.
  // REQUIRES: an open write transaction.
  void AssignSignatures(std::vector<RecordRowData>& rows);
  // Adds (sign +1) or removes (sign -1) the rows' contributions to the
  // rollups of one report. Rows not analysed are skipped.
  // REQUIRES: an open write transaction; signature ids assigned.
  void AddToRollups(const std::string& domain, std::int64_t day, const std::string& reporter,
                    const std::vector<RecordRowData>& rows, int sign);

  // The period queries, computed from the rollups (store_analysis.cpp).
  std::vector<model::PathTotals> PathTotals(const RollupFilter& filter);
  std::vector<model::SourceCounts> Sources(const RollupFilter& filter);

  // Period answers (migration 0007, period_answers.h). The generation of
  // the rollups as committed now.
  std::optional<std::int64_t> RollupGeneration();
  // The rollups' generation and the body kept for `key` at that generation
  // (empty when none), read at once; nullopt when the store has no
  // generation row.
  struct KeptAnswer {
    std::int64_t generation = 0;
    Poco::Data::BLOB body;
  };
  std::optional<KeptAnswer> FindAnswer(const std::string& key);
  // Keeps `body` for `key` at `generation` and drops answers of other
  // generations. Best effort: a store that cannot be written (read-only,
  // busy) only costs the next reader the query.
  void KeepAnswer(const std::string& key, std::int64_t generation, const std::string& body);
  // The answer of `key`: kept, or computed by `compute` and kept.
  template <typename T, typename Compute, typename Encode, typename Decode>
  T Answer(const std::string& key, Compute&& compute, Encode&& encode, Decode&& decode) {
    std::optional<std::int64_t> generation;
    if (options.keep_answers) {
      if (std::optional<KeptAnswer> kept = FindAnswer(key)) {
        generation = kept->generation;
        const std::string_view body(reinterpret_cast<const char*>(kept->body.rawContent()),
                                    kept->body.size());
        if (!body.empty()) {
          if (std::optional<T> answer = decode(body)) return std::move(*answer);
        }
      }
    }
    T answer = compute();
    if (generation) KeepAnswer(key, *generation, encode(answer));
    return answer;
  }

  // Runs one public operation (see Guard). After an exception the prebuilt
  // statements are dropped and rebuilt on next use, because a Statement
  // that threw mid-execute stays "still executing" and refuses every later
  // execute().
  //
  // On PostgreSQL the dropped statements are leaked, never destroyed: Poco
  // 1.11's PostgreSQL connector frees a statement's result a second time
  // when a statement fails after an earlier execute() of it succeeded (a
  // prepared statement reused, or a vector binding failing past its first
  // row), and it does so in the statement's destructor. A failed operation
  // thus costs a few kilobytes until the process exits; ~Impl closes the
  // connection itself, which the leaked statements would keep open.
  template <typename Fn>
  auto Run(const char* op, Fn&& fn) -> decltype(fn()) {
    return Guard(log, dialect.backend, op, std::forward<Fn>(fn), [this] {
      if (dialect.backend == Backend::kPostgres) {
        (void)statements.release();  // see above
      } else {
        statements.reset();
      }
      pending_signature_ids.clear();
    });
  }

  // Run, again when PostgreSQL chose this transaction as the victim of a
  // deadlock or serialization failure (reason "database_conflict"): the
  // transaction was rolled back whole, so running it again is safe.
  // Concurrent saves deadlock when they insert the same new signatures
  // (or rollup keys) in different orders. Runs as often as
  // RetryAfterConflict allows, which pauses between runs; the last failure
  // is returned.
  template <typename Fn>
  auto RunRetrying(const char* op, Fn&& fn) -> decltype(fn()) {
    for (int attempt = 1;; ++attempt) {
      auto result = Run(op, fn);
      if (result.ok() || !RetryAfterConflict(ErrorOf(result), attempt)) return result;
      log.information(std::string("event=store_retry op=") + op +
                      " attempt=" + std::to_string(attempt + 1) + " reason=database_conflict");
    }
  }
  static const Status& ErrorOf(const Status& s) { return s; }
  template <typename T>
  static const Status& ErrorOf(const Result<T>& r) {
    return r.status();
  }

  ~Impl() {
    if (writers_fd >= 0) ::close(writers_fd);
    if (dialect.backend != Backend::kPostgres) return;
    statements.reset();
    try {
      session.close();  // statements leaked by Run hold the session open
    } catch (...) {
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Executes `sql` (with `?` placeholders) once.
  void Exec(std::string_view sql) {
    if (dialect.backend == Backend::kSqlite) {
      ExecPrepared(sql);
    } else {
      session << dialect.Sql(sql), now;
    }
  }
  // SQLite: Exec's statements, prepared once each. Exec is given only SQL
  // written here (BEGIN, COMMIT, the generation, pragmas), so the map
  // holds a few dozen at most.
  void ExecPrepared(std::string_view sql) {
    auto found = exec_statements.find(sql);
    if (found == exec_statements.end()) {
      found = exec_statements
                  .emplace(std::string(sql),
                           std::make_unique<SqliteStatement>(session, dialect.Sql(sql)))
                  .first;
    }
    found->second->Execute();
  }

  // A write transaction: begun at construction, rolled back at destruction
  // unless committed. On SQLite this is BEGIN IMMEDIATE, so the wait for
  // another writer happens here, before anything is read or written.
  //
  // In a batch (Store::BeginBatch, SQLite only) it is a savepoint of the
  // batch's transaction instead, which it begins when none is open:
  // Commit() releases the savepoint, Rollback() undoes it alone. When
  // SQLite has rolled the batch's transaction back by itself (an I/O
  // error, a full disk), the batch is lost (batch_lost), and constructing
  // a write transaction throws until CommitBatch reports it.
  class WriteTransaction {
   public:
    explicit WriteTransaction(Impl& impl);
    ~WriteTransaction() {
      if (open_) Rollback();
    }
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void Commit();
    // Never throws: SQLite may already have rolled back by itself after an
    // I/O error, and then ROLLBACK fails with "no transaction is active".
    void Rollback() noexcept;

   private:
    Impl& impl_;
    bool open_ = true;
    bool savepoint_ = false;
  };

  // Group commit (Store::BeginBatch), SQLite only. `batching` from
  // BeginBatch to EndBatch; `batch_open` while the batch's transaction is
  // begun; `savepoints_open` counts the operations under way in it;
  // `batch_lost` is set when the transaction was lost (SQLite rolled it
  // back, or an operation could not be undone alone), with the reason,
  // until CommitBatch returns it.
  bool batching = false;
  bool batch_open = false;
  int savepoints_open = 0;
  std::optional<Status> batch_lost;
  // Commits the batch's transaction, if open; returns batch_lost once.
  Status CommitBatch();
  // Marks the batch lost (`why`) and rolls its transaction back, unless
  // SQLite already has.
  void LoseBatch(const std::string& why);

  // Writers take turns with a batch (SQLite files). A batch holds the
  // database's write lock for up to a second at a time and takes it again
  // at once; a writer waiting in SQLite's busy handler, which retries every
  // 100 ms at most, would seldom find it free. So every write transaction
  // holds a shared flock() of database + "-writers.lock" from before its
  // BEGIN to its end, and a batch, after each commit, takes that lock
  // exclusively once: it waits until the writers that queued meanwhile have
  // had their turn. -1: no such file (":memory:", PostgreSQL, or it cannot
  // be opened: then nobody waits for turns); -2: not opened yet.
  int writers_fd = -2;
  // flock(writers file, op), when there is one. Blocks for LOCK_SH and
  // LOCK_EX; fails only by its errno, which is ignored (turns are a
  // courtesy, not a guard).
  void WritersTurn(int op);
  // A write transaction's BEGIN, with the writers' turn (shared) held from
  // before it; released when the BEGIN fails.
  void BeginWrite();

  // A mailbox's poll lock on SQLite (mailboxes.h): an flock()ed file
  // beside the database, granted `count` times; held while in
  // mailbox_locks.
  struct MailboxFileLock {
    int fd = -1;
    int count = 0;
    MailboxFileLock() = default;
    MailboxFileLock(const MailboxFileLock&) = delete;
    MailboxFileLock& operator=(const MailboxFileLock&) = delete;
    ~MailboxFileLock();
  };

  StoreOptions options;
  Dialect dialect;
  Poco::Data::Session session;
  Poco::Logger& log;
  std::map<std::string, MailboxFileLock> mailbox_locks;

  // Variables the statements are bound to.
  std::string input_sha256;
  std::int64_t found_input_id = 0;
  InputRowData input_row;
  std::string key_org_name;
  std::string key_report_id;
  std::string key_domain;
  std::int64_t key_begin = 0;
  std::int64_t key_end = 0;
  std::vector<std::int64_t> found_report_ids;
  std::vector<std::string> found_report_digests;
  ReportRowData report_row;
  std::int64_t new_report_id = 0;
  std::string fingerprint;
  std::int64_t fingerprint_report_id = 0;
  std::vector<RecordRowData> record_rows;
  RecordBlockRowData record_block_row;
  RejectRowData reject_row;
  SignatureRowData signature_row;
  std::int64_t found_signature_id = 0;
  std::vector<RollupDailyRowData> daily_rows;
  std::vector<RollupSourceRowData> source_rows;

  // SignatureText -> signatures.id, for signatures committed to the
  // database, and for those inserted by the open transaction (forgotten if
  // it rolls back). Bounded: cleared when it grows past kMaxCachedSignatures.
  std::unordered_map<std::string, std::int64_t> signature_ids;
  std::unordered_map<std::string, std::int64_t> pending_signature_ids;
  // In a batch: those of savepoints released, until the batch commits.
  std::unordered_map<std::string, std::int64_t> batch_signature_ids;
  static constexpr std::size_t kMaxCachedSignatures = 200000;

  std::unique_ptr<Statements> statements;
  std::map<std::string, std::unique_ptr<SqliteStatement>, std::less<>> exec_statements;
  // Set by AddToRollups; the open transaction raises the generation at
  // commit (WriteTransaction::Commit).
  bool rollups_changed = false;
};


namespace internal {
// The store's feature files (store_<feature>.cpp, each with its own public
// header under dmarcwatch/store/) reach the Impl through this, so a feature
// adds its own header and source without touching Store's declaration.
struct Access {
  using Impl = Store::Impl;
  static Impl& Of(Store& store) { return *store.impl_; }
};
}  // namespace internal

}  // namespace dmarcwatch::store
