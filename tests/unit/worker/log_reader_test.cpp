#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "log_test_util.h"
#include "temp_dir.h"
#include "worker/logs/log_reader.h"
#include "worker/logs/log_writer.h"

namespace oak::worker {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
namespace fs = std::filesystem;

constexpr uint64_t kTinyRecord = 33;  // a record of a one-character line

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

class LogReaderTest : public ::testing::Test {
 protected:
  std::string dir() const { return (tmp_.path() / "job.instance.0").string(); }
  std::unique_ptr<LogWriter> writer(LogStream s, LogLimits limits = {}) {
    auto w = std::make_unique<LogWriter>(dir(), s, limits, clock_);
    EXPECT_TRUE(w->open());
    return w;
  }
  // Writes lines "<from>" to "<to>", one per clock step of 1 ms.
  void writeNumbers(LogWriter& w, int from, int to) {
    for (int i = from; i <= to; ++i) {
      clock_.advance(1ms);
      ASSERT_TRUE(w.write(std::to_string(i) + "\n"));
    }
  }
  LogReader reader() const { return LogReader(dir()); }

  testing::TempDir tmp_;
  SimulatedClock clock_;
};

TEST_F(LogReaderTest, TailsTheLastLinesOldestFirst) {
  auto w = writer(LogStream::kStdout);
  writeNumbers(*w, 1, 10);
  auto lines = reader().tail(LogSelect::kStdout, 3);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_THAT(textOf(*lines), ElementsAre("8", "9", "10"));
  EXPECT_EQ((*lines)[2].time, epochPlus(10ms));
  EXPECT_EQ((*lines)[2].stream, LogStream::kStdout);
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStdout, 100)),
              ::testing::ElementsAreArray(numbers(1, 10)));
  EXPECT_THAT(*reader().tail(LogSelect::kStdout, 0), IsEmpty());
}

TEST_F(LogReaderTest, TailsAcrossRotatedFiles) {
  auto w = writer(LogStream::kStdout, {3 * kTinyRecord, 4});
  writeNumbers(*w, 1, 9);  // three files of three lines
  ASSERT_TRUE(fs::exists(dir() + "/stdout.log.2"));
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStdout, 7)),
              ::testing::ElementsAreArray(numbers(3, 9)));
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStdout, 3)), ElementsAre("7", "8", "9"));
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStdout, 4)), ElementsAre("6", "7", "8", "9"));
  writeNumbers(*w, 1, 9);  // the oldest files are gone: 4 files of 3 lines
  EXPECT_EQ(reader().tail(LogSelect::kStdout, 1000)->size(), 12u);
}

TEST_F(LogReaderTest, RecordsAcrossChunkBoundariesComeOutWhole) {
  auto w = writer(LogStream::kStdout);
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::string line = std::to_string(i) + std::string(static_cast<size_t>(i * 37 % 300), 'x');
    expected.push_back(line);
    ASSERT_TRUE(w->write(line + "\n"));
  }
  auto lines = reader().tail(LogSelect::kStdout, 2500);
  ASSERT_TRUE(lines);
  EXPECT_EQ(textOf(*lines), std::vector<std::string>(expected.begin() + 500, expected.end()));
}

TEST_F(LogReaderTest, StopsAtTheByteBudget) {
  auto w = writer(LogStream::kStdout);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(w->write(std::string(100, 'a' + i % 26) + "\n"));
  auto lines = reader().tail(LogSelect::kStdout, 100, 1000);
  ASSERT_TRUE(lines);
  EXPECT_EQ(lines->size(), 10u);
  EXPECT_EQ(lines->back().line, std::string(100, 'a' + 99 % 26));
}

TEST_F(LogReaderTest, MergesBothStreamsByTime) {
  auto out = writer(LogStream::kStdout);
  auto err = writer(LogStream::kStderr);
  ASSERT_TRUE(out->write("o1\n"));
  clock_.advance(1ms);
  ASSERT_TRUE(err->write("e1\n"));
  ASSERT_TRUE(out->write("o2\n"));  // same time as e1: stdout first
  clock_.advance(1ms);
  ASSERT_TRUE(err->write("e2\n"));
  clock_.advance(1ms);
  ASSERT_TRUE(out->write("o3\n"));
  auto all = reader().tail(LogSelect::kAll, 10);
  ASSERT_TRUE(all);
  EXPECT_THAT(textOf(*all), ElementsAre("o1", "o2", "e1", "e2", "o3"));
  EXPECT_EQ((*all)[2].stream, LogStream::kStderr);
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kAll, 3)), ElementsAre("e1", "e2", "o3"));
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStderr, 10)), ElementsAre("e1", "e2"));
}

TEST_F(LogReaderTest, MissingDirectoryIsNotFoundAndMissingFilesAreEmpty) {
  auto missing = reader().tail(LogSelect::kAll, 10);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  fs::create_directories(dir());
  auto empty = reader().tail(LogSelect::kAll, 10);
  ASSERT_TRUE(empty);
  EXPECT_THAT(*empty, IsEmpty());
}

TEST_F(LogReaderTest, SanitizesBytesAndKeepsLinesWithoutTimestampsInPlace) {
  fs::create_directories(dir());
  appendRaw(dir() + "/stdout.log",
            "2023-11-14T22:13:20.000000000Z ok\n"
            "no timestamp here\n"
            "2023-11-14T22:13:21.000000000Z bad \xFF byte\n");
  appendRaw(dir() + "/stderr.log", "2023-11-14T22:13:20.500000000Z err\n");
  auto all = reader().tail(LogSelect::kAll, 10);
  ASSERT_TRUE(all);
  EXPECT_THAT(textOf(*all), ElementsAre("ok", "no timestamp here", "err", "bad \xEF\xBF\xBD byte"));
  EXPECT_EQ((*all)[1].time, epochPlus());
}

TEST_F(LogReaderTest, AFileWithoutFinalNewlineStillYieldsItsLastRecordWhenRotated) {
  fs::create_directories(dir());
  appendRaw(dir() + "/stdout.log.1", "2023-11-14T22:13:20.000000000Z cut sho");
  appendRaw(dir() + "/stdout.log", "2023-11-14T22:13:21.000000000Z next\n");
  EXPECT_THAT(textOf(*reader().tail(LogSelect::kStdout, 10)), ElementsAre("cut sho", "next"));
}

TEST_F(LogReaderTest, FollowDeliversLinesAppendedAfterTheTail) {
  auto w = writer(LogStream::kStdout);
  writeNumbers(*w, 1, 5);
  auto followed = reader().follow(LogSelect::kStdout, 2);
  ASSERT_TRUE(followed);
  EXPECT_THAT(textOf(followed->lines), ElementsAre("4", "5"));
  auto& f = *followed->follower;
  EXPECT_THAT(f.poll(), IsEmpty());
  writeNumbers(*w, 6, 7);
  EXPECT_THAT(textOf(f.poll()), ElementsAre("6", "7"));
  EXPECT_THAT(f.poll(), IsEmpty());
  EXPECT_FALSE(f.gone());
}

TEST_F(LogReaderTest, FollowWaitsForTheEndOfAPartialRecord) {
  fs::create_directories(dir());
  std::string path = dir() + "/stdout.log";
  appendRaw(path, "2023-11-14T22:13:20.000000000Z one\n2023-11-14T22:13:20.000000000Z tw");
  auto followed = reader().follow(LogSelect::kStdout, 10);
  ASSERT_TRUE(followed);
  EXPECT_THAT(textOf(followed->lines), ElementsAre("one"));
  EXPECT_THAT(followed->follower->poll(), IsEmpty());
  appendRaw(path, "o\n");
  EXPECT_THAT(textOf(followed->follower->poll()), ElementsAre("two"));
}

TEST_F(LogReaderTest, FollowSurvivesRotation) {
  // Three records per file, and three new records per poll: one rotation between polls.
  auto w = writer(LogStream::kStdout, {3 * (kTinyRecord + 1), 3});
  writeNumbers(*w, 1, 2);
  auto followed = reader().follow(LogSelect::kStdout, 0);
  ASSERT_TRUE(followed);
  EXPECT_THAT(followed->lines, IsEmpty());
  auto& f = *followed->follower;
  // Each poll sees the file it reads rotated away once.
  std::vector<std::string> seen;
  for (int i = 3; i <= 20; i += 3) {
    writeNumbers(*w, i, i + 2);
    for (auto& s : textOf(f.poll())) seen.push_back(s);
  }
  EXPECT_EQ(seen, numbers(3, 20));
}

TEST_F(LogReaderTest, FollowPicksUpAStreamThatAppearsLater) {
  auto out = writer(LogStream::kStdout);
  auto followed = reader().follow(LogSelect::kAll, 10);
  ASSERT_TRUE(followed);
  auto err = std::make_unique<LogWriter>(dir(), LogStream::kStderr, LogLimits{}, clock_);
  clock_.advance(1ms);
  ASSERT_TRUE(err->write("late\n"));
  clock_.advance(1ms);
  ASSERT_TRUE(out->write("out\n"));
  auto lines = followed->follower->poll();
  EXPECT_THAT(textOf(lines), ElementsAre("late", "out"));
  EXPECT_EQ(lines[0].stream, LogStream::kStderr);
}

TEST_F(LogReaderTest, FollowReadsInBoundedSteps) {
  auto w = writer(LogStream::kStdout);
  auto followed = reader().follow(LogSelect::kStdout, 0);
  ASSERT_TRUE(followed);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(w->write(std::string(100, 'z') + "\n"));
  size_t total = 0, polls = 0;
  for (; polls < 100 && total < 1000; ++polls) {
    auto got = followed->follower->poll(10 * 1024);
    EXPECT_LE(got.size(), 10 * 1024 / 130 + 1);
    total += got.size();
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_GT(polls, 5u);
}

TEST_F(LogReaderTest, FollowEndsWhenTheDirectoryIsRemoved) {
  auto w = writer(LogStream::kStdout);
  auto followed = reader().follow(LogSelect::kAll, 0);
  ASSERT_TRUE(followed);
  ASSERT_TRUE(w->write("last words\n"));
  fs::remove_all(dir());
  EXPECT_THAT(textOf(followed->follower->poll()), ElementsAre("last words"));
  EXPECT_TRUE(followed->follower->gone());
}

}  // namespace
}  // namespace oak::worker
