#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "metrics/process_metrics.h"
#include "promtool.h"
#include "temp_dir.h"

namespace oak::metrics {
namespace {

using ::testing::HasSubstr;

// A /proc with the files the reader looks at, for a process whose name holds ") (".
class FakeProc {
 public:
  FakeProc() {
    std::filesystem::create_directories(dir_.file("self/fd"));
    for (int fd : {0, 1, 2, 7}) std::ofstream(dir_.file("self/fd/" + std::to_string(fd)));
    // Fields 1-24: pid, comm, state, ppid ... utime=14 stime=15 ... num_threads=20,
    // starttime=22, vsize=23, rss=24.
    write("self/stat",
          "42 (odd) (name) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 6 0 5000 "
          "104857600 300 18446744073709551615\n");
    write("self/limits",
          "Limit                     Soft Limit           Hard Limit           Units     \n"
          "Max open files            1024                 524288               files     \n");
    write("stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n");
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name)) << text;
  }
  std::string root() const { return dir_.path().string(); }

 private:
  oak::testing::TempDir dir_;
};

TEST(ProcessMetricsTest, ReadsStatLimitsAndDescriptors) {
  FakeProc proc;
  auto s = readProcessSample(proc.root());
  ASSERT_TRUE(s) << s.error().message;
  double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 400 / hz);
  EXPECT_EQ(s->threads, 6);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1700000000 + 5000 / hz);
  EXPECT_EQ(s->virtual_bytes, 104857600);
  EXPECT_EQ(s->resident_bytes, 300.0 * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(s->open_fds, 4);
  EXPECT_EQ(s->max_fds, 1024);
}

TEST(ProcessMetricsTest, MalformedStatIsAnErrorOtherFilesAreOptional) {
  FakeProc proc;
  std::filesystem::remove(proc.root() + "/self/limits");
  std::filesystem::remove(proc.root() + "/stat");
  auto s = readProcessSample(proc.root());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->max_fds, 0);
  EXPECT_EQ(s->start_time_seconds, 0);
  proc.write("self/stat", "42 (truncated) S 1 2\n");
  EXPECT_FALSE(readProcessSample(proc.root()));
  EXPECT_FALSE(readProcessSample(proc.root() + "/missing"));
}

TEST(ProcessMetricsTest, ThisProcess) {
  auto s = readProcessSample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GT(s->resident_bytes, 1 << 20);
  EXPECT_GE(s->open_fds, 3);
  EXPECT_GE(s->threads, 1);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(s->start_time_seconds, now + 1);
  EXPECT_GT(s->start_time_seconds, now - 24 * 3600);
}

TEST(ProcessMetricsTest, ExportsStandardNamesThatPromtoolAccepts) {
  Registry r;
  addProcessMetrics(r, "test");
  std::string text = r.render();
  for (const char* name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_start_time_seconds ", "process_virtual_memory_bytes ", "process_threads ",
        "oakestra_log_messages_total{level=\"error\"} "}) {
    EXPECT_THAT(text, HasSubstr(name));
  }
  EXPECT_THAT(text, HasSubstr("oakestra_build_info{component=\"test\",version=\"" +
                              std::string(OAK_VERSION_STRING) + "\"} 1\n"));
  EXPECT_TRUE(oak::testing::promtoolAccepts(text));
}

TEST(ProcessMetricsTest, AnUnreadableProcLeavesTheProcessFamiliesOut) {
  Registry r;
  addProcessMetrics(r, "test", "/nonexistent");
  EXPECT_THAT(r.render(), ::testing::Not(HasSubstr("process_")));
}

}  // namespace
}  // namespace oak::metrics
