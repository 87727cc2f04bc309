#pragma once
// SqliteRowStatement: one SQL statement prepared once on a SQLite
// connection and run for each row of a vector, binding the row's Fields()
// (rows.h) in column order.
//
// Poco 1.11's SQLite connector prepares a statement again on every
// execute() and copies every value it binds. The rollup upserts run for
// every saved report with a row per source, and that preparing and binding
// was a fifth of their time (docs/performance.md). On PostgreSQL the same
// SQL runs through Poco; this is a way of executing, not a dialect.
//
// A failure throws what Poco's connector throws for the same result code
// (Poco::Data::SQLite::Utility::throwException), so Store's one exception
// mapping and its retries see no difference.

#include <Poco/Data/Session.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace dmarcwatch::store {

class SqliteRowStatement {
 public:
  // Prepares `sql` on the connection of `session`, a SQLite session that
  // outlives this statement. Throws as Poco does when `sql` is refused.
  SqliteRowStatement(const Poco::Data::Session& session, const std::string& sql);
  ~SqliteRowStatement();
  SqliteRowStatement(const SqliteRowStatement&) = delete;
  SqliteRowStatement& operator=(const SqliteRowStatement&) = delete;

  // Runs the statement once per row, in order; stops at the first failure
  // (the open transaction decides what stays).
  template <typename Row>
  void ExecuteEach(const std::vector<Row>& rows) {
    for (const Row& row : rows) {
      int column = 0;
      std::apply([&](const auto&... field) { (Bind(++column, field), ...); }, Row::Fields(row));
      Step();
    }
  }

 private:
  // The text stays the caller's: it is read by the Step() that follows.
  void Bind(int column, const std::string& text);
  void Bind(int column, std::int64_t value);
  // Runs the bound statement to its end and resets it for the next row.
  void Step();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace dmarcwatch::store
