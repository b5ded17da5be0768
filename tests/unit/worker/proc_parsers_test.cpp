#include "worker/host/proc_parsers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <random>

namespace oak::worker {
namespace {

using ::testing::HasSubstr;

struct ErrorCase {
  std::string text;
  std::string message;
};

// Each text fails to parse with kUnavailable, a message starting with `prefix` and holding the
// case's message.
template <class Parse>
void expectErrors(Parse parse, const std::string& prefix, const std::vector<ErrorCase>& cases) {
  for (const auto& c : cases) {
    auto r = parse(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(r.error().message, ::testing::StartsWith(prefix));
    EXPECT_THAT(r.error().message, HasSubstr(c.message)) << c.text;
  }
}

constexpr std::string_view kStat =
    "cpu  100 5 50 800 40 3 2 0 7 0\n"
    "cpu0 50 2 25 400 20 1 1 0 3 0\n"
    "cpu1 50 3 25 400 20 2 1 0 4 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n"
    "cpu_extra 1 2 3\n";

TEST(ProcStatTest, SumsTheFirstEightCountersAndCountsCpus) {
  auto t = parseProcStat(kStat);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->total, 100u + 5 + 50 + 800 + 40 + 3 + 2 + 0);  // guest (7) is inside user
  EXPECT_EQ(t->idle, 840u);
  EXPECT_EQ(t->cores, 2u);
}

TEST(ProcStatTest, OldKernelsWithFourCountersAreAccepted) {
  auto t = parseProcStat("cpu 10 0 10 80\ncpu0 10 0 10 80\n");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->total, 100u);
  EXPECT_EQ(t->idle, 80u);
}

TEST(ProcStatTest, MalformedContentIsAnErrorNamingTheProblem) {
  expectErrors(
      parseProcStat, "stat: ",
      {
          {"", "no aggregate 'cpu' line"},
          {"cpu0 1 2 3 4\n", "no aggregate 'cpu' line"},
          {"cpu 1 2 3 4\n", "no per-CPU 'cpuN' lines"},
          {"cpu 1 2 3\ncpu0 1 2 3 4\n", "line 1: 'cpu' has 3 counters, expected at least 4"},
          {"cpu 1 x 3 4\ncpu0 1 2 3 4\n", "line 1: counter 2 'x' is not a number"},
          {"cpu 1 -2 3 4\ncpu0 1 2 3 4\n", "counter 2 '-2' is not a number"},
          {"cpu 1 2 3 99999999999999999999999\ncpu0 1 2 3 4\n", "counter 4"},
      });
}

TEST(CpuBusyTest, FirstSampleIsTheShareSinceBoot) {
  CpuTimes now{1000, 750, 2};
  EXPECT_DOUBLE_EQ(cpuBusyPercent(nullptr, now), 25.0);
}

TEST(CpuBusyTest, LaterSamplesCoverTheIntervalOnly) {
  CpuTimes before{1000, 750, 2};
  CpuTimes after{1200, 790, 2};  // 200 ticks, 40 idle
  EXPECT_DOUBLE_EQ(cpuBusyPercent(&before, after), 80.0);
}

TEST(CpuBusyTest, CountersGoingBackwardsOrStandingStillFallBackToSinceBoot) {
  CpuTimes before{1000, 750, 2};
  EXPECT_DOUBLE_EQ(cpuBusyPercent(&before, CpuTimes{500, 250, 1}), 50.0);
  EXPECT_DOUBLE_EQ(cpuBusyPercent(&before, CpuTimes{1000, 750, 2}), 25.0);
  EXPECT_DOUBLE_EQ(cpuBusyPercent(&before, CpuTimes{1100, 700, 2}), 100.0 * 400 / 1100);
}

TEST(CpuBusyTest, StaysWithinZeroAndHundred) {
  EXPECT_DOUBLE_EQ(cpuBusyPercent(nullptr, CpuTimes{0, 0, 1}), 0.0);
  EXPECT_DOUBLE_EQ(cpuBusyPercent(nullptr, CpuTimes{10, 20, 1}), 0.0);  // idle above total
  EXPECT_DOUBLE_EQ(cpuBusyPercent(nullptr, CpuTimes{10, 0, 1}), 100.0);
}

constexpr std::string_view kMemInfo =
    "MemTotal:       16314764 kB\n"
    "MemFree:         1234567 kB\n"
    "MemAvailable:    8157382 kB\n"
    "Buffers:          100000 kB\n"
    "HugePages_Total:       0\n";

TEST(MemInfoTest, ReadsTotalAndAvailable) {
  auto m = parseMemInfo(kMemInfo);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->total_kb, 16314764u);
  EXPECT_EQ(m->available_kb, 8157382u);
}

TEST(MemInfoTest, MalformedContentIsAnErrorNamingTheField) {
  expectErrors(
      parseMemInfo, "meminfo: ",
      {
          {"", "meminfo: MemTotal missing"},
          {"MemTotal: 100 kB\n", "meminfo: MemAvailable missing"},
          {"MemTotal: lots kB\nMemAvailable: 1 kB\n", "meminfo: MemTotal: 'lots kB' is not a"},
          {"MemTotal: 100 MB\nMemAvailable: 1 kB\n", "MemTotal: '100 MB'"},
          {"MemTotal: 100 kB\nMemAvailable:\n", "MemAvailable: ''"},
          {"MemTotal: 100 kB extra\nMemAvailable: 1 kB\n", "MemTotal: '100 kB extra'"},
      });
}

TEST(NvidiaSmiTest, QueriesTheFieldsTheParserReads) {
  EXPECT_EQ(
      nvidiaSmiCommand(),
      (std::vector<std::string>{
          "nvidia-smi", "--query-gpu=name,driver_version,memory.total,memory.free,utilization.gpu",
          "--format=csv,noheader,nounits"}));
}

TEST(NvidiaSmiTest, ParsesOneLinePerGpu) {
  auto gpus = parseNvidiaSmi(
      "NVIDIA GeForce RTX 3090, 535.129.03, 24576, 24000, 7\n"
      "Tesla T4, 535.129.03, 15360, 15000, 100\n");
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].name, "NVIDIA GeForce RTX 3090");
  EXPECT_EQ(gpus[0].driver, "535.129.03");
  EXPECT_EQ(gpus[0].memory_total_mb, 24576u);
  EXPECT_EQ(gpus[0].memory_free_mb, 24000u);
  EXPECT_DOUBLE_EQ(gpus[0].utilization_percent, 7.0);
  EXPECT_EQ(gpus[1].name, "Tesla T4");
  EXPECT_DOUBLE_EQ(gpus[1].utilization_percent, 100.0);
}

TEST(NvidiaSmiTest, UnmeasurableValuesReadAsZero) {
  auto gpus = parseNvidiaSmi("GRID A100, 470.1, [N/A], 100, [Not Supported]\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].memory_total_mb, 0u);
  EXPECT_EQ(gpus[0].memory_free_mb, 100u);
  EXPECT_DOUBLE_EQ(gpus[0].utilization_percent, 0.0);
}

TEST(NvidiaSmiTest, NamesWithCommasKeepTheirCommas) {
  auto gpus = parseNvidiaSmi("Odd, Name, 1.0, 10, 5, 1\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].name, "Odd, Name");
  EXPECT_EQ(gpus[0].driver, "1.0");
}

TEST(NvidiaSmiTest, ShortLinesAreSkippedAndBlankOutputMeansNoGpu) {
  EXPECT_TRUE(parseNvidiaSmi("").empty());
  EXPECT_TRUE(parseNvidiaSmi("\n\n").empty());
  auto gpus = parseNvidiaSmi("No devices were found\nTesla T4, 1, 2, 3, 4\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].name, "Tesla T4");
}

TEST(GoArchTest, MapsKernelMachineNames) {
  EXPECT_EQ(goArch("x86_64"), "amd64");
  EXPECT_EQ(goArch("aarch64"), "arm64");
  EXPECT_EQ(goArch("armv7l"), "arm");
  EXPECT_EQ(goArch("armv6l"), "arm");
  EXPECT_EQ(goArch("i686"), "386");
  EXPECT_EQ(goArch("i386"), "386");
  EXPECT_EQ(goArch("riscv64"), "riscv64");
  EXPECT_EQ(goArch("ppc64le"), "ppc64le");
  EXPECT_EQ(goArch("s390x"), "s390x");
  EXPECT_EQ(goArch("x86_64\n"), "amd64");
  EXPECT_EQ(goArch("mips"), "mips");
}

// Whatever bytes a broken /proc or driver produces, the parsers answer instead of crashing.
TEST(ParserRobustnessTest, RandomInputNeverCrashes) {
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);  // thousands of "ignoring line" warnings otherwise
  std::mt19937 rng(42);
  const std::string alphabet = "cpu0123456789 \n:,kBMemTotalAvailable[N/A]-x\t\r";
  for (int i = 0; i < 3000; ++i) {
    std::string text(rng() % 120, ' ');
    for (char& ch : text) ch = alphabet[rng() % alphabet.size()];
    (void)parseProcStat(text);
    (void)parseMemInfo(text);
    for (const auto& gpu : parseNvidiaSmi(text)) EXPECT_LE(gpu.utilization_percent, 100.0);
  }
  spdlog::set_level(level);
}

}  // namespace
}  // namespace oak::worker
