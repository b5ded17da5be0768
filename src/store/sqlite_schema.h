#pragma once
// How `SqliteStore` lays out and sets up its file, private to it.

#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite_db.h"
#include "store/sqlite_store.h"

namespace oak::store::sqlite {

Status checkOptions(const SqliteStore::Options& options);

// Creates `path` with mode 0600 whatever the umask, so that SQLite's WAL files, which copy the
// database's mode, are private too. An existing file is left alone.
Status createPrivateFile(const std::string& path);

// Sets up a fresh connection: WAL, the synchronous level, busy timeout, defensive mode.
Status configure(sqlite3* db, const SqliteStore::Options& options);

// Brings the schema to `SqliteStore::kSchemaVersion`, one transaction per step.
Status migrate(sqlite3* db);

// Makes the set of `find:` indexes equal to `specs`: creates the missing, drops the undeclared.
Status syncIndexes(sqlite3* db, const std::vector<SqliteStore::IndexSpec>& specs);

// The query behind `find`, spelled exactly like the index for (collection, field). When `indexed`
// it names the index (INDEXED BY), so a query the index cannot serve fails to prepare instead of
// silently scanning.
std::string findSql(std::string_view collection, std::string_view field, bool indexed);

}  // namespace oak::store::sqlite
