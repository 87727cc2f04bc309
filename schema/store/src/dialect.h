#pragma once
// Dialect: every difference between the SQL backends the store supports
// (SQLite, PostgreSQL), in one place. Nothing else in the store names a
// backend: statements are written once, in SQLite's spelling with `?`
// placeholders, and passed through Sql(); migrations use {{TOKENS}} that
// ExpandMigration() replaces.
//
// What differs, and why:
//   - id columns: SQLite's rowid alias must be spelt exactly
//     "INTEGER PRIMARY KEY"; PostgreSQL uses a BIGINT identity column.
//   - binary columns: BLOB vs BYTEA.
//   - a table kept in its primary key's order: SQLite's WITHOUT ROWID.
//   - placeholders: Poco's SQLite connector takes `?`; its PostgreSQL
//     connector counts and binds `$1, $2, ...` only.
//   - the new row's id: PostgreSQL has "INSERT ... RETURNING id"; for
//     SQLite the store asks last_insert_rowid() on the same connection.
//   - write transactions: SQLite needs BEGIN IMMEDIATE so that a writer
//     takes the lock (and waits busy_timeout for it) before it reads; a
//     deferred transaction that reads and then writes fails at once with
//     SQLITE_BUSY when another writer committed in between (WAL snapshot).
//   - upserts: both spell "ON CONFLICT (target) DO UPDATE SET ..." with
//     `excluded`; kept here so that a third backend changes one function.
//   - coordination between processes: PostgreSQL has advisory locks
//     (a mailbox polled by one process at a time, one writer per report
//     key); SQLite's single writer lock already serialises all of it, so
//     its statements are empty and the callers skip them.
//   - a failed statement: PostgreSQL aborts the whole transaction (every
//     later statement fails until ROLLBACK), SQLite fails the statement
//     only. The store never continues a transaction after a failure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmarcwatch::store {

enum class Backend { kSqlite, kPostgres };

struct Dialect {
  Backend backend = Backend::kSqlite;
  // Poco::Data connector key ("SQLite", "PostgreSQL").
  std::string connector;
  // {{ID}}: the type and constraint of an auto-increment primary key.
  std::string id_column;
  // {{BLOB}}: the type of a binary column.
  std::string blob_type;
  // {{WITHOUT_ROWID}}: after a table with a primary key, stores the table
  // in that key's order (SQLite); nothing on PostgreSQL, whose tables are
  // heaps with the key as an index either way.
  std::string without_rowid;
  // Starts a transaction that will write.
  std::string begin_write;
  // True when "INSERT ... RETURNING id" yields the new id; otherwise
  // last_insert_id_query does, right after the insert.
  bool insert_returning = false;
  std::string last_insert_id_query;
  bool numbered_placeholders = false;
  // One `?`: a BIGINT key. Yields 1 when this connection now holds the
  // session-level lock, 0 when another connection does. Empty: no such
  // lock in the database (SQLite: mailbox locks are files, mailboxes.h).
  std::string try_advisory_lock;
  // One `?`: the key. Yields 1 when a lock held by this connection was
  // released, 0 otherwise. Empty with try_advisory_lock.
  std::string advisory_unlock;
  // One `?`: the key. Waits for the session-level lock. Empty with
  // try_advisory_lock.
  std::string advisory_lock;
  // One `?`: a BIGINT key. Waits for a lock held until the end of the
  // current transaction. Empty: not needed (SQLite's BEGIN IMMEDIATE
  // already holds the database's only write lock).
  std::string transaction_lock;
  // After a SELECT in a write transaction: locks the rows it read until the
  // transaction ends, so that two writers of one row take turns. Empty on
  // SQLite, whose BEGIN IMMEDIATE already lets one writer in at a time.
  std::string lock_rows;

  static Dialect Sqlite();
  static Dialect Postgres();
  // Chooses by the database option: "postgresql://" (or "postgres://")
  // selects PostgreSQL, anything else is a SQLite file or ":memory:".
  static Dialect ForDatabase(std::string_view database);

  // `sql` with each `?` outside quotes and comments turned into the
  // backend's placeholder.
  std::string Sql(std::string_view sql) const;
  // A migration with {{ID}}, {{BLOB}} and {{WITHOUT_ROWID}} expanded. An
  // unknown {{TOKEN}} is left as written, so the database reports it as a
  // syntax error.
  std::string ExpandMigration(std::string_view text) const;
  // " ON CONFLICT (target) DO UPDATE SET assignments"; assignments may use
  // excluded.<column> for the value that was not inserted.
  std::string OnConflictUpdate(std::string_view target, std::string_view assignments) const;
  // " ON CONFLICT DO NOTHING": the insert is skipped when any unique key
  // already holds the row.
  std::string OnConflictDoNothing() const;
  // The suffix that makes an INSERT yield the new id, or "".
  std::string ReturningId() const;
  // a + b for BIGINT operands, saturating at the type's bounds. PostgreSQL
  // fails the statement on overflow ("bigint out of range"), so the sum is
  // taken as NUMERIC and clamped, and an `a` already at INT64_MAX (which
  // means "at least this", schema/sql/0001) stays there even when b is
  // negative: what was lost to saturation cannot be subtracted. SQLite turns an overflowing integer sum
  // into a REAL, which every reader of such a column saturates (SumBigint,
  // and CASTs to INTEGER), so it keeps the plain sum.
  std::string AddBigint(std::string_view a, std::string_view b) const;
  // SUM(expr) over BIGINT columns as a BIGINT that saturates instead of
  // failing: SQLite's SUM raises an error on overflow (TOTAL does not, and
  // a REAL cast to INTEGER saturates); PostgreSQL sums BIGINT as NUMERIC.
  std::string SumBigint(std::string_view expr) const;
};

// The connection string Poco's PostgreSQL connector takes for a
// "postgresql://[user[:password]@][host][:port][/dbname][?key=value&...]"
// URI: "host=... port=... user=... password=... dbname=... key=value".
// Poco 1.11 does not accept a URI itself: it splits its connection string
// at spaces into key=value pairs, with no quoting. Nothing for a URI that
// is malformed or holds a value with whitespace, which that form cannot
// carry.
std::optional<std::string> PostgresConnectionString(std::string_view uri);

// Splits a migration into statements at `;` outside quotes and comments.
// Statements that are only whitespace and comments are dropped. Needed
// because PostgreSQL prepares one statement at a time.
std::vector<std::string> SplitStatements(std::string_view script);

}  // namespace dmarcwatch::store
