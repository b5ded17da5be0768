#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "common/object_id.h"

namespace oak {
namespace {

uint32_t hexField(const std::string& id, size_t pos, size_t len) {
  return static_cast<uint32_t>(std::stoul(id.substr(pos, len), nullptr, 16));
}

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ObjectId, Format) {
  auto id = newObjectId();
  EXPECT_EQ(id.size(), 24u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_TRUE(isObjectId(id));
}

TEST(ObjectId, Validation) {
  EXPECT_TRUE(isObjectId("0123456789abcdef01234567"));
  EXPECT_TRUE(isObjectId("0123456789ABCDEF01234567"));
  EXPECT_FALSE(isObjectId("0123456789abcdef0123456"));
  EXPECT_FALSE(isObjectId("0123456789abcdef012345678"));
  EXPECT_FALSE(isObjectId("0123456789abcdef0123456g"));
  EXPECT_FALSE(isObjectId(""));
}

TEST(ObjectId, Unique) {
  std::set<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.insert(newObjectId());
  EXPECT_EQ(ids.size(), 20000u);
}

TEST(ObjectId, StartsWithTheCreationTime) {
  int64_t before = nowSeconds();
  auto id = newObjectId();
  int64_t after = nowSeconds();
  EXPECT_GE(hexField(id, 0, 8), before);
  EXPECT_LE(hexField(id, 0, 8), after);
}

TEST(ObjectId, OrderedByTimeThenCounter) {
  // Within one process the random middle is fixed and the counter counts up (mod 2^24), so ids
  // sort by creation except when the counter wraps.
  auto prev = newObjectId();
  for (int i = 0; i < 1000; ++i) {
    auto id = newObjectId();
    EXPECT_EQ(id.substr(8, 10), prev.substr(8, 10));
    uint32_t t0 = hexField(prev, 0, 8), t1 = hexField(id, 0, 8);
    EXPECT_GE(t1, t0);
    EXPECT_EQ(hexField(id, 18, 6), (hexField(prev, 18, 6) + 1) & 0xffffff);
    if (hexField(id, 18, 6) != 0) {
      EXPECT_LT(prev, id);
    }
    prev = id;
  }
}

TEST(ObjectId, OidJson) {
  auto o = oidJson("0123456789abcdef01234567");
  EXPECT_EQ(o.size(), 1u);
  EXPECT_EQ(o.at("$oid"), "0123456789abcdef01234567");
}

}  // namespace
}  // namespace oak
