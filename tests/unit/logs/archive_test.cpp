#include "logs/archive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace oak::logs {
namespace {

LogRecord rec(int i, Level level = Level::kInfo) {
  return LogRecord{Clock::TimePoint(std::chrono::seconds(1'700'000'000 + i)),
                   level,
                   "cluster",
                   "c1",
                   "c1",
                   "record " + std::to_string(i)};
}

TEST(LogArchiveTest, RecordsSurviveAReopenAndACutLastLineIsSkipped) {
  testing::TempDir dir;
  std::string path = dir.file("control.log");
  {
    auto a = LogArchive::open({path});
    ASSERT_TRUE(a) << a.error().message;
    for (int i = 0; i < 5; ++i) (*a)->write(rec(i));
  }
  std::ofstream(path, std::ios::app) << "{\"time\":\"2026-";  // a crash mid-line
  auto a = LogArchive::open({path});
  ASSERT_TRUE(a);
  auto recent = (*a)->recent(3);
  ASSERT_EQ(recent.size(), 2u);  // the last 3 lines hold two whole records
  EXPECT_EQ(recent[0], rec(3));
  EXPECT_EQ(recent[1], rec(4));
}

TEST(LogArchiveTest, FilesRotateBySizeAndTheirNumberIsBounded) {
  testing::TempDir dir;
  std::string path = dir.file("control.log");
  auto a = LogArchive::open({path, 4096, 2});
  ASSERT_TRUE(a);
  for (int i = 0; i < 500; ++i) (*a)->write(rec(i, Level::kError));
  (*a)->flush();
  EXPECT_TRUE(std::filesystem::exists(dir.file("control.1.log")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("control.2.log")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("control.3.log")));
  EXPECT_LE(std::filesystem::file_size(path), 4096u);
  auto recent = (*a)->recent(1);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0], rec(499, Level::kError));
}

TEST(LogArchiveTest, AnArchivedLogStartsWithWhatTheLastRunKeptAndArchivesWhatIsAdded) {
  testing::TempDir dir;
  std::string path = dir.file("control.log");
  {
    auto log = openArchivedLog({path}, 100);
    ASSERT_TRUE(log) << log.error().message;
    log->buffer->append(rec(1));
    log->buffer->append(rec(2));
  }
  auto log = openArchivedLog({path}, 100);
  ASSERT_TRUE(log);
  log->buffer->append(rec(3));
  auto page = log->buffer->readAfter(0, {}, 100);
  ASSERT_EQ(page.records.size(), 3u);
  EXPECT_EQ(page.records[0], rec(1));
  EXPECT_EQ(page.records[2], rec(3));
  log->archive->flush();
  EXPECT_EQ(log->archive->recent(100).size(), 3u);  // each record once
}

TEST(LogArchiveTest, AnUnwritablePathIsAClearError) {
  auto a = LogArchive::open({"/proc/no-such-dir/control.log"});
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("/proc/no-such-dir/control.log"), std::string::npos);
}

}  // namespace
}  // namespace oak::logs
