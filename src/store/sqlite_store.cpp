#include "store/sqlite_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include "store/sqlite_db.h"
#include "store/sqlite_schema.h"

namespace oak::store {

using sqlite::DbPtr;
using sqlite::StmtPtr;
using sqlite::Use;

struct SqliteStore::Impl {
  Options options;
  DbPtr db;  // Declared before the statements, so it is closed after they are finalized.
  StmtPtr get, list, put, erase, begin, commit, rollback;
  std::map<std::pair<std::string, std::string>, StmtPtr> finds;

  bool isIndexed(std::string_view collection, std::string_view field) const {
    for (const auto& spec : options.indexes) {
      if (spec.collection == collection && spec.field == field) return true;
    }
    return false;
  }

  // Parses a body; a damaged row is reported, never trusted.
  static Result<boost::json::object> parse(std::string_view body, std::string_view collection,
                                           std::string_view id);
  // Reads every (id, body) row of a bound statement.
  static Result<std::vector<boost::json::object>> readAll(Use& use, std::string_view collection,
                                                          std::string_view what);
  Result<sqlite3_stmt*> findStmt(std::string_view collection, std::string_view field);
  Status applyOps(const WriteBatch& batch);
  void rollbackQuietly();
};

Result<boost::json::object> SqliteStore::Impl::parse(std::string_view body,
                                                     std::string_view collection,
                                                     std::string_view id) {
  boost::json::parse_options opts;
  opts.max_depth = 1000;  // The default of 32 suits untrusted input, not our own documents.
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec, {}, opts);
  if (ec) {
    return makeError(
        ErrorCode::kInternal,
        fmt::format("store: document '{}' in '{}' is damaged: {}", id, collection, ec.message()));
  }
  if (!value.is_object()) {
    return makeError(
        ErrorCode::kInternal,
        fmt::format("store: document '{}' in '{}' is not a JSON object", id, collection));
  }
  return std::move(value.as_object());
}

Result<std::vector<boost::json::object>> SqliteStore::Impl::readAll(Use& use,
                                                                    std::string_view collection,
                                                                    std::string_view what) {
  std::vector<boost::json::object> out;
  for (;;) {
    OAK_ASSIGN_OR_RETURN(const bool row, use.step(what));
    if (!row) return out;
    OAK_ASSIGN_OR_RETURN(auto doc, parse(use.text(1), collection, use.text(0)));
    out.push_back(std::move(doc));
  }
}

Result<sqlite3_stmt*> SqliteStore::Impl::findStmt(std::string_view collection,
                                                  std::string_view field) {
  auto key = std::make_pair(std::string(collection), std::string(field));
  auto it = finds.find(key);
  if (it == finds.end()) {
    OAK_ASSIGN_OR_RETURN(StmtPtr stmt,
                         sqlite::prepare(db.get(), sqlite::findSql(collection, field,
                                                                   isIndexed(collection, field))));
    it = finds.emplace(std::move(key), std::move(stmt)).first;
  }
  return it->second.get();
}

Status SqliteStore::Impl::applyOps(const WriteBatch& batch) {
  const auto& ops = batch.ops();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (options.before_op) OAK_TRY(options.before_op(i));
    const auto& op = ops[i];
    const bool is_put = op.kind == WriteBatch::Op::Kind::kPut;
    const std::string body = is_put ? boost::json::serialize(op.doc) : std::string();
    Use use(db.get(), is_put ? put.get() : erase.get());
    OAK_TRY(use.bind(1, op.collection));
    OAK_TRY(use.bind(2, op.id));
    if (is_put) OAK_TRY(use.bind(3, body));
    OAK_TRY(
        use.run(fmt::format("{} '{}' in '{}'", is_put ? "put" : "erase", op.id, op.collection)));
  }
  return {};
}

void SqliteStore::Impl::rollbackQuietly() {
  if (sqlite3_get_autocommit(db.get())) return;  // SQLite already rolled back after the error.
  Use use(db.get(), rollback.get());
  if (auto st = use.run("rollback"); !st) spdlog::error("{}", st.error().message);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const Options& options) {
  OAK_TRY(sqlite::checkOptions(options));
  if (options.path != ":memory:") OAK_TRY(sqlite::createPrivateFile(options.path));

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  impl->db.reset(raw);  // Owned even on failure, as SQLite requires.
  sqlite3* db = raw;
  if (rc != SQLITE_OK) return sqlite::errorOf(db, rc, fmt::format("open '{}'", options.path));

  OAK_TRY(sqlite::configure(db, options));
  OAK_TRY(sqlite::migrate(db));
  OAK_TRY(sqlite::syncIndexes(db, options.indexes));

  const std::pair<StmtPtr*, const char*> statements[] = {
      {&impl->get, "SELECT body FROM documents WHERE collection = ?1 AND id = ?2"},
      {&impl->list, "SELECT id, body FROM documents WHERE collection = ?1 ORDER BY id"},
      {&impl->put,
       "INSERT INTO documents(collection, id, body) VALUES (?1, ?2, ?3) "
       "ON CONFLICT(collection, id) DO UPDATE SET body = excluded.body"},
      {&impl->erase, "DELETE FROM documents WHERE collection = ?1 AND id = ?2"},
      {&impl->begin, "BEGIN IMMEDIATE"},
      {&impl->commit, "COMMIT"},
      {&impl->rollback, "ROLLBACK"},
  };
  for (const auto& [slot, sql] : statements) {
    OAK_ASSIGN_OR_RETURN(*slot, sqlite::prepare(db, sql));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::optional<boost::json::object>> SqliteStore::get(std::string_view collection,
                                                            std::string_view id) {
  OAK_TRY(checkCollection(collection));
  OAK_TRY(checkId(id));
  Use use(impl_->db.get(), impl_->get.get());
  OAK_TRY(use.bind(1, collection));
  OAK_TRY(use.bind(2, id));
  OAK_ASSIGN_OR_RETURN(const bool row, use.step(fmt::format("get '{}' in '{}'", id, collection)));
  if (!row) return std::optional<boost::json::object>();
  OAK_ASSIGN_OR_RETURN(auto doc, Impl::parse(use.text(0), collection, id));
  return std::optional<boost::json::object>(std::move(doc));
}

Result<std::vector<boost::json::object>> SqliteStore::list(std::string_view collection) {
  OAK_TRY(checkCollection(collection));
  Use use(impl_->db.get(), impl_->list.get());
  OAK_TRY(use.bind(1, collection));
  return Impl::readAll(use, collection, fmt::format("list '{}'", collection));
}

Result<std::vector<boost::json::object>> SqliteStore::find(std::string_view collection,
                                                           std::string_view field,
                                                           const boost::json::value& value) {
  OAK_TRY(checkCollection(collection));
  OAK_TRY(checkField(field));
  OAK_TRY(checkFindValue(value));
  OAK_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, impl_->findStmt(collection, field));
  Use use(impl_->db.get(), stmt);
  // json_extract yields TEXT for strings and INTEGER for integers and bools (1/0); integers too
  // large for INTEGER come back as REAL.
  if (value.is_string()) {
    OAK_TRY(use.bind(1, std::string_view(value.get_string())));
  } else if (value.is_bool()) {
    OAK_TRY(use.bind(1, std::int64_t{value.get_bool() ? 1 : 0}));
  } else if (value.is_int64()) {
    OAK_TRY(use.bind(1, value.get_int64()));
  } else if (value.get_uint64() <=
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    OAK_TRY(use.bind(1, static_cast<std::int64_t>(value.get_uint64())));
  } else {
    OAK_TRY(use.bind(1, static_cast<double>(value.get_uint64())));
  }
  OAK_ASSIGN_OR_RETURN(
      auto candidates,
      Impl::readAll(use, collection, fmt::format("find by '{}' in '{}'", field, collection)));
  // SQL equality is looser than JSON equality (true = 1 = 1.0); keep exact matches only.
  std::vector<boost::json::object> out;
  for (auto& doc : candidates) {
    if (fieldEquals(doc, field, value)) out.push_back(std::move(doc));
  }
  return out;
}

Status SqliteStore::apply(const WriteBatch& batch) {
  OAK_TRY(checkBatch(batch));
  if (batch.empty()) return {};
  Impl& impl = *impl_;
  {
    Use use(impl.db.get(), impl.begin.get());
    OAK_TRY(use.run("begin"));
  }
  // Rolls back on every way out but a successful commit.
  struct Guard {
    Impl& impl;
    bool committed = false;
    ~Guard() {
      if (!committed) impl.rollbackQuietly();
    }
  } guard{impl};
  OAK_TRY(impl.applyOps(batch));
  {
    Use use(impl.db.get(), impl.commit.get());
    OAK_TRY(use.run("commit"));
  }
  guard.committed = true;
  return {};
}

Result<std::string> SqliteStore::explainFindForTest(std::string_view collection,
                                                    std::string_view field) {
  OAK_TRY(checkCollection(collection));
  OAK_TRY(checkField(field));
  sqlite3* db = impl_->db.get();
  // Explains the very text `find` runs.
  OAK_ASSIGN_OR_RETURN(sqlite3_stmt * find, impl_->findStmt(collection, field));
  OAK_ASSIGN_OR_RETURN(StmtPtr stmt,
                       sqlite::prepare(db, std::string("EXPLAIN QUERY PLAN ") + sqlite3_sql(find)));
  Use use(db, stmt.get());
  std::string plan;
  for (;;) {
    OAK_ASSIGN_OR_RETURN(const bool row, use.step("explain"));
    if (!row) return plan;
    plan += std::string(use.text(3)) + "\n";
  }
}

}  // namespace oak::store
