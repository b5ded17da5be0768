#include <gtest/gtest.h>

#include "log_test_util.h"
#include "worker/logs/log_format.h"

namespace oak::worker {
namespace {

using namespace std::chrono_literals;

TEST(LogFormat, TimestampsHaveNineFractionDigitsInUtc) {
  EXPECT_EQ(formatTimestamp(epochPlus()), "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(formatTimestamp(epochPlus(123456789ns)), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(formatTimestamp(Clock::TimePoint{}), "1970-01-01T00:00:00.000000000Z");
}

TEST(LogFormat, ParsesWhatItFormatsAndShorterFractions) {
  for (auto d : {0ns, 1ns, 999999999ns, 86399s + 5ns}) {
    auto t = epochPlus(d);
    EXPECT_EQ(parseTimestamp(formatTimestamp(t)), t) << formatTimestamp(t);
  }
  EXPECT_EQ(parseTimestamp("2023-11-14T22:13:20Z"), epochPlus());
  EXPECT_EQ(parseTimestamp("2023-11-14T22:13:20.5Z"), epochPlus(500ms));
  EXPECT_EQ(parseTimestamp("2024-02-29T00:00:00.000001Z"),
            Clock::TimePoint(std::chrono::sys_days(std::chrono::year(2024) / 2 / 29) + 1us));
}

TEST(LogFormat, RejectsMalformedTimestamps) {
  for (const char* bad :
       {"", "hello", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20.1234567891Z", "2023-02-30T00:00:00Z", "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20+01:00", "2023-11-14T22:13:20Zx"}) {
    EXPECT_FALSE(parseTimestamp(bad)) << bad;
  }
}

TEST(LogFormat, SplitsRecords) {
  std::string_view line;
  EXPECT_EQ(splitRecord("2023-11-14T22:13:20.000000000Z hello world", line), epochPlus());
  EXPECT_EQ(line, "hello world");
  EXPECT_EQ(splitRecord("2023-11-14T22:13:20.000000000Z ", line), epochPlus());
  EXPECT_EQ(line, "");
  EXPECT_FALSE(splitRecord("garbage without time", line));
  EXPECT_EQ(line, "garbage without time");
}

TEST(LogFormat, SanitizesInvalidUtf8) {
  EXPECT_EQ(sanitizeUtf8("plain ascii"), "plain ascii");
  EXPECT_EQ(sanitizeUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"), "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_EQ(sanitizeUtf8("a\xFF"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitizeUtf8("\xC3"), "\xEF\xBF\xBD");                  // truncated sequence
  EXPECT_EQ(sanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(sanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitizeUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(LogFormat, Utf8PrefixDoesNotCutSequences) {
  EXPECT_EQ(utf8Prefix("abc", 10), 3u);
  EXPECT_EQ(utf8Prefix("abcdef", 4), 4u);
  EXPECT_EQ(utf8Prefix("ab\xC3\xA9", 3), 2u);
  EXPECT_EQ(utf8Prefix("a\xF0\x9F\x98\x80", 3), 1u);
  EXPECT_EQ(utf8Prefix("a\xF0\x9F\x98\x80"
                       "b",
                       5),
            5u);
}

TEST(LogFormat, NamesFiles) {
  EXPECT_EQ(logFileName(LogStream::kStdout), "stdout.log");
  EXPECT_EQ(logFileName(LogStream::kStderr, 2), "stderr.log.2");
  EXPECT_EQ(logDirFor("/data/logs", "a.b.instance.0"), "/data/logs/a.b.instance.0");
}

}  // namespace
}  // namespace oak::worker
