// The behaviour every `Store` backend shares, run against each of them.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace oak::store {
namespace {

using boost::json::object;

struct MemoryBackend {
  std::unique_ptr<Store> make() { return std::make_unique<InMemoryStore>(); }
};

// No indexes: `find` scans the collection.
struct SqliteScanBackend {
  std::unique_ptr<Store> make() {
    SqliteStore::Options options;
    options.path = ":memory:";
    auto store = SqliteStore::open(options);
    return store ? std::move(*store) : nullptr;
  }
};

// A file in WAL mode, with every field the tests look up indexed.
struct SqliteIndexedBackend {
  oak::testing::TempDir dir;
  std::unique_ptr<Store> make() {
    SqliteStore::Options options;
    options.path = dir.file("store.db");
    options.indexes = {{"apps", "name"},
                       {"apps", "replicas"},
                       {"apps", "active"},
                       {"apps", "it's a.b"},
                       {"nums", "n"}};
    auto store = SqliteStore::open(options);
    return store ? std::move(*store) : nullptr;
  }
};

template <class Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = backend_.make();
    ASSERT_NE(store_, nullptr);
  }

  void put(std::string_view collection, std::string_view id, object doc) {
    WriteBatch batch;
    batch.put(collection, id, std::move(doc));
    ASSERT_TRUE(store_->apply(batch));
  }

  // The stored document; a failure of the store fails the test.
  std::optional<object> get(std::string_view collection, std::string_view id) {
    auto got = store_->get(collection, id);
    EXPECT_TRUE(got) << got.error().message;
    return got ? got.value() : std::nullopt;
  }

  std::vector<object> list(std::string_view collection) {
    auto docs = store_->list(collection);
    EXPECT_TRUE(docs) << docs.error().message;
    return docs ? docs.value() : std::vector<object>{};
  }

  // Ids of the documents, taken from their "_id" member.
  static std::vector<std::string> ids(const std::vector<object>& docs) {
    std::vector<std::string> out;
    for (const auto& doc : docs) out.emplace_back(doc.at("_id").as_string());
    return out;
  }

  std::vector<std::string> findIds(std::string_view collection, std::string_view field,
                                   const boost::json::value& value) {
    auto found = store_->find(collection, field, value);
    EXPECT_TRUE(found) << found.error().message;
    return found ? ids(found.value()) : std::vector<std::string>{};
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<MemoryBackend, SqliteScanBackend, SqliteIndexedBackend>;
TYPED_TEST_SUITE(StoreContractTest, Backends);

TYPED_TEST(StoreContractTest, GetOfMissingDocumentIsEmpty) {
  EXPECT_EQ(this->get("apps", "nope"), std::nullopt);
  EXPECT_EQ(this->get("never-used", "nope"), std::nullopt);
}

TYPED_TEST(StoreContractTest, RoundTripsEveryJsonKind) {
  const object doc{
      {"s", "Grüße ✓ \"quoted\" \\ \n tab\t"},
      {"min", std::numeric_limits<std::int64_t>::min()},
      {"max", std::numeric_limits<std::uint64_t>::max()},
      {"tenth", 0.1},
      {"huge", 1e300},
      {"yes", true},
      {"none", nullptr},
      {"list", boost::json::array{1, "two", boost::json::array{}, object{}}},
      {"nested", object{{"a", object{{"b", object{{"c", -3}}}}}}},
  };
  this->put("apps", "a1", doc);
  EXPECT_EQ(this->get("apps", "a1"), doc);
}

TYPED_TEST(StoreContractTest, PutReplacesTheWholeDocument) {
  this->put("apps", "a1", {{"a", 1}, {"b", 2}});
  this->put("apps", "a1", {{"a", 3}});
  EXPECT_EQ(this->get("apps", "a1"), (object{{"a", 3}}));
}

TYPED_TEST(StoreContractTest, EraseRemovesAndIgnoresAbsentDocuments) {
  this->put("apps", "a1", {{"a", 1}});
  WriteBatch batch;
  batch.erase("apps", "a1");
  batch.erase("apps", "never-there");
  batch.erase("no-such-collection", "x");
  ASSERT_TRUE(this->store_->apply(batch));
  EXPECT_EQ(this->get("apps", "a1"), std::nullopt);
}

TYPED_TEST(StoreContractTest, CollectionsAreSeparate) {
  this->put("apps", "x", {{"kind", "app"}});
  this->put("services", "x", {{"kind", "service"}});
  EXPECT_EQ(this->get("apps", "x"), (object{{"kind", "app"}}));
  EXPECT_EQ(this->get("services", "x"), (object{{"kind", "service"}}));
  EXPECT_EQ(this->list("apps").size(), 1u);
}

TYPED_TEST(StoreContractTest, ListOrdersByIdBytewise) {
  for (const char* id :
       {"b", "aa", "65a000000000000000000002", "B", "a", "65a000000000000000000001"}) {
    this->put("apps", id, {{"_id", id}});
  }
  EXPECT_EQ(this->ids(this->list("apps")),
            (std::vector<std::string>{"65a000000000000000000001", "65a000000000000000000002", "B",
                                      "a", "aa", "b"}));
  EXPECT_TRUE(this->list("services").empty());
}

TYPED_TEST(StoreContractTest, FindMatchesStringIntegerAndBoolFields) {
  this->put("apps", "3", {{"_id", "3"}, {"name", "web"}, {"replicas", 1}, {"active", true}});
  this->put("apps", "1", {{"_id", "1"}, {"name", "web"}, {"replicas", 2}, {"active", false}});
  this->put("apps", "2", {{"_id", "2"}, {"name", "db"}, {"replicas", 1}, {"active", true}});
  this->put("other", "4", {{"_id", "4"}, {"name", "web"}});

  EXPECT_EQ(this->findIds("apps", "name", "web"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(this->findIds("apps", "replicas", 1), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(this->findIds("apps", "replicas", 1u), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(this->findIds("apps", "active", false), (std::vector<std::string>{"1"}));
  EXPECT_TRUE(this->findIds("apps", "name", "cache").empty());
  EXPECT_TRUE(this->findIds("apps", "missing", "web").empty());
  EXPECT_TRUE(this->findIds("empty", "name", "web").empty());
}

TYPED_TEST(StoreContractTest, FindMatchesOnlyTheSameJsonKind) {
  this->put("apps", "int", {{"_id", "int"}, {"replicas", 1}});
  this->put("apps", "uint", {{"_id", "uint"}, {"replicas", 1u}});
  this->put("apps", "bool", {{"_id", "bool"}, {"replicas", true}});
  this->put("apps", "str", {{"_id", "str"}, {"replicas", "1"}});
  this->put("apps", "dbl", {{"_id", "dbl"}, {"replicas", 1.0}});
  this->put("apps", "nested", {{"_id", "nested"}, {"x", object{{"replicas", 1}}}});
  this->put("apps", "obj", {{"_id", "obj"}, {"replicas", object{{"a", 1}}}});

  EXPECT_EQ(this->findIds("apps", "replicas", 1), (std::vector<std::string>{"int", "uint"}));
  EXPECT_EQ(this->findIds("apps", "replicas", true), (std::vector<std::string>{"bool"}));
  EXPECT_EQ(this->findIds("apps", "replicas", "1"), (std::vector<std::string>{"str"}));
  EXPECT_TRUE(this->findIds("apps", "replicas", R"({"a":1})").empty());
}

TYPED_TEST(StoreContractTest, FindTellsApartIntegersBeyondInt64) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  this->put("nums", "a", {{"_id", "a"}, {"n", kMax}});
  this->put("nums", "b", {{"_id", "b"}, {"n", kMax - 1}});
  this->put("nums", "c", {{"_id", "c"}, {"n", -1}});
  EXPECT_EQ(this->findIds("nums", "n", kMax), (std::vector<std::string>{"a"}));
  EXPECT_EQ(this->findIds("nums", "n", kMax - 1), (std::vector<std::string>{"b"}));
  EXPECT_EQ(this->findIds("nums", "n", -1), (std::vector<std::string>{"c"}));
}

TYPED_TEST(StoreContractTest, FindTakesFieldNamesLiterally) {
  this->put("apps", "1", {{"_id", "1"}, {"it's a.b", "x"}});
  this->put("apps", "2", {{"_id", "2"}, {"it's a", object{{"b", "x"}}}});
  EXPECT_EQ(this->findIds("apps", "it's a.b", "x"), (std::vector<std::string>{"1"}));
}

TYPED_TEST(StoreContractTest, RejectsBadNamesAndValues) {
  auto code = [](const auto& result) {
    return result ? std::optional<ErrorCode>() : result.error().code;
  };
  constexpr auto kBad = ErrorCode::kInvalidArgument;
  EXPECT_EQ(code(this->store_->get("a b", "x")), kBad);
  EXPECT_EQ(code(this->store_->get("apps", "")), kBad);
  EXPECT_EQ(code(this->store_->list("")), kBad);
  EXPECT_EQ(code(this->store_->find("apps", "say \"x\"", "v")), kBad);
  EXPECT_EQ(code(this->store_->find("apps", "name", 1.5)), kBad);
  EXPECT_EQ(code(this->store_->find("apps", "name", nullptr)), kBad);
}

TYPED_TEST(StoreContractTest, ResultsAreCopies) {
  object original{{"name", "web"}, {"ports", boost::json::array{80}}};
  WriteBatch batch;
  batch.put("apps", "a1", original);
  ASSERT_TRUE(this->store_->apply(batch));
  original["name"] = "changed after put";

  auto got = this->store_->get("apps", "a1").value();
  ASSERT_TRUE(got.has_value());
  got->at("ports").as_array().push_back(443);
  auto listed = this->store_->list("apps").value();
  ASSERT_EQ(listed.size(), 1u);
  listed[0]["name"] = "changed after list";
  auto found = this->store_->find("apps", "name", "web").value();
  ASSERT_EQ(found.size(), 1u);
  found[0].clear();

  EXPECT_EQ(this->get("apps", "a1"), (object{{"name", "web"}, {"ports", boost::json::array{80}}}));
}

TYPED_TEST(StoreContractTest, DocumentsOutliveTheCallersMemoryResource) {
  {
    boost::json::monotonic_resource arena;
    object doc(&arena);
    doc["name"] = "a string long enough to live in the arena, not inline";
    this->put("apps", "a1", std::move(doc));
  }
  EXPECT_EQ(this->get("apps", "a1"),
            (object{{"name", "a string long enough to live in the arena, not inline"}}));
}

TYPED_TEST(StoreContractTest, BatchAppliesOperationsInOrder) {
  WriteBatch batch;
  batch.put("apps", "x", {{"v", 1}});
  batch.erase("apps", "x");
  batch.put("apps", "x", {{"v", 2}});
  batch.put("apps", "y", {{"v", 3}});
  batch.erase("apps", "y");
  ASSERT_TRUE(this->store_->apply(batch));
  EXPECT_EQ(this->get("apps", "x"), (object{{"v", 2}}));
  EXPECT_EQ(this->get("apps", "y"), std::nullopt);
}

TYPED_TEST(StoreContractTest, BatchWithABadOperationChangesNothing) {
  this->put("apps", "keep", {{"v", 1}});
  WriteBatch batch;
  batch.put("apps", "new", {{"v", 2}});
  batch.erase("apps", "keep");
  batch.put("bad collection", "z", {});
  auto st = this->store_->apply(batch);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);

  EXPECT_EQ(this->list("apps"), (std::vector<object>{{{"v", 1}}}));
}

TYPED_TEST(StoreContractTest, EmptyBatchSucceeds) {
  EXPECT_TRUE(this->store_->apply(WriteBatch()));
}

}  // namespace
}  // namespace oak::store
