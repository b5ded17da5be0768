#include "logs/record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json.h"

namespace oak::logs {
namespace {

namespace bj = boost::json;
using ::testing::HasSubstr;

LogRecord sample() {
  return LogRecord{
      Clock::TimePoint(std::chrono::seconds(1'700'000'000)) + std::chrono::nanoseconds(123),
      Level::kWarn,
      "worker",
      "w1",
      "c1",
      "image pull failed: \"x\""};
}

TEST(RecordTest, RoundTripsThroughJson) {
  auto r = sample();
  auto back = recordFromJson(toJson(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_EQ(toJson(r).at("time").as_string(), "2023-11-14T22:13:20.000000123Z");
}

TEST(RecordTest, BadFieldsAreNamed) {
  auto with = [](std::string_view key, bj::value v) {
    auto o = toJson(sample());
    o[key] = std::move(v);
    auto r = recordFromJson(o);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_THAT(with("time", "yesterday"), HasSubstr("record.time"));
  EXPECT_THAT(with("level", "loud"), HasSubstr("record.level: 'loud'"));
  EXPECT_THAT(with("component", "scheduler"), HasSubstr("record.component"));
  EXPECT_THAT(with("msg", 42), HasSubstr("record.msg"));
  EXPECT_THAT(with("node", bj::string(kMaxNameBytes + 1, 'n')), HasSubstr("record.node"));
  EXPECT_THAT(recordFromJson(bj::value("x")).error().message, HasSubstr("expected an object"));
}

TEST(RecordTest, LongOrInvalidMessagesAreCutAndCleanedNotRefused) {
  auto o = toJson(sample());
  o["msg"] = bj::string(kMaxMessageBytes + 100, 'a');
  auto r = recordFromJson(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->msg.size(), kMaxMessageBytes);
  o["msg"] = "bad \xff byte";
  r = recordFromJson(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->msg, "bad \xEF\xBF\xBD byte");
}

TEST(RecordTest, LevelsParseByName) {
  EXPECT_EQ(parseLevel("warning"), Level::kWarn);
  EXPECT_EQ(parseLevel("critical"), Level::kCritical);
  EXPECT_EQ(parseLevel("WARN"), std::nullopt);
  EXPECT_EQ(levelName(Level::kError), "error");
}

TEST(RecordTest, BatchesAreBoundedAndABadRecordFailsTheBatch) {
  Batch b{{sample(), sample()}, 3};
  auto back = batchFromJson(toJson(b), 10);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->missed, 3u);
  EXPECT_THAT(batchFromJson(toJson(b), 1).error().message, HasSubstr("more than 1"));
  auto o = toJson(b);
  o["records"].as_array()[1].as_object()["level"] = "x";
  EXPECT_THAT(batchFromJson(o, 10).error().message, HasSubstr("records[1]: record.level"));
  EXPECT_THAT(batchFromJson(bj::object{}, 10).error().message, HasSubstr("records"));
}

}  // namespace
}  // namespace oak::logs
