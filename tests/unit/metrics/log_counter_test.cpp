#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "metrics/log_counter.h"

namespace oak::metrics {
namespace {

TEST(LogCounterTest, CountsLinesPerLevelOnceAttached) {
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("counted"));
  spdlog::set_level(spdlog::level::info);
  uint64_t errors = loggedLines("error"), warnings = loggedLines("warn");
  spdlog::error("not counted yet");
  EXPECT_EQ(loggedLines("error"), errors);
  countLogLines();
  countLogLines();  // once is enough: a second call adds nothing
  spdlog::error("one");
  spdlog::warn("two");
  spdlog::warn("three");
  spdlog::debug("below the level: never written, never counted");
  EXPECT_EQ(loggedLines("error"), errors + 1);
  EXPECT_EQ(loggedLines("warn"), warnings + 2);
  EXPECT_EQ(loggedLines("nonsense"), 0u);

  Registry r;
  addLogCollector(r);
  EXPECT_THAT(r.render(), ::testing::HasSubstr("oakestra_log_messages_total{level=\"error\"} " +
                                               std::to_string(errors + 1) + "\n"));
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace oak::metrics
