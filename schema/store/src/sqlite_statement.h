#pragma once
// SqliteStatement: one SQL statement prepared once on a SQLite connection
// and run as often as needed, binding values in place.
//
// Poco 1.11's SQLite connector prepares a statement again on every
// execute() and copies every value it binds. An import runs the same few
// statements for every input and report (find and keep the input, find
// the report's key, insert the report and its record blocks, upsert the
// rollups, begin and commit), and for reports of a few records that
// preparing was a quarter of the import's time (docs/performance.md). On
// SQLite the store's write path runs through this class instead; on
// PostgreSQL the same SQL runs through Poco. It is a way of executing, not
// a dialect.
//
// A failure throws what Poco's connector throws for the same result code
// (Poco::Data::SQLite::Utility::throwException), so Store's one exception
// mapping and its retries see no difference. The statement is reset after
// every run, failed or not, so it never holds a transaction open.

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/Nullable.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace dmarcwatch::store {

class SqliteStatement {
 public:
  // Prepares `sql` on the connection of `session`, a SQLite session that
  // outlives this statement. Throws as Poco does when `sql` is refused.
  SqliteStatement(const Poco::Data::Session& session, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binds `values` to the parameters from the first on, in order; a tuple
  // (a row's Fields(), rows.h) counts as its members. Strings and blobs
  // are not copied: they must live until the next Execute() returns.
  template <typename... Values>
  SqliteStatement& Bind(const Values&... values) {
    int column = 0;
    (BindValue(column, values), ...);
    return *this;
  }

  // Runs the bound statement to its end, calling on_row() for each row it
  // returns (read with Int and Text). Returns the number of rows.
  template <typename OnRow>
  std::size_t Query(OnRow&& on_row) {
    Running running(*this);
    std::size_t rows = 0;
    while (StepRow()) {
      on_row();
      ++rows;
    }
    return rows;
  }
  // Runs the bound statement to its end and returns the rows it inserted,
  // updated or deleted (sqlite3_changes; 0 for an insert that ON CONFLICT
  // DO NOTHING skipped).
  std::size_t Execute() {
    Query([] {});
    return Changes();
  }

  // Runs the statement once per row, binding each row's Fields(); stops at
  // the first failure (the open transaction decides what stays).
  template <typename Row>
  void ExecuteEach(const std::vector<Row>& rows) {
    for (const Row& row : rows) {
      Bind(Row::Fields(row));
      Execute();
    }
  }

  // Column `column` (from 0) of the row on_row() was called for.
  std::int64_t Int(int column) const;
  std::string Text(int column) const;

 private:
  // Resets the statement when a run ends, however it ends.
  class Running {
   public:
    explicit Running(SqliteStatement& s) : s_(s) {}
    ~Running() { s_.Reset(); }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    SqliteStatement& s_;
  };

  void BindValue(int& column, const std::string& text);
  void BindValue(int& column, std::int64_t value);
  void BindValue(int& column, const Poco::Data::BLOB& blob);
  template <typename T>
  void BindValue(int& column, const Poco::Nullable<T>& value) {
    if (value.isNull()) {
      BindNull(column);
    } else {
      BindValue(column, value.value());
    }
  }
  template <typename... T>
  void BindValue(int& column, const std::tuple<T...>& values) {
    std::apply([&](const auto&... v) { (BindValue(column, v), ...); }, values);
  }
  void BindNull(int& column);
  // True with a row to read; false at the end. Throws on failure.
  bool StepRow();
  std::size_t Changes() const;
  void Reset();
  void Check(int rc) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Whether the connection of `session` (SQLite) is inside a transaction:
// false once SQLite has rolled one back by itself.
bool SqliteInTransaction(const Poco::Data::Session& session);

}  // namespace dmarcwatch::store
