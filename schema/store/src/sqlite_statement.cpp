#include "sqlite_statement.h"

#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

namespace dmarcwatch::store {

using Poco::Data::SQLite::Utility;

SqliteStatement::SqliteStatement(const Poco::Data::Session& session, const std::string& sql)
    : db_(Utility::dbHandle(session)) {
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    Utility::throwException(db_, rc, sql);
  }
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::Check(int rc) const {
  if (rc != SQLITE_OK) Utility::throwException(db_, rc);
}

void SqliteStatement::BindValue(int& column, const std::string& text) {
  Check(sqlite3_bind_text(stmt_, ++column, text.data(), static_cast<int>(text.size()),
                          SQLITE_STATIC));
}

void SqliteStatement::BindValue(int& column, std::int64_t value) {
  Check(sqlite3_bind_int64(stmt_, ++column, value));
}

void SqliteStatement::BindValue(int& column, const Poco::Data::BLOB& blob) {
  // A zero-length blob, not NULL: sqlite3_bind_blob takes a null pointer
  // for NULL.
  static const unsigned char kEmpty = 0;
  const unsigned char* data = blob.size() == 0 ? &kEmpty : blob.rawContent();
  Check(sqlite3_bind_blob(stmt_, ++column, data, static_cast<int>(blob.size()), SQLITE_STATIC));
}

void SqliteStatement::BindNull(int& column) { Check(sqlite3_bind_null(stmt_, ++column)); }

bool SqliteStatement::StepRow() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Reset leaves the failure's code and message on the connection, where
  // throwException reads the message.
  sqlite3_reset(stmt_);
  Utility::throwException(db_, rc);
  return false;
}

std::size_t SqliteStatement::Changes() const {
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

void SqliteStatement::Reset() { sqlite3_reset(stmt_); }

std::int64_t SqliteStatement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text == nullptr ? std::string()
                         : std::string(text, static_cast<std::size_t>(
                                                 sqlite3_column_bytes(stmt_, column)));
}

bool SqliteInTransaction(const Poco::Data::Session& session) {
  return sqlite3_get_autocommit(Utility::dbHandle(session)) == 0;
}

}  // namespace dmarcwatch::store
