#include "worker/runtime/composing_runtime.h"

#include <gtest/gtest.h>

#include "runtime_test_util.h"
#include "worker/runtime/fake_runtime.h"

namespace oak::worker {
namespace {

// Containers and unikernels; parameterised on whether the fakes answer inline or via the loop.
class ComposingRuntimeTest : public ::testing::TestWithParam<bool> {
 protected:
  ComposingRuntimeTest() {
    EventLoop* l = GetParam() ? &loop : nullptr;
    auto d = std::make_unique<FakeRuntime>(FakeRuntime::Options{"docker", true, l});
    auto u = std::make_unique<FakeRuntime>(FakeRuntime::Options{"unikernel", true, l});
    docker = d.get();
    unikernel = u.get();
    std::vector<std::unique_ptr<Runtime>> all;
    all.push_back(std::move(d));
    all.push_back(std::move(u));
    composing = std::make_unique<ComposingRuntime>(std::move(all));
  }

  Result<LaunchResult> launch(const InstanceSpec& spec) {
    Captured<Result<LaunchResult>> launched;
    composing->launch(spec, launched.callback());
    settle(loop);
    EXPECT_TRUE(launched.value);
    return launched.value.value_or(makeError(ErrorCode::kInternal, "no answer"));
  }

  EventLoop loop;
  FakeRuntime* docker = nullptr;
  FakeRuntime* unikernel = nullptr;
  std::unique_ptr<ComposingRuntime> composing;
};

INSTANTIATE_TEST_SUITE_P(Answers, ComposingRuntimeTest, ::testing::Values(false, true), answerMode);

TEST_P(ComposingRuntimeTest, EachVirtualizationReachesItsRuntime) {
  EXPECT_EQ(*launch(makeSpec("c")), LaunchResult::kSuccess);
  EXPECT_EQ(*launch(makeSpec("u", 0, "unikernel")), LaunchResult::kSuccess);
  ASSERT_EQ(docker->launches().size(), 1u);
  EXPECT_EQ(docker->launches()[0].job_name, "c");
  ASSERT_EQ(unikernel->launches().size(), 1u);
  EXPECT_EQ(unikernel->launches()[0].job_name, "u");
  EXPECT_EQ(composing->list(), (std::vector<std::string>{"c.instance.0", "u.instance.0"}));
}

TEST_P(ComposingRuntimeTest, AnUnknownVirtualizationIsNotSupported) {
  EXPECT_EQ(*launch(makeSpec("x", 0, "wasm")), LaunchResult::kNotSupported);
  EXPECT_TRUE(docker->launches().empty());
  EXPECT_TRUE(unikernel->launches().empty());
}

TEST_P(ComposingRuntimeTest, UnavailableRuntimesAreSkippedAndNotListed) {
  unikernel->setAvailable(false);
  EXPECT_TRUE(composing->available());
  EXPECT_EQ(composing->runtimes(), std::vector<std::string>{"docker"});
  EXPECT_EQ(*launch(makeSpec("u", 0, "unikernel")), LaunchResult::kNotSupported);
  EXPECT_TRUE(unikernel->launches().empty());
  docker->setAvailable(false);
  EXPECT_FALSE(composing->available());
  EXPECT_TRUE(composing->runtimes().empty());
}

TEST_P(ComposingRuntimeTest, ErrorsOfTheChosenRuntimeComeThrough) {
  docker->scriptImage("bad", {.launch_error = "pull failed"});
  auto r = launch(makeSpec("c", 0, "docker", "bad"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "pull failed");
}

TEST_P(ComposingRuntimeTest, ARunningTaskIdIsAlreadyLaunchedWhateverTheVirtualization) {
  ASSERT_EQ(*launch(makeSpec("c")), LaunchResult::kSuccess);
  EXPECT_EQ(*launch(makeSpec("c", 0, "unikernel")), LaunchResult::kAlreadyLaunched);
  EXPECT_TRUE(unikernel->launches().empty());
}

TEST_P(ComposingRuntimeTest, WaitDestroyAndUsageGoToTheOwner) {
  ASSERT_EQ(*launch(makeSpec("u", 0, "unikernel")), LaunchResult::kSuccess);
  unikernel->setUsage("u.instance.0", {1, 2, 3});
  Captured<Result<Usage>> usage;
  composing->usage("u.instance.0", usage.callback());
  Captured<ExitInfo> exit;
  composing->wait("u.instance.0", exit.callback());
  Captured<Status> destroyed;
  composing->destroy("u.instance.0", destroyed.callback());
  settle(loop);
  ASSERT_TRUE(usage.value && *usage.value);
  EXPECT_DOUBLE_EQ((*usage.value)->disk_mb, 3);
  ASSERT_TRUE(exit.value);
  EXPECT_EQ(exit.value->reason, "destroyed");
  ASSERT_TRUE(destroyed.value);
  EXPECT_TRUE(*destroyed.value);
  EXPECT_EQ(unikernel->destroys(), std::vector<std::string>{"u.instance.0"});
  EXPECT_TRUE(docker->destroys().empty());
}

TEST_P(ComposingRuntimeTest, AWaitAfterAnEarlyExitStillGetsTheExit) {
  docker->scriptImage("quick", {.exit_on_launch = 7});
  ASSERT_EQ(*launch(makeSpec("c", 0, "docker", "quick")), LaunchResult::kSuccess);
  EXPECT_TRUE(composing->list().empty());
  Captured<ExitInfo> exit;
  composing->wait("c.instance.0", exit.callback());
  settle(loop);
  ASSERT_TRUE(exit.value);
  EXPECT_EQ(exit.value->exit_code, 7);
}

TEST_P(ComposingRuntimeTest, UnknownTaskIds) {
  Captured<ExitInfo> exit;
  composing->wait("n.instance.0", exit.callback());
  Captured<Status> destroyed;
  composing->destroy("n.instance.0", destroyed.callback());
  Captured<Result<Usage>> usage;
  composing->usage("n.instance.0", usage.callback());
  settle(loop);
  EXPECT_EQ(exit.value->exit_code, -1);
  EXPECT_EQ(exit.value->reason, "unknown instance");
  EXPECT_EQ(destroyed.value->error().code, ErrorCode::kNotFound);
  EXPECT_EQ(usage.value->error().code, ErrorCode::kNotFound);
}

TEST_P(ComposingRuntimeTest, RecoverGathersEveryRuntimeAndSurvivesAFailingOne) {
  docker->seedRecoverable(makeSpec("c", 1));
  docker->seedRecoverable(makeSpec("c", 2));
  unikernel->failRecover("kernel cache unreadable");
  Captured<Result<std::vector<InstanceSpec>>> recovered;
  composing->recover(recovered.callback());
  settle(loop);
  ASSERT_TRUE(recovered.value && *recovered.value);
  ASSERT_EQ((*recovered.value)->size(), 2u);
  EXPECT_EQ(composing->list(), (std::vector<std::string>{"c.instance.1", "c.instance.2"}));
  Captured<Status> destroyed;
  composing->destroy("c.instance.2", destroyed.callback());
  settle(loop);
  EXPECT_TRUE(*destroyed.value);
}

TEST_P(ComposingRuntimeTest, RecoverWithNothingAvailableFindsNothing) {
  docker->setAvailable(false);
  unikernel->setAvailable(false);
  Captured<Result<std::vector<InstanceSpec>>> recovered;
  composing->recover(recovered.callback());
  settle(loop);
  ASSERT_TRUE(recovered.value && *recovered.value);
  EXPECT_TRUE((*recovered.value)->empty());
}

}  // namespace
}  // namespace oak::worker
