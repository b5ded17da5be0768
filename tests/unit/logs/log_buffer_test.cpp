#include "logs/log_buffer.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "logs/capture.h"

namespace oak::logs {
namespace {

LogRecord at(int second, Level level, std::string component, std::string msg) {
  return LogRecord{Clock::TimePoint(std::chrono::seconds(second)),
                   level,
                   std::move(component),
                   "n",
                   "",
                   std::move(msg)};
}

std::vector<std::string> messages(const LogPage& p) {
  std::vector<std::string> out;
  for (const auto& r : p.records) out.push_back(r.msg);
  return out;
}

TEST(LogBufferTest, KeepsTheNewestAndCountsWhatAReaderMissed) {
  LogBuffer b(3);
  for (int i = 1; i <= 5; ++i) b.append(at(i, Level::kInfo, "root", std::to_string(i)));
  EXPECT_EQ(b.lastSequence(), 5u);
  auto page = b.readAfter(0, {}, 100);
  EXPECT_EQ(messages(page), (std::vector<std::string>{"3", "4", "5"}));
  EXPECT_EQ(page.missed, 2u);
  EXPECT_EQ(page.next, 5u);
  EXPECT_TRUE(b.readAfter(5, {}, 100).records.empty());
  EXPECT_EQ(b.readAfter(5, {}, 100).missed, 0u);
}

TEST(LogBufferTest, FiltersByComponentLevelNodeAndTime) {
  LogBuffer b(100);
  b.append(at(1, Level::kInfo, "root", "a"));
  b.append(at(2, Level::kError, "cluster", "b"));
  b.append(at(3, Level::kWarn, "worker", "c"));
  b.append(at(4, Level::kDebug, "worker", "d"));
  LogFilter f;
  f.component = "worker";
  EXPECT_EQ(messages(b.tail(f, 10)), (std::vector<std::string>{"c", "d"}));
  f = {};
  f.min_level = Level::kWarn;
  EXPECT_EQ(messages(b.tail(f, 10)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(b.count(f), 2u);
  f = {};
  f.since = Clock::TimePoint(std::chrono::seconds(3));
  EXPECT_EQ(messages(b.tail(f, 10)), (std::vector<std::string>{"c", "d"}));
  f = {};
  f.node = "other";
  EXPECT_TRUE(b.tail(f, 10).records.empty());
  EXPECT_EQ(messages(b.tail({}, 2)), (std::vector<std::string>{"c", "d"}));
}

TEST(LogBufferTest, ReadsResumeWhereTheyStoppedWithinLimitsOfCountAndBytes) {
  LogBuffer b(100);
  for (int i = 1; i <= 5; ++i) b.append(at(i, Level::kInfo, "root", std::string(100, 'x')));
  auto first = b.readAfter(0, {}, 2);
  EXPECT_EQ(first.records.size(), 2u);
  EXPECT_EQ(first.next, 2u);
  auto second = b.readAfter(first.next, {}, 100, 2 * recordBytes(first.records[0]));
  EXPECT_EQ(second.records.size(), 2u);
  EXPECT_EQ(second.next, 4u);
  // One record always goes, however small the budget.
  EXPECT_EQ(b.readAfter(second.next, {}, 100, 1).records.size(), 1u);
}

TEST(LogBufferTest, CapturesWhatThisProcessLogsFromAnyThread) {
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture-test",
                                                 std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  auto buffer = std::make_shared<LogBuffer>(1000);
  captureLogs(buffer, {"worker", "w1", ""});
  spdlog::trace("not at the logger's level");
  spdlog::warn("pull of {} failed", "busybox");
  std::thread t([] {
    for (int i = 0; i < 100; ++i) spdlog::info("line {}", i);
  });
  t.join();
  spdlog::set_default_logger(previous);

  auto page = buffer->readAfter(0, {}, 1000);
  ASSERT_EQ(page.records.size(), 101u);
  EXPECT_EQ(page.records[0].msg, "pull of busybox failed");
  EXPECT_EQ(page.records[0].level, Level::kWarn);
  EXPECT_EQ(page.records[0].component, "worker");
  EXPECT_EQ(page.records[0].node, "w1");
  EXPECT_EQ(page.records[100].msg, "line 99");
}

}  // namespace
}  // namespace oak::logs
