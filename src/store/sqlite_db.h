#pragma once
// Thin RAII helpers over the SQLite C API, private to `SqliteStore`.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::store::sqlite {

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Maps an SQLite result code to our error: `kInternal` for a damaged file or a bad statement,
// `kUnavailable` for everything else (locks, I/O, full disk, permissions).
ErrorCode errorCodeOf(int rc);
// The error for a failed call on `db`, with SQLite's message; `what` names the operation.
Error errorOf(sqlite3* db, int rc, std::string_view what);

// Compiles `sql` for repeated use.
Result<StmtPtr> prepare(sqlite3* db, std::string_view sql);
// Runs one or more statements that return no rows of interest.
Status exec(sqlite3* db, const char* sql, std::string_view what);

// One use of a cached statement: binds parameters and, when it ends, resets the statement and
// clears its bindings so it keeps no read transaction open and no pointer into dead strings.
class Use {
 public:
  Use(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  // The bound text must outlive this `Use`; it is not copied.
  Status bind(int index, std::string_view text);
  Status bind(int index, std::int64_t number);
  Status bind(int index, double number);

  // Steps once: true for a row, false when done.
  Result<bool> step(std::string_view what);
  // Steps a statement that returns no rows.
  Status run(std::string_view what);

  sqlite3_stmt* stmt() const { return stmt_; }
  std::string_view text(int column) const;

 private:
  Status checkBind(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// A literal for SQL text: single quotes doubled.
std::string quoteLiteral(std::string_view text);
// An identifier for SQL text: double quotes doubled.
std::string quoteIdentifier(std::string_view name);

}  // namespace oak::store::sqlite
