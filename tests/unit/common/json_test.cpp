#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/json.h"

namespace oak::json {
namespace {

namespace bj = boost::json;

TEST(JsonParse, AcceptsDocuments) {
  auto v = parse(R"({"a": [1, 2.5, "x", null, true]})");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->at("a").as_array().size(), 5u);
  EXPECT_TRUE(parse("  42  "));
  EXPECT_TRUE(parse("\"s\"\n"));
}

TEST(JsonParse, ErrorsNameTheByte) {
  auto v = parse(R"({"a": x})");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message.find("at byte 6"), std::string::npos) << v.error().message;
  v = parse(R"([1, 2,)");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("malformed JSON"), std::string::npos) << v.error().message;
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse("{\"a\":1"));
}

TEST(JsonParse, RefusesTrailingData) {
  auto v = parse(R"({"a":1} {"b":2})");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message.find("at byte 8"), std::string::npos) << v.error().message;
  v = parse("[]x");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("at byte 2"), std::string::npos) << v.error().message;
  EXPECT_FALSE(parse("1 2"));
  EXPECT_FALSE(parse("{} ]"));
}

TEST(JsonParse, LimitsNestingDepth) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parse(nested(64))) << "64 levels are allowed";
  auto v = parse(nested(65));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parse(nested(100000))) << "deep input fails cleanly, without exhausting the stack";
}

TEST(JsonGetInt, AcceptsWholeNumbersOnly) {
  auto o = parse(R"({"i": 3, "neg": -4, "one": 1.0, "half": 1.5, "t": true, "s": "7",
                     "big": 18446744073709551615, "huge": 1e300, "n": null})")
               ->as_object();
  EXPECT_EQ(getInt(o, "i"), 3);
  EXPECT_EQ(getInt(o, "neg"), -4);
  EXPECT_EQ(getInt(o, "one"), 1);
  EXPECT_EQ(getInt(o, "half"), std::nullopt);
  EXPECT_EQ(getInt(o, "t"), std::nullopt);
  EXPECT_EQ(getInt(o, "s"), std::nullopt);
  EXPECT_EQ(getInt(o, "big"), std::nullopt) << "does not fit int64";
  EXPECT_EQ(getInt(o, "huge"), std::nullopt);
  EXPECT_EQ(getInt(o, "n"), std::nullopt);
  EXPECT_EQ(getInt(o, "missing"), std::nullopt);
}

TEST(JsonAccess, TypedLookupsNeverThrow) {
  auto o = parse(R"({"s": "x", "a": [1], "o": {"k": 1}, "i": 1})")->as_object();
  EXPECT_EQ(getString(o, "s"), "x");
  EXPECT_EQ(getString(o, "i"), std::nullopt);
  ASSERT_NE(findString(o, "s"), nullptr);
  EXPECT_EQ(*findString(o, "s"), "x");
  EXPECT_EQ(findString(o, "a"), nullptr);
  ASSERT_NE(findArray(o, "a"), nullptr);
  EXPECT_EQ(findArray(o, "a")->size(), 1u);
  EXPECT_EQ(findArray(o, "o"), nullptr);
  ASSERT_NE(findObject(o, "o"), nullptr);
  EXPECT_EQ(findObject(o, "s"), nullptr);
  EXPECT_EQ(findObject(o, "missing"), nullptr);
}

TEST(JsonText, DumpPreviewTypeName) {
  EXPECT_EQ(dump(bj::value{{"a", 1}}), R"({"a":1})");
  EXPECT_EQ(preview(bj::value("hi")), "'hi'");
  EXPECT_EQ(preview(bj::value(std::string(100, 'x')), 10), "'xxxxxxxxx...");
  EXPECT_EQ(typeName(bj::value(1)), "integer");
  EXPECT_EQ(typeName(bj::value(1.5)), "number");
  EXPECT_EQ(typeName(bj::value(true)), "boolean");
  EXPECT_EQ(typeName(bj::value(nullptr)), "null");
  EXPECT_EQ(typeName(bj::value(bj::array{})), "array");
  EXPECT_EQ(typeName(bj::value(bj::object{})), "object");
  EXPECT_EQ(typeName(bj::value("s")), "string");
}

}  // namespace
}  // namespace oak::json
