#include <gtest/gtest.h>

#include "store/store.h"

namespace oak::store {
namespace {

using Kind = WriteBatch::Op::Kind;

TEST(WriteBatchTest, RecordsOperationsInOrder) {
  WriteBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.put("apps", "a1", {{"name", "web"}});
  batch.erase("apps", "a0");
  batch.put("services", "s1", {});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_FALSE(batch.empty());

  const auto& ops = batch.ops();
  EXPECT_EQ(ops[0].kind, Kind::kPut);
  EXPECT_EQ(ops[0].collection, "apps");
  EXPECT_EQ(ops[0].id, "a1");
  EXPECT_EQ(ops[0].doc, (boost::json::object{{"name", "web"}}));
  EXPECT_EQ(ops[1].kind, Kind::kErase);
  EXPECT_EQ(ops[1].id, "a0");
  EXPECT_TRUE(ops[1].doc.empty());
  EXPECT_EQ(ops[2].collection, "services");
}

TEST(WriteBatchTest, DocumentsMoveToTheDefaultResource) {
  WriteBatch batch;
  {
    boost::json::monotonic_resource arena;
    boost::json::object doc(&arena);
    doc["name"] = "a long enough string to be allocated from the arena";
    batch.put("apps", "a1", std::move(doc));
  }  // The arena is gone; the batch must not point into it.
  const auto& doc = batch.ops()[0].doc;
  EXPECT_EQ(doc.storage().get(), boost::json::storage_ptr().get());
  EXPECT_EQ(doc.at("name"), "a long enough string to be allocated from the arena");
}

TEST(NameRulesTest, AcceptsAndRejects) {
  EXPECT_TRUE(checkCollection("node_stats.v2-x"));
  EXPECT_FALSE(checkCollection(""));
  EXPECT_FALSE(checkCollection("apps:x"));
  EXPECT_FALSE(checkCollection("a b"));
  EXPECT_FALSE(checkCollection(std::string(65, 'a')));

  EXPECT_TRUE(checkField("it's a.b"));
  EXPECT_FALSE(checkField(""));
  EXPECT_FALSE(checkField("say \"hi\""));
  EXPECT_FALSE(checkField("back\\slash"));
  EXPECT_FALSE(checkField("tab\t"));

  EXPECT_TRUE(checkId("64b7f0c2e4b0a1a2b3c4d5e6"));
  EXPECT_FALSE(checkId(""));
  EXPECT_FALSE(checkId(std::string_view("a\0b", 3)));
  EXPECT_EQ(checkId("").error().code, ErrorCode::kInvalidArgument);

  EXPECT_TRUE(checkFindValue("x"));
  EXPECT_TRUE(checkFindValue(-1));
  EXPECT_TRUE(checkFindValue(1u));
  EXPECT_TRUE(checkFindValue(false));
  EXPECT_FALSE(checkFindValue(1.5));
  EXPECT_FALSE(checkFindValue(nullptr));
  EXPECT_FALSE(checkFindValue(boost::json::array{1}));
}

TEST(NameRulesTest, BatchIsCheckedAsAWhole) {
  WriteBatch batch;
  batch.put("apps", "a1", {});
  EXPECT_TRUE(checkBatch(batch));
  batch.erase("apps", "");
  const auto st = checkBatch(batch);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace oak::store
