#include "store/sqlite_schema.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <set>
#include <utility>

namespace oak::store::sqlite {

namespace {

// Migration N takes the schema from version N to N + 1, inside one transaction.
constexpr const char* kMigrations[] = {
    // The body is the serialized JSON object; ids sort byte-wise.
    "CREATE TABLE documents(collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, "
    "PRIMARY KEY (collection, id)) STRICT, WITHOUT ROWID",
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

constexpr std::string_view kIndexPrefix = "find:";

// `find` and the index spell the member expression and the collection test identically, so that
// SQLite can match the query against the partial expression index.
std::string memberExpr(std::string_view field) {
  return fmt::format("json_extract(body, {})", quoteLiteral(fmt::format("$.\"{}\"", field)));
}

std::string indexName(std::string_view collection, std::string_view field) {
  // Unambiguous because collections cannot contain ':'.
  return fmt::format("{}{}:{}", kIndexPrefix, collection, field);
}

std::string createIndexSql(const SqliteStore::IndexSpec& spec) {
  return fmt::format("CREATE INDEX IF NOT EXISTS {} ON documents({}, id) WHERE collection = {}",
                     quoteIdentifier(indexName(spec.collection, spec.field)),
                     memberExpr(spec.field), quoteLiteral(spec.collection));
}

Result<std::string> queryText(sqlite3* db, const std::string& sql) {
  OAK_ASSIGN_OR_RETURN(StmtPtr stmt, prepare(db, sql));
  Use use(db, stmt.get());
  OAK_ASSIGN_OR_RETURN(const bool row, use.step(sql));
  if (!row) return std::string();
  return std::string(use.text(0));
}

// Runs `sql` in one write transaction: all of it or none.
Status execInTransaction(sqlite3* db, const std::string& sql, std::string_view what) {
  OAK_TRY(exec(db, "BEGIN IMMEDIATE", what));
  if (auto st = exec(db, sql.c_str(), what); !st) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  return exec(db, "COMMIT", what);
}

}  // namespace

std::string findSql(std::string_view collection, std::string_view field, bool indexed) {
  // Without INDEXED BY the planner, lacking statistics, prefers the collection's primary key range.
  return fmt::format(
      "SELECT id, body FROM documents {} WHERE collection = {} AND {} = ?1 ORDER BY id",
      indexed ? "INDEXED BY " + quoteIdentifier(indexName(collection, field)) : "",
      quoteLiteral(collection), memberExpr(field));
}

Status checkOptions(const SqliteStore::Options& options) {
  if (options.path.empty()) return makeError(ErrorCode::kInvalidArgument, "store: empty path");
  if (options.busy_timeout_ms < 0) {
    return makeError(ErrorCode::kInvalidArgument, "store: negative busy_timeout_ms");
  }
  for (const auto& spec : options.indexes) {
    OAK_TRY(checkCollection(spec.collection));
    OAK_TRY(checkField(spec.field));
  }
  return {};
}

Status createPrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("store: cannot create '{}': {}", path, std::strerror(errno)));
  }
  const int rc = ::fchmod(fd, 0600);
  const int saved_errno = errno;
  ::close(fd);
  if (rc != 0) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("store: cannot chmod '{}': {}", path, std::strerror(saved_errno)));
  }
  return {};
}

Status configure(sqlite3* db, const SqliteStore::Options& options) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  // Refuses statements that could corrupt the file even if asked (e.g. writable_schema).
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  // The first statement that reads the file: a file that is not a database fails here.
  OAK_ASSIGN_OR_RETURN(const std::string mode, queryText(db, "PRAGMA journal_mode = WAL"));
  if (mode != "wal" && options.path != ":memory:") {
    spdlog::warn("store: '{}' runs in journal mode '{}', not WAL", options.path, mode);
  }
  return exec(
      db, options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "configure");
}

Status migrate(sqlite3* db) {
  OAK_ASSIGN_OR_RETURN(const std::string text, queryText(db, "PRAGMA user_version"));
  const int version = std::atoi(text.c_str());
  if (version > SqliteStore::kSchemaVersion) {
    return makeError(ErrorCode::kInternal,
                     fmt::format("store: schema version {} is newer than this build's {}", version,
                                 SqliteStore::kSchemaVersion));
  }
  for (int v = version; v < SqliteStore::kSchemaVersion; ++v) {
    OAK_TRY(execInTransaction(db,
                              fmt::format("{};\nPRAGMA user_version = {};", kMigrations[v], v + 1),
                              fmt::format("migrate to schema version {}", v + 1)));
  }
  return {};
}

Status syncIndexes(sqlite3* db, const std::vector<SqliteStore::IndexSpec>& specs) {
  std::set<std::string> wanted;
  for (const auto& spec : specs) wanted.insert(indexName(spec.collection, spec.field));

  std::vector<std::string> stale;
  {
    OAK_ASSIGN_OR_RETURN(StmtPtr stmt,
                         prepare(db,
                                 "SELECT name FROM sqlite_schema WHERE type = 'index' "
                                 "AND tbl_name = 'documents' AND name GLOB 'find:*'"));
    Use use(db, stmt.get());
    for (;;) {
      OAK_ASSIGN_OR_RETURN(const bool row, use.step("list indexes"));
      if (!row) break;
      if (std::string name(use.text(0)); !wanted.contains(name)) stale.push_back(std::move(name));
    }
  }
  std::string sql;
  for (const auto& name : stale) {
    spdlog::info("store: dropping index '{}', no longer declared", name);
    sql += fmt::format("DROP INDEX {};\n", quoteIdentifier(name));
  }
  for (const auto& spec : specs) sql += createIndexSql(spec) + ";\n";
  if (sql.empty()) return {};
  return execInTransaction(db, sql, "create indexes");
}

}  // namespace oak::store::sqlite
