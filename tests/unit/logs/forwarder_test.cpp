#include "logs/forwarder.h"

#include <gtest/gtest.h>

namespace oak::logs {
namespace {

LogRecord rec(Level level, std::string msg) {
  return LogRecord{
      Clock::TimePoint(std::chrono::seconds(1)), level, "worker", "w1", "", std::move(msg)};
}

struct Transport {
  bool up = true;
  std::vector<Batch> batches;
  LogForwarder::Send send() {
    return [this](const Batch& b) {
      if (!up) return false;
      batches.push_back(b);
      return true;
    };
  }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& b : batches) {
      for (const auto& r : b.records) out.push_back(r.msg);
    }
    return out;
  }
};

TEST(LogForwarderTest, SendsNewRecordsAtOrAboveItsLevelOnce) {
  LogBuffer buffer(100);
  Transport t;
  LogForwarder f(buffer, {}, t.send());
  buffer.append(rec(Level::kDebug, "debug"));
  buffer.append(rec(Level::kInfo, "a"));
  buffer.append(rec(Level::kError, "b"));
  f.flush();
  f.flush();
  EXPECT_EQ(t.messages(), (std::vector<std::string>{"a", "b"}));
  buffer.append(rec(Level::kWarn, "c"));
  f.flush();
  EXPECT_EQ(t.messages(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(f.forwarded(), 3u);
}

TEST(LogForwarderTest, WaitsWhileTheTransportIsDownAndReportsWhatTheRingDropped) {
  LogBuffer buffer(3);
  Transport t;
  LogForwarder f(buffer, {}, t.send());
  t.up = false;
  for (int i = 0; i < 5; ++i) buffer.append(rec(Level::kInfo, std::to_string(i)));
  f.flush();
  EXPECT_TRUE(t.batches.empty());
  t.up = true;
  f.flush();
  EXPECT_EQ(t.messages(), (std::vector<std::string>{"2", "3", "4"}));
  ASSERT_EQ(t.batches.size(), 1u);
  EXPECT_EQ(t.batches[0].missed, 2u);
  EXPECT_EQ(f.missed(), 2u);
}

TEST(LogForwarderTest, ABacklogGoesInBoundedBatches) {
  LogBuffer buffer(1000);
  Transport t;
  ForwarderOptions o;
  o.max_batch_records = 10;
  o.max_batches_per_flush = 3;
  LogForwarder f(buffer, o, t.send());
  for (int i = 0; i < 45; ++i) buffer.append(rec(Level::kInfo, std::to_string(i)));
  f.flush();
  EXPECT_EQ(t.batches.size(), 3u);
  f.flush();
  EXPECT_EQ(t.batches.size(), 5u);
  EXPECT_EQ(t.messages().size(), 45u);
  EXPECT_EQ(t.messages().back(), "44");
}

TEST(LogForwarderTest, AForwarderStartedLateSkipsHistoryWhenAsked) {
  LogBuffer buffer(100);
  buffer.append(rec(Level::kInfo, "old"));
  Transport t;
  LogForwarder f(buffer, {}, t.send());
  f.skipExisting();
  buffer.append(rec(Level::kInfo, "new"));
  f.flush();
  EXPECT_EQ(t.messages(), (std::vector<std::string>{"new"}));
}

}  // namespace
}  // namespace oak::logs
