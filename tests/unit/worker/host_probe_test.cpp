#include "worker/host/host_probe.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"
#include "worker/host/command_runner.h"

namespace oak::worker {
namespace {

using ::testing::HasSubstr;

// Answers every command with one scripted result and remembers what it was asked.
class ScriptedRunner : public CommandRunner {
 public:
  explicit ScriptedRunner(Result<CommandOutput> answer) : answer_(std::move(answer)) {}
  Result<CommandOutput> run(const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return answer_;
  }
  std::vector<std::vector<std::string>> calls;

 private:
  Result<CommandOutput> answer_;
};

constexpr std::string_view kStat =
    "cpu  300 0 100 600 0 0 0 0 0 0\n"
    "cpu0 100 0 50 300 0 0 0 0 0 0\n"
    "cpu1 100 0 25 150 0 0 0 0 0 0\n"
    "cpu2 100 0 25 150 0 0 0 0 0 0\n";
constexpr std::string_view kMemInfo = "MemTotal: 8388608 kB\nMemAvailable: 2097152 kB\n";

class HostProbeTest : public ::testing::Test {
 protected:
  HostProbeTest() {
    write("stat", kStat);
    write("meminfo", kMemInfo);
    write("sys/kernel/hostname", "edge-7\n");
    write("sys/kernel/arch", "aarch64\n");
  }

  void write(const std::string& relative, std::string_view content) {
    auto path = dir.path() / "proc" / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }

  LinuxHostProbe probe(CommandRunner* runner = nullptr) {
    return LinuxHostProbe({(dir.path() / "proc").string(), dir.path().string(), runner});
  }

  testing::TempDir dir;
};

TEST_F(HostProbeTest, ReadsTheFixtureTree) {
  ScriptedRunner runner(CommandOutput{0, "Tesla T4, 535.1, 15360, 15000, 12\n"});
  auto p = probe(&runner);
  auto s = p.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->hostname, "edge-7");
  EXPECT_EQ(s->arch, "arm64");
  EXPECT_EQ(s->cores, 3u);
  EXPECT_DOUBLE_EQ(s->cpu_usage_percent, 40.0);  // since boot: 400 busy of 1000
  EXPECT_EQ(s->memory_total_mb, 8192u);
  EXPECT_EQ(s->memory_available_mb, 2048u);
  EXPECT_GT(s->disk_total_mb, 0u);
  EXPECT_LE(s->disk_free_mb, s->disk_total_mb);
  ASSERT_EQ(s->gpus.size(), 1u);
  EXPECT_EQ(s->gpus[0].name, "Tesla T4");
  EXPECT_EQ(s->gpus[0].memory_total_mb, 15360u);
  EXPECT_DOUBLE_EQ(s->gpus[0].utilization_percent, 12.0);
  ASSERT_EQ(runner.calls.size(), 1u);
  EXPECT_EQ(runner.calls[0], nvidiaSmiCommand());
}

TEST_F(HostProbeTest, CpuUsageCoversTheIntervalSinceThePreviousSample) {
  auto p = probe();
  ASSERT_TRUE(p.sample());
  // +100 ticks, of which 90 idle.
  write("stat", "cpu  305 0 105 690 0 0 0 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\ncpu2 1 1 1 1\n");
  auto s = p.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_DOUBLE_EQ(s->cpu_usage_percent, 10.0);
}

TEST_F(HostProbeTest, AFailedSampleDoesNotMoveTheCpuBaseline) {
  auto p = probe();
  ASSERT_TRUE(p.sample());
  write("meminfo", "MemTotal: 1 kB\n");
  write("stat", "cpu  305 0 105 690 0 0 0 0 0 0\ncpu0 1 1 1 1\n");
  EXPECT_FALSE(p.sample());
  write("meminfo", kMemInfo);
  write("stat", "cpu  310 0 110 780 0 0 0 0 0 0\ncpu0 1 1 1 1\n");
  auto s = p.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_DOUBLE_EQ(s->cpu_usage_percent, 10.0);  // against the first sample: 20 busy of 200
}

TEST_F(HostProbeTest, AbsentNvidiaSmiMeansNoGpusAndNoError) {
  ScriptedRunner missing(makeError(ErrorCode::kNotFound, "nvidia-smi: program not found"));
  auto p = probe(&missing);
  auto s = p.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->gpus.empty());
}

TEST_F(HostProbeTest, FailingNvidiaSmiMeansNoGpusAndNoError) {
  ScriptedRunner no_driver(CommandOutput{9, "NVIDIA-SMI has failed\n"});
  auto p1 = probe(&no_driver);
  auto s = p1.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->gpus.empty());

  ScriptedRunner hung(makeError(ErrorCode::kUnavailable, "nvidia-smi: no exit within 5000 ms"));
  auto p2 = probe(&hung);
  s = p2.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->gpus.empty());
}

TEST_F(HostProbeTest, WithoutARunnerNoGpuDetectionRuns) {
  auto p = probe(nullptr);
  auto s = p.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->gpus.empty());
}

TEST_F(HostProbeTest, MalformedProcFilesAreErrorsNamingTheFile) {
  struct Case {
    std::string file;
    std::string content;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {"stat", "garbage\n", "stat: no aggregate 'cpu' line"},
           {"stat", "cpu a b c d\ncpu0 1 1 1 1\n", "stat: line 1: counter 1 'a'"},
           {"meminfo", "MemTotal: 12 kB\n", "meminfo: MemAvailable missing"},
           {"meminfo", "MemTotal: ?? kB\nMemAvailable: 1 kB\n", "meminfo: MemTotal: '?? kB'"},
           {"sys/kernel/hostname", "\n", "sys/kernel/hostname: empty"},
           {"sys/kernel/arch", "", "sys/kernel/arch: empty"},
       }) {
    write("stat", kStat);
    write("meminfo", kMemInfo);
    write("sys/kernel/hostname", "edge-7\n");
    write("sys/kernel/arch", "aarch64\n");
    write(c.file, c.content);
    auto s = probe().sample();
    ASSERT_FALSE(s) << c.file << ": " << c.content;
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(s.error().message, HasSubstr(c.message));
  }
}

TEST_F(HostProbeTest, MissingProcFilesAreErrorsNamingTheFile) {
  std::filesystem::remove(dir.path() / "proc" / "meminfo");
  auto s = probe().sample();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("meminfo: cannot read"));
}

TEST_F(HostProbeTest, WithoutAnArchFileTheKernelIsAsked) {
  std::filesystem::remove(dir.path() / "proc" / "sys" / "kernel" / "arch");
  utsname names{};
  ASSERT_EQ(::uname(&names), 0);
  auto s = probe().sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->arch, goArch(names.machine));
}

TEST_F(HostProbeTest, AMissingDiskPathIsAnError) {
  LinuxHostProbe p({(dir.path() / "proc").string(), (dir.path() / "nowhere").string(), nullptr});
  auto s = p.sample();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("disk " + (dir.path() / "nowhere").string()));
}

// The real /proc of this machine, and the real nvidia-smi if there is one.
TEST(RealHostProbeTest, SamplesThisMachine) {
  SystemCommandRunner commands;
  LinuxHostProbe probe({"/proc", "/", &commands});
  auto first = probe.sample();
  ASSERT_TRUE(first) << first.error().message;
  auto s = probe.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->hostname.empty());
#if defined(__x86_64__)
  EXPECT_EQ(s->arch, "amd64");
#elif defined(__aarch64__)
  EXPECT_EQ(s->arch, "arm64");
#endif
  EXPECT_GE(s->cores, 1u);
  EXPECT_GE(s->cpu_usage_percent, 0.0);
  EXPECT_LE(s->cpu_usage_percent, 100.0);
  EXPECT_GT(s->memory_total_mb, 0u);
  EXPECT_GT(s->memory_available_mb, 0u);
  EXPECT_LE(s->memory_available_mb, s->memory_total_mb);
  EXPECT_GT(s->disk_total_mb, 0u);
  EXPECT_LE(s->disk_free_mb, s->disk_total_mb);
  if (!s->ipv4.empty()) {
    in_addr addr{};
    EXPECT_EQ(::inet_pton(AF_INET, s->ipv4.c_str(), &addr), 1) << s->ipv4;
    EXPECT_NE(s->ipv4.rfind("127.", 0), 0u) << s->ipv4;
  }
  EXPECT_EQ(s->ipv4, firstNonLoopbackIpv4());
}

}  // namespace
}  // namespace oak::worker
