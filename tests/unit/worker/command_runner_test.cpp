#include "worker/host/command_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace oak::worker {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

TEST(SystemCommandRunnerTest, CapturesStandardOutputAndExitCode) {
  SystemCommandRunner runner;
  auto out = runner.run({"sh", "-c", "echo hello; echo noise >&2; exit 3"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->out, "hello\n");
  EXPECT_EQ(out->exit_code, 3);
}

TEST(SystemCommandRunnerTest, ReadsLargeOutputCompletely) {
  SystemCommandRunner runner;
  auto out = runner.run({"sh", "-c", "head -c 200000 /dev/zero"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->out.size(), 200000u);
  EXPECT_EQ(out->exit_code, 0);
}

TEST(SystemCommandRunnerTest, AMissingProgramIsNotFound) {
  SystemCommandRunner runner;
  auto out = runner.run({"oak-no-such-program-xyz", "--help"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(out.error().message, HasSubstr("oak-no-such-program-xyz"));
}

TEST(SystemCommandRunnerTest, AnEmptyCommandIsInvalid) {
  SystemCommandRunner runner;
  auto out = runner.run({});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
}

TEST(SystemCommandRunnerTest, AHangingProgramIsKilledAtTheTimeout) {
  SystemCommandRunner runner({milliseconds(200), 1024});
  auto start = steady_clock::now();
  auto out = runner.run({"sleep", "30"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(out.error().message, HasSubstr("no exit within 200 ms"));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(SystemCommandRunnerTest, AProgramThatClosesItsOutputButLingersIsKilled) {
  SystemCommandRunner runner({milliseconds(200), 1024});
  auto start = steady_clock::now();
  auto out = runner.run({"sh", "-c", "exec >&-; exec sleep 30"});
  ASSERT_FALSE(out);
  EXPECT_THAT(out.error().message, HasSubstr("no exit within 200 ms"));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(SystemCommandRunnerTest, TooMuchOutputIsRefused) {
  SystemCommandRunner runner({milliseconds(5000), 1000});
  auto out = runner.run({"sh", "-c", "head -c 5000 /dev/zero"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(out.error().message, HasSubstr("output exceeds 1000 bytes"));
}

TEST(SystemCommandRunnerTest, ASignalledProgramReportsLikeAShell) {
  SystemCommandRunner runner;
  auto out = runner.run({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exit_code, 128 + 9);
}

}  // namespace
}  // namespace oak::worker
