// Behaviour only the SQLite backend has: files, durability, indexes, damaged data.

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace oak::store {
namespace {

using boost::json::object;

// A second, plain connection to the file, for looking behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "raw open: " << sqlite3_errmsg(db_);
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message ? message : "?");
    }
    sqlite3_free(message);
  }

  // The first column of the first row, or "" when there is none.
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      if (const auto* t = sqlite3_column_text(stmt, 0)) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  // Options for the test's file. (Designated initializers would trip -Wmissing-field-initializers
  // on GCC 12.)
  SqliteStore::Options options(std::vector<SqliteStore::IndexSpec> indexes = {}) const {
    SqliteStore::Options o;
    o.path = path_;
    o.indexes = std::move(indexes);
    return o;
  }

  std::unique_ptr<SqliteStore> open(const SqliteStore::Options& options) {
    auto store = SqliteStore::open(options);
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  static void put(Store& store, std::string_view collection, std::string_view id, object doc) {
    WriteBatch batch;
    batch.put(collection, id, std::move(doc));
    auto st = store.apply(batch);
    ASSERT_TRUE(st) << st.error().message;
  }

  static mode_t modeOf(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 0777;
  }

  oak::testing::TempDir dir_;
  std::string path_ = dir_.file("store.db");
};

TEST_F(SqliteStoreTest, FaultAtAnyOperationRollsBackTheWholeBatch) {
  std::optional<std::size_t> fail_at;
  std::vector<std::size_t> seen;
  auto opts = options();
  opts.before_op = [&](std::size_t i) -> Status {
    seen.push_back(i);
    if (fail_at == i) return makeError(ErrorCode::kUnavailable, "injected");
    return {};
  };
  auto store = open(opts);
  ASSERT_NE(store, nullptr);
  put(*store, "apps", "a", {{"v", 1}});
  put(*store, "apps", "b", {{"v", 2}});
  auto snapshot = [&] {
    return std::make_pair(store->list("apps").value(), store->list("services").value());
  };
  const auto before = snapshot();

  WriteBatch batch;
  batch.put("apps", "c", {{"v", 3}});
  batch.put("apps", "a", {{"v", 10}});
  batch.erase("apps", "b");
  batch.put("services", "s", {{"v", 4}});
  for (std::size_t n = 0; n < batch.size(); ++n) {
    fail_at = n;
    seen.clear();
    auto st = store->apply(batch);
    ASSERT_FALSE(st) << "fault at " << n;
    EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(st.error().message, "injected");
    EXPECT_EQ(seen.size(), n + 1);
    EXPECT_EQ(snapshot(), before) << "fault at " << n;
  }

  fail_at.reset();
  seen.clear();
  ASSERT_TRUE(store->apply(batch));
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_NE(snapshot(), before);
  EXPECT_EQ(store->list("apps").value().size(), 2u);
}

TEST_F(SqliteStoreTest, DataSurvivesReopenInWalMode) {
  {
    auto store = open(options());
    ASSERT_NE(store, nullptr);
    put(*store, "apps", "a1", {{"name", "web"}});
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  }
  auto opts = options();
  opts.synchronous_full = true;
  auto store = open(opts);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->get("apps", "a1").value(), (object{{"name", "web"}}));
}

TEST_F(SqliteStoreTest, NewFilesArePrivateWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  auto store = open(options());
  ::umask(old_umask);
  ASSERT_NE(store, nullptr);
  put(*store, "apps", "a1", {});  // Creates the WAL file.
  EXPECT_EQ(modeOf(path_), 0600u);
  EXPECT_EQ(modeOf(path_ + "-wal"), 0600u);
}

TEST_F(SqliteStoreTest, ExistingFilesKeepTheirMode) {
  std::ofstream(path_).close();
  ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
  auto store = open(options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(modeOf(path_), 0640u);
}

TEST_F(SqliteStoreTest, FindUsesTheDeclaredIndex) {
  auto store = open(options({{"apps", "name"}, {"apps", "it's"}}));
  ASSERT_NE(store, nullptr);
  auto plan = [&](std::string_view collection, std::string_view field) {
    auto explained = store->explainFindForTest(collection, field);
    EXPECT_TRUE(explained) << explained.error().message;
    return explained ? *explained : std::string();
  };
  const std::string indexed = plan("apps", "name");
  EXPECT_NE(indexed.find("USING INDEX find:apps:name"), std::string::npos) << indexed;
  EXPECT_EQ(indexed.find("TEMP B-TREE"), std::string::npos) << indexed;

  const std::string quoted = plan("apps", "it's");
  EXPECT_NE(quoted.find("USING INDEX find:apps:it's"), std::string::npos) << quoted;

  // Another collection or field gets no index, only the primary key range of the collection.
  for (const std::string& other : {plan("apps", "owner"), plan("services", "name")}) {
    EXPECT_EQ(other.find("find:"), std::string::npos) << other;
    EXPECT_NE(other.find("PRIMARY KEY"), std::string::npos) << other;
  }
}

TEST_F(SqliteStoreTest, IndexesNoLongerDeclaredAreDropped) {
  const std::string query =
      "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'index' "
      "AND name GLOB 'find:*' ORDER BY name)";
  open(options({{"apps", "name"}, {"apps", "owner"}})).reset();
  EXPECT_EQ(RawDb(path_).text(query), "find:apps:name,find:apps:owner");
  open(options({{"apps", "owner"}})).reset();
  EXPECT_EQ(RawDb(path_).text(query), "find:apps:owner");
  open(options()).reset();
  EXPECT_EQ(RawDb(path_).text(query), "");
}

TEST_F(SqliteStoreTest, BadOptionsAreRejected) {
  auto code = [](const SqliteStore::Options& opts) {
    auto store = SqliteStore::open(opts);
    return store ? std::optional<ErrorCode>() : store.error().code;
  };
  EXPECT_EQ(code(SqliteStore::Options()), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(options({{"a:b", "name"}})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(options({{"apps", "x\"y"}})), ErrorCode::kInvalidArgument);
  auto negative_timeout = options();
  negative_timeout.busy_timeout_ms = -1;
  EXPECT_EQ(code(negative_timeout), ErrorCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, UnusablePathsFailCleanly) {
  auto opts = options();
  opts.path = dir_.file("missing/store.db");
  auto missing_dir = SqliteStore::open(opts);
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing_dir.error().message.find("missing/store.db"), std::string::npos);

  opts.path = dir_.path().string();
  auto directory = SqliteStore::open(opts);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, ErrorCode::kUnavailable);
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsInternalError) {
  std::ofstream(path_) << "this is not an SQLite database, just text long enough to have a header";
  auto store = SqliteStore::open(options());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInternal);
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  open(options()).reset();
  RawDb(path_).exec("PRAGMA user_version = 99");
  auto store = SqliteStore::open(options());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInternal);
  EXPECT_NE(store.error().message.find("99"), std::string::npos);
}

TEST_F(SqliteStoreTest, DamagedRowsAreInternalErrorsNamingTheDocument) {
  {
    auto store = open(options());
    ASSERT_NE(store, nullptr);
    put(*store, "apps", "bad-json", {{"name", "web"}});
    put(*store, "apps", "not-object", {{"name", "web"}});
    put(*store, "apps", "fine", {{"name", "web"}});
  }
  {
    RawDb raw(path_);
    raw.exec("UPDATE documents SET body = '{\"name\": \"web\"' WHERE id = 'bad-json'");
    raw.exec("UPDATE documents SET body = '[1, 2]' WHERE id = 'not-object'");
  }
  auto store = open(options());
  ASSERT_NE(store, nullptr);

  auto bad = store->get("apps", "bad-json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  EXPECT_NE(bad.error().message.find("'bad-json' in 'apps'"), std::string::npos)
      << bad.error().message;

  auto array = store->get("apps", "not-object");
  ASSERT_FALSE(array);
  EXPECT_EQ(array.error().code, ErrorCode::kInternal);
  EXPECT_NE(array.error().message.find("not-object"), std::string::npos);

  EXPECT_EQ(store->get("apps", "fine").value(), (object{{"name", "web"}}));

  auto listed = store->list("apps");
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kInternal);

  auto found = store->find("apps", "name", "web");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kInternal);
  EXPECT_NE(found.error().message.find("apps"), std::string::npos) << found.error().message;
}

TEST_F(SqliteStoreTest, LockedDatabaseIsUnavailableAndChangesNothing) {
  auto opts = options();
  opts.busy_timeout_ms = 0;
  auto store = open(opts);
  ASSERT_NE(store, nullptr);
  put(*store, "apps", "a", {{"v", 1}});

  RawDb other(path_);
  other.exec("BEGIN IMMEDIATE");
  WriteBatch batch;
  batch.put("apps", "a", {{"v", 2}});
  auto st = store->apply(batch);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  other.exec("ROLLBACK");

  EXPECT_EQ(store->get("apps", "a").value(), (object{{"v", 1}}));
  ASSERT_TRUE(store->apply(batch));
  EXPECT_EQ(store->get("apps", "a").value(), (object{{"v", 2}}));
}

TEST_F(SqliteStoreTest, InMemoryDatabaseWorks) {
  auto opts = options({{"apps", "name"}});
  opts.path = ":memory:";
  auto store = open(opts);
  ASSERT_NE(store, nullptr);
  put(*store, "apps", "a1", {{"name", "web"}});
  EXPECT_EQ(store->find("apps", "name", "web").value().size(), 1u);
  EXPECT_FALSE(std::ifstream(":memory:").good());
}

}  // namespace
}  // namespace oak::store
