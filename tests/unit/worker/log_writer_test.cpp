#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "log_test_util.h"
#include "temp_dir.h"
#include "worker/logs/log_writer.h"

namespace oak::worker {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
namespace fs = std::filesystem;

constexpr size_t kStampBytes = 30;  // "2023-11-14T22:13:20.000000000Z"

// A record of a one-character line: stamp, space, character, newline.
constexpr uint64_t kTinyRecord = kStampBytes + 3;

class LogWriterTest : public ::testing::Test {
 protected:
  fs::path dir() const { return tmp_.path() / "task.instance.0"; }
  fs::path file(int index = 0, LogStream s = LogStream::kStdout) const {
    return dir() / logFileName(s, index);
  }
  LogWriter writer(LogLimits limits = {}, LogStream s = LogStream::kStdout) {
    return LogWriter(dir().string(), s, limits, clock_);
  }

  testing::TempDir tmp_;
  SimulatedClock clock_;
};

TEST_F(LogWriterTest, StampsEachLineWithTheTimeItArrived) {
  auto w = writer();
  ASSERT_TRUE(w.write("hello\nworld\n"));
  clock_.advance(123456789ns);
  ASSERT_TRUE(w.write("later\n"));
  EXPECT_EQ(slurp(file()),
            "2023-11-14T22:13:20.000000000Z hello\n"
            "2023-11-14T22:13:20.000000000Z world\n"
            "2023-11-14T22:13:20.123456789Z later\n");
  EXPECT_EQ(w.droppedBytes(), 0u);
}

TEST_F(LogWriterTest, OpenCreatesTheDirectoryAndAnEmptyFile) {
  auto w = writer();
  ASSERT_TRUE(w.open());
  EXPECT_TRUE(fs::exists(file()));
  EXPECT_EQ(fs::file_size(file()), 0u);
  EXPECT_EQ(fs::status(dir()).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(LogWriterTest, JoinsPiecesOfALineAndStoresItWhenComplete) {
  auto w = writer();
  ASSERT_TRUE(w.write("abc"));
  EXPECT_EQ(slurp(file()), "");
  clock_.advance(1s);
  ASSERT_TRUE(w.write("def\nxyz"));
  EXPECT_EQ(slurp(file()), "2023-11-14T22:13:21.000000000Z abcdef\n");
  ASSERT_TRUE(w.finish());
  EXPECT_THAT(recordLines(file()), ElementsAre("abcdef", "xyz"));
  ASSERT_TRUE(w.finish());  // nothing pending
  EXPECT_THAT(recordLines(file()), ElementsAre("abcdef", "xyz"));
}

TEST_F(LogWriterTest, KeepsEmptyLinesAndArbitraryBytes) {
  auto w = writer();
  std::string binary("\xFF\xFE\0\r", 4);
  ASSERT_TRUE(w.write("\n" + binary + "\n"));
  EXPECT_THAT(recordLines(file()), ElementsAre("", binary));
}

TEST_F(LogWriterTest, SplitsLongLinesIntoRecordsOf16KiB) {
  auto w = writer();
  std::string line(kMaxLineBytes * 2 + 10, 'x');
  ASSERT_TRUE(w.write(line + "\n"));
  EXPECT_THAT(recordLines(file()), ElementsAre(std::string(kMaxLineBytes, 'x'),
                                               std::string(kMaxLineBytes, 'x'), "xxxxxxxxxx"));
}

TEST_F(LogWriterTest, SplitsAnEndlessLineWithoutWaitingForItsEnd) {
  auto w = writer();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(w.write(std::string(1000, 'y')));
  EXPECT_THAT(recordLines(file()), ElementsAre(std::string(kMaxLineBytes, 'y')));
  ASSERT_TRUE(w.finish());
  EXPECT_THAT(recordLines(file()), ElementsAre(std::string(kMaxLineBytes, 'y'),
                                               std::string(20000 - kMaxLineBytes, 'y')));
}

TEST_F(LogWriterTest, SplitsBeforeAMultiByteCharacter) {
  auto w = writer();
  std::string head(kMaxLineBytes - 1, 'a');
  ASSERT_TRUE(w.write(head + "\xC3\xA9z\n"));
  EXPECT_THAT(recordLines(file()), ElementsAre(head, "\xC3\xA9z"));
}

TEST_F(LogWriterTest, AppendLineUsesTheGivenTimeAndSplitsAtNewlines) {
  auto w = writer();
  ASSERT_TRUE(w.appendLine("one\ntwo", epochPlus(5s)));
  EXPECT_EQ(slurp(file()),
            "2023-11-14T22:13:25.000000000Z one\n"
            "2023-11-14T22:13:25.000000000Z two\n");
}

TEST_F(LogWriterTest, RotatesWhenTheNextRecordWouldExceedTheLimit) {
  auto w = writer({2 * kTinyRecord, 3});
  ASSERT_TRUE(w.write("1\n2\n"));  // exactly the limit
  EXPECT_FALSE(fs::exists(file(1)));
  ASSERT_TRUE(w.write("3\n"));
  EXPECT_THAT(recordLines(file(1)), ElementsAre("1", "2"));
  EXPECT_THAT(recordLines(file()), ElementsAre("3"));
  EXPECT_EQ(fs::file_size(file(1)), 2 * kTinyRecord);
}

TEST_F(LogWriterTest, KeepsAtMostMaxFilesNewestFirst) {
  auto w = writer({kTinyRecord, 3});
  ASSERT_TRUE(w.write("1\n2\n3\n4\n5\n6\n7\n"));
  EXPECT_THAT(recordLines(file(0)), ElementsAre("7"));
  EXPECT_THAT(recordLines(file(1)), ElementsAre("6"));
  EXPECT_THAT(recordLines(file(2)), ElementsAre("5"));
  EXPECT_FALSE(fs::exists(file(3)));
}

TEST_F(LogWriterTest, ManyFiles) {
  auto w = writer({kTinyRecord * 2, 12});
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(w.write(std::to_string(i % 10) + "\n"));
  // 40 records, two per file: the newest 24 in 12 files.
  for (int f = 0; f < 12; ++f) {
    int newest = 39 - 2 * f;
    EXPECT_THAT(recordLines(file(f)),
                ElementsAre(std::to_string((newest - 1) % 10), std::to_string(newest % 10)))
        << "file " << f;
  }
  EXPECT_FALSE(fs::exists(file(12)));
}

TEST_F(LogWriterTest, OneFileMeansStartingOver) {
  auto w = writer({kTinyRecord, 1});
  ASSERT_TRUE(w.write("1\n2\n3\n"));
  EXPECT_THAT(recordLines(file()), ElementsAre("3"));
  EXPECT_FALSE(fs::exists(file(1)));
}

TEST_F(LogWriterTest, ARecordLargerThanTheLimitGetsAFileOfItsOwn) {
  auto w = writer({kTinyRecord, 3});
  ASSERT_TRUE(w.write("1\nlong line\n2\n"));
  EXPECT_THAT(recordLines(file(2)), ElementsAre("1"));
  EXPECT_THAT(recordLines(file(1)), ElementsAre("long line"));
  EXPECT_THAT(recordLines(file(0)), ElementsAre("2"));
}

TEST_F(LogWriterTest, ContinuesAnExistingFileAndCountsItsSize) {
  {
    auto w = writer({2 * kTinyRecord, 2});
    ASSERT_TRUE(w.write("1\n"));
  }
  auto w = writer({2 * kTinyRecord, 2});
  ASSERT_TRUE(w.write("2\n3\n"));
  EXPECT_THAT(recordLines(file(1)), ElementsAre("1", "2"));
  EXPECT_THAT(recordLines(file(0)), ElementsAre("3"));
}

TEST_F(LogWriterTest, StreamsHaveTheirOwnFiles) {
  auto out = writer({}, LogStream::kStdout);
  auto err = writer({}, LogStream::kStderr);
  ASSERT_TRUE(out.write("o\n"));
  ASSERT_TRUE(err.write("e\n"));
  EXPECT_THAT(recordLines(dir() / "stdout.log"), ElementsAre("o"));
  EXPECT_THAT(recordLines(dir() / "stderr.log"), ElementsAre("e"));
}

TEST_F(LogWriterTest, DropsOutputOnceTheDirectoryIsRemovedAndDoesNotRecreateIt) {
  auto w = writer({kTinyRecord, 2});
  ASSERT_TRUE(w.write("1\n"));
  fs::remove_all(dir());
  // The open file still takes the record; the rotation that follows cannot open a new file.
  EXPECT_FALSE(w.write("2\n"));
  EXPECT_FALSE(w.write("3\n"));
  EXPECT_FALSE(fs::exists(dir()));
  EXPECT_GE(w.droppedBytes(), kTinyRecord);
}

}  // namespace
}  // namespace oak::worker
