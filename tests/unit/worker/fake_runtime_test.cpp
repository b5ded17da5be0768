#include "worker/runtime/fake_runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "runtime_test_util.h"

namespace oak::worker {
namespace {

TEST(FakeRuntimeTest, WithoutALoopAnswersInsideTheCall) {
  FakeRuntime rt;
  Captured<Result<LaunchResult>> launched;
  rt.launch(makeSpec("a"), launched.callback());
  ASSERT_TRUE(launched.value);
  EXPECT_EQ(**launched.value, LaunchResult::kSuccess);
  EXPECT_TRUE(rt.running("a.instance.0"));
  EXPECT_EQ(rt.list(), std::vector<std::string>{"a.instance.0"});
}

TEST(FakeRuntimeTest, WithALoopAnswersOnTheLoop) {
  EventLoop loop;
  FakeRuntime rt({"docker", true, &loop});
  Captured<Result<LaunchResult>> launched;
  rt.launch(makeSpec("a"), launched.callback());
  EXPECT_FALSE(launched.value);
  settle(loop);
  ASSERT_TRUE(launched.value);
  EXPECT_EQ(**launched.value, LaunchResult::kSuccess);
}

TEST(FakeRuntimeTest, AnotherVirtualizationIsNotSupportedAndNotRecorded) {
  FakeRuntime rt({"unikernel", true, nullptr});
  Captured<Result<LaunchResult>> launched;
  rt.launch(makeSpec("a"), launched.callback());
  EXPECT_EQ(**launched.value, LaunchResult::kNotSupported);
  EXPECT_TRUE(rt.launches().empty());
}

TEST(FakeRuntimeTest, UnavailableRefusesLaunches) {
  FakeRuntime rt({"docker", false, nullptr});
  EXPECT_FALSE(rt.available());
  Captured<Result<LaunchResult>> launched;
  rt.launch(makeSpec("a"), launched.callback());
  ASSERT_FALSE(*launched.value);
  EXPECT_EQ(launched.value->error().code, ErrorCode::kUnavailable);
  rt.setAvailable(true);
  EXPECT_TRUE(rt.available());
}

TEST(FakeRuntimeTest, ScriptedLaunchFailure) {
  FakeRuntime rt;
  rt.scriptImage("bad", {.launch_error = "pull failed: not found"});
  Captured<Result<LaunchResult>> launched;
  rt.launch(makeSpec("a", 0, "docker", "bad"), launched.callback());
  ASSERT_FALSE(*launched.value);
  EXPECT_EQ(launched.value->error().message, "pull failed: not found");
  EXPECT_FALSE(rt.running("a.instance.0"));
  EXPECT_EQ(rt.launches().size(), 1u);
}

TEST(FakeRuntimeTest, ASecondLaunchOfTheSameTaskIdIsAlreadyLaunched) {
  FakeRuntime rt;
  Captured<Result<LaunchResult>> first;
  Captured<Result<LaunchResult>> second;
  rt.launch(makeSpec("a"), first.callback());
  rt.launch(makeSpec("a"), second.callback());
  EXPECT_EQ(**second.value, LaunchResult::kAlreadyLaunched);
}

TEST(FakeRuntimeTest, WaitCompletesOnExit) {
  FakeRuntime rt;
  rt.launch(makeSpec("a"), [](auto) {});
  Captured<ExitInfo> exit;
  rt.wait("a.instance.0", exit.callback());
  EXPECT_FALSE(exit.value);
  rt.exitInstance("a.instance.0", 4);
  ASSERT_TRUE(exit.value);
  EXPECT_EQ(exit.value->exit_code, 4);
  EXPECT_EQ(exit.value->reason, "");
  EXPECT_FALSE(rt.running("a.instance.0"));
}

TEST(FakeRuntimeTest, AnExitBeforeTheWaitIsKeptForIt) {
  FakeRuntime rt;
  rt.scriptImage("quick", {.exit_on_launch = 0});
  rt.launch(makeSpec("a", 0, "docker", "quick"), [](auto) {});
  EXPECT_FALSE(rt.running("a.instance.0"));
  Captured<ExitInfo> exit;
  rt.wait("a.instance.0", exit.callback());
  ASSERT_TRUE(exit.value);
  EXPECT_EQ(exit.value->exit_code, 0);
  // Only once.
  Captured<ExitInfo> again;
  rt.wait("a.instance.0", again.callback());
  EXPECT_EQ(again.value->reason, "unknown instance");
}

TEST(FakeRuntimeTest, DestroyEndsWaitersThenCompletes) {
  FakeRuntime rt;
  rt.launch(makeSpec("a"), [](auto) {});
  std::vector<std::string> order;
  rt.wait("a.instance.0", [&](ExitInfo e) { order.push_back("exit:" + e.reason); });
  rt.destroy("a.instance.0", [&](Status s) { order.push_back(s ? "done" : "error"); });
  EXPECT_EQ(order, (std::vector<std::string>{"exit:destroyed", "done"}));
  EXPECT_EQ(rt.destroys(), std::vector<std::string>{"a.instance.0"});
}

TEST(FakeRuntimeTest, DestroyOfAnUnknownTaskIsNotFound) {
  FakeRuntime rt;
  Captured<Status> destroyed;
  rt.destroy("nope.instance.0", destroyed.callback());
  ASSERT_FALSE(*destroyed.value);
  EXPECT_EQ(destroyed.value->error().code, ErrorCode::kNotFound);
}

TEST(FakeRuntimeTest, ScriptedDestroyFailureLeavesTheInstanceRunning) {
  FakeRuntime rt;
  rt.scriptImage("sticky", {.destroy_error = "device busy"});
  rt.launch(makeSpec("a", 0, "docker", "sticky"), [](auto) {});
  Captured<Status> destroyed;
  rt.destroy("a.instance.0", destroyed.callback());
  ASSERT_FALSE(*destroyed.value);
  EXPECT_EQ(destroyed.value->error().message, "device busy");
  EXPECT_TRUE(rt.running("a.instance.0"));
}

TEST(FakeRuntimeTest, UsageOfRunningInstances) {
  FakeRuntime rt;
  rt.launch(makeSpec("a"), [](auto) {});
  rt.setUsage("a.instance.0", {12.5, 64, 3});
  Captured<Result<Usage>> usage;
  rt.usage("a.instance.0", usage.callback());
  ASSERT_TRUE(*usage.value);
  EXPECT_DOUBLE_EQ((*usage.value)->cpu_percent, 12.5);
  EXPECT_DOUBLE_EQ((*usage.value)->memory_mb, 64);
  rt.usage("b.instance.0", usage.callback());
  EXPECT_EQ(usage.value->error().code, ErrorCode::kNotFound);
}

TEST(FakeRuntimeTest, RecoverReturnsSeededInstancesOnce) {
  FakeRuntime rt;
  rt.seedRecoverable(makeSpec("a", 1));
  Captured<Result<std::vector<InstanceSpec>>> recovered;
  rt.recover(recovered.callback());
  ASSERT_TRUE(*recovered.value);
  ASSERT_EQ((*recovered.value)->size(), 1u);
  EXPECT_EQ((*recovered.value)->at(0).taskId(), "a.instance.1");
  EXPECT_TRUE(rt.running("a.instance.1"));
  rt.recover(recovered.callback());
  EXPECT_TRUE((*recovered.value)->empty());
  rt.failRecover("state lost");
  rt.recover(recovered.callback());
  ASSERT_FALSE(*recovered.value);
  EXPECT_EQ(recovered.value->error().message, "state lost");
}

// Runs a loop on a thread of its own; stops and joins it however the test ends.
class LoopThread {
 public:
  explicit LoopThread(EventLoop& loop) : loop_(loop), thread_([&loop] { loop.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  EventLoop& loop_;
  std::thread thread_;
};

// The multi-node fixture ends instances from the test thread while the worker's loop runs.
TEST(FakeRuntimeTest, ExitFromAnotherThreadRunsWaitersOnTheLoop) {
  EventLoop loop;
  FakeRuntime rt({"docker", true, &loop});
  std::promise<std::thread::id> waited_on;
  std::promise<void> launched;
  loop.post([&] {
    rt.launch(makeSpec("a"), [&](auto) {
      rt.wait("a.instance.0", [&](ExitInfo) { waited_on.set_value(std::this_thread::get_id()); });
      launched.set_value();
    });
  });
  LoopThread loop_thread(loop);
  ASSERT_EQ(launched.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  rt.exitInstance("a.instance.0", 1);
  auto waited = waited_on.get_future();
  ASSERT_EQ(waited.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waited.get(), loop_thread.id());
}

}  // namespace
}  // namespace oak::worker
