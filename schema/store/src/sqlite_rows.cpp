#include "sqlite_rows.h"

#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

namespace dmarcwatch::store {

using Poco::Data::SQLite::Utility;

SqliteRowStatement::SqliteRowStatement(const Poco::Data::Session& session, const std::string& sql)
    : db_(Utility::dbHandle(session)) {
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    Utility::throwException(db_, rc, sql);
  }
}

SqliteRowStatement::~SqliteRowStatement() { sqlite3_finalize(stmt_); }

void SqliteRowStatement::Bind(int column, const std::string& text) {
  const int rc = sqlite3_bind_text(stmt_, column, text.data(), static_cast<int>(text.size()),
                                   SQLITE_STATIC);
  if (rc != SQLITE_OK) Utility::throwException(db_, rc);
}

void SqliteRowStatement::Bind(int column, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, column, value);
  if (rc != SQLITE_OK) Utility::throwException(db_, rc);
}

void SqliteRowStatement::Step() {
  int rc = sqlite3_step(stmt_);
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt_);
  // Reset leaves the failure's code and message on the connection, where
  // throwException reads the message.
  sqlite3_reset(stmt_);
  if (rc != SQLITE_DONE) Utility::throwException(db_, rc);
}

}  // namespace dmarcwatch::store
