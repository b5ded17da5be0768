#include "store/sqlite_db.h"

#include <fmt/format.h>

namespace oak::store::sqlite {

ErrorCode errorCodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:  // A bad statement, or a row whose JSON SQLite cannot read.
    case SQLITE_INTERNAL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return ErrorCode::kInternal;
    default:
      return ErrorCode::kUnavailable;
  }
}

Error errorOf(sqlite3* db, int rc, std::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return makeError(errorCodeOf(rc),
                   fmt::format("store: {}: {} (sqlite code {})", what, message, rc));
}

Result<StmtPtr> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return errorOf(db, rc, fmt::format("prepare \"{}\"", sql));
  return stmt;
}

Status exec(sqlite3* db, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return errorOf(db, rc, what);
  return {};
}

Status Use::checkBind(int rc, int index) {
  if (rc != SQLITE_OK) return errorOf(db_, rc, fmt::format("bind parameter {}", index));
  return {};
}

Status Use::bind(int index, std::string_view text) {
  return checkBind(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8),
      index);
}

Status Use::bind(int index, std::int64_t number) {
  return checkBind(sqlite3_bind_int64(stmt_, index, number), index);
}

Status Use::bind(int index, double number) {
  return checkBind(sqlite3_bind_double(stmt_, index, number), index);
}

Result<bool> Use::step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return errorOf(db_, rc, what);
}

Status Use::run(std::string_view what) {
  OAK_ASSIGN_OR_RETURN(const bool row, step(what));
  (void)row;  // Statements run this way return no rows, or one that is of no interest.
  return {};
}

std::string_view Use::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (data == nullptr) return {};
  return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

namespace {

std::string quote(std::string_view text, char mark) {
  std::string out(1, mark);
  for (char c : text) {
    if (c == mark) out += mark;
    out += c;
  }
  out += mark;
  return out;
}

}  // namespace

std::string quoteLiteral(std::string_view text) {
  return quote(text, '\'');
}
std::string quoteIdentifier(std::string_view name) {
  return quote(name, '"');
}

}  // namespace oak::store::sqlite
