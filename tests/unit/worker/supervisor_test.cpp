#include "worker/runtime/supervisor.h"

#include <gtest/gtest.h>

#include "runtime_test_util.h"
#include "worker/runtime/composing_runtime.h"
#include "worker/runtime/fake_runtime.h"

namespace oak::worker {

void PrintTo(const StatusReport& r, std::ostream* os) {
  *os << "{" << r.job_name << " #" << r.instance << " " << r.status;
  if (!r.status_detail.empty()) *os << " '" << r.status_detail << "'";
  *os << "}";
}

namespace {

using Reports = std::vector<StatusReport>;

StatusReport report(std::string job, int instance, std::string_view status,
                    std::string detail = "") {
  return {std::move(job), instance, std::string(status), std::move(detail)};
}

InstanceSpec oneShot(std::string job, std::string image = "img") {
  auto spec = makeSpec(std::move(job), 0, "docker", std::move(image));
  spec.one_shot = true;
  return spec;
}

// A supervisor over a FakeRuntime named "docker" whose answers come inline or via the loop.
class SupervisorTestBase : public ::testing::Test {
 protected:
  explicit SupervisorTestBase(bool posted)
      : runtime({"docker", true, posted ? &loop : nullptr}),
        supervisor(runtime, [this](const StatusReport& r) {
          reports.push_back(r);
          if (on_report) on_report(r);
        }) {}

  // Lets every posted answer run; a no-op when the runtime answers inline.
  void settle() { oak::worker::settle(loop); }

  EventLoop loop;
  FakeRuntime runtime;
  Reports reports;
  std::function<void(const StatusReport&)> on_report;
  InstanceSupervisor supervisor;
};

class SupervisorTest : public SupervisorTestBase, public ::testing::WithParamInterface<bool> {
 protected:
  SupervisorTest() : SupervisorTestBase(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(Answers, SupervisorTest, ::testing::Values(false, true), answerMode);

TEST_P(SupervisorTest, DeployReportsActive) {
  supervisor.deploy(makeSpec("a.b.c.d", 3));
  settle();
  EXPECT_EQ(reports, Reports{report("a.b.c.d", 3, status::kActive)});
  ASSERT_EQ(runtime.launches().size(), 1u);
  EXPECT_EQ(runtime.launches()[0].taskId(), "a.b.c.d.instance.3");
  EXPECT_TRUE(runtime.running("a.b.c.d.instance.3"));
  ASSERT_EQ(supervisor.running().size(), 1u);
  EXPECT_EQ(supervisor.running()[0].instance, 3);
}

TEST_P(SupervisorTest, ALaunchErrorReportsFailedWithTheError) {
  runtime.scriptImage("ghost", {.launch_error = "pull docker.io/ghost: not found"});
  supervisor.deploy(makeSpec("a", 0, "docker", "ghost"));
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kFailed, "pull docker.io/ghost: not found")});
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_P(SupervisorTest, AnUnsupportedVirtualizationReportsFailedInsteadOfCrashing) {
  supervisor.deploy(makeSpec("a", 0, "wasm"));
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kFailed,
                                    "virtualization 'wasm' is not supported by this worker")});
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_P(SupervisorTest, AnExitReportsDeadWithTheCode) {
  supervisor.deploy(makeSpec("a"));
  settle();
  runtime.exitInstance("a.instance.0", 3);
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kActive),
                              report("a", 0, status::kDead, "exited with code 3")}));
  EXPECT_EQ(supervisor.tracked(), 0u);
  EXPECT_TRUE(supervisor.running().empty());
}

TEST_P(SupervisorTest, ExitCodeZeroOfAServiceIsDead) {
  supervisor.deploy(makeSpec("a"));
  settle();
  runtime.exitInstance("a.instance.0", 0);
  settle();
  EXPECT_EQ(reports.back(), report("a", 0, status::kDead, "exited with code 0"));
}

TEST_P(SupervisorTest, AKilledInstanceIsDeadWithTheReason) {
  supervisor.deploy(makeSpec("a"));
  supervisor.deploy(makeSpec("b"));
  settle();
  runtime.exitInstance("a.instance.0", -1, "killed by the OOM killer");
  runtime.exitInstance("b.instance.0", 137, "SIGKILL");
  settle();
  EXPECT_EQ(reports[2], report("a", 0, status::kDead, "killed by the OOM killer"));
  EXPECT_EQ(reports[3], report("b", 0, status::kDead, "exited with code 137 (SIGKILL)"));
}

TEST_P(SupervisorTest, AOneShotJobThatSucceedsIsCompletedAndNotRestarted) {
  supervisor.deploy(oneShot("job"));
  settle();
  runtime.exitInstance("job.instance.0", 0);
  settle();
  EXPECT_EQ(reports,
            (Reports{report("job", 0, status::kActive), report("job", 0, status::kCompleted)}));
  EXPECT_EQ(runtime.launches().size(), 1u);
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_P(SupervisorTest, AOneShotJobThatFailsIsDead) {
  supervisor.deploy(oneShot("job"));
  settle();
  runtime.exitInstance("job.instance.0", 2);
  settle();
  EXPECT_EQ(reports.back(), report("job", 0, status::kDead, "exited with code 2"));
}

// The original could report ACTIVE after COMPLETED for very short jobs.
TEST_P(SupervisorTest, AJobThatEndsAtOnceReportsActiveFirst) {
  runtime.scriptImage("quick", {.exit_on_launch = 0});
  supervisor.deploy(oneShot("job", "quick"));
  settle();
  EXPECT_EQ(reports,
            (Reports{report("job", 0, status::kActive), report("job", 0, status::kCompleted)}));
}

TEST_P(SupervisorTest, DeleteDestroysAndReportsUndeployedOnly) {
  supervisor.deploy(makeSpec("a", 1));
  settle();
  supervisor.remove("a", 1);
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 1, status::kActive), report("a", 1, status::kUndeployed)}));
  EXPECT_EQ(runtime.destroys(), std::vector<std::string>{"a.instance.1"});
  EXPECT_FALSE(runtime.running("a.instance.1"));
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_P(SupervisorTest, ADuplicateDeployIsFailedAndLeavesTheRunningInstanceAlone) {
  supervisor.deploy(makeSpec("a"));
  settle();
  supervisor.deploy(makeSpec("a", 0, "docker", "other-image"));
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kActive),
                              report("a", 0, status::kFailed, "instance already deployed")}));
  EXPECT_EQ(runtime.launches().size(), 1u);
  EXPECT_TRUE(runtime.destroys().empty());
  EXPECT_TRUE(runtime.running("a.instance.0"));
  ASSERT_EQ(supervisor.running().size(), 1u);
  EXPECT_EQ(supervisor.running()[0].image, "img");
}

TEST_P(SupervisorTest, DeletingAnUnknownInstanceIsUndeployed) {
  supervisor.remove("never.deployed", 4);
  settle();
  EXPECT_EQ(reports, Reports{report("never.deployed", 4, status::kUndeployed)});
  EXPECT_TRUE(runtime.destroys().empty());
}

TEST_P(SupervisorTest, ADeadInstanceCanBeDeployedAgain) {
  supervisor.deploy(makeSpec("a"));
  settle();
  runtime.exitInstance("a.instance.0", 1);
  settle();
  supervisor.deploy(makeSpec("a"));
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kActive),
                              report("a", 0, status::kDead, "exited with code 1"),
                              report("a", 0, status::kActive)}));
  EXPECT_TRUE(runtime.running("a.instance.0"));
}

TEST_P(SupervisorTest, AFailedDeleteKeepsWatchingTheInstanceAndReportsNothing) {
  runtime.scriptImage("sticky", {.destroy_error = "device or resource busy"});
  supervisor.deploy(makeSpec("a", 0, "docker", "sticky"));
  settle();
  supervisor.remove("a", 0);
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kActive)});
  EXPECT_EQ(supervisor.running().size(), 1u);
  runtime.exitInstance("a.instance.0", 9);
  settle();
  EXPECT_EQ(reports.back(), report("a", 0, status::kDead, "exited with code 9"));
}

TEST_P(SupervisorTest, RecoverAdoptsSurvivorsWithoutReporting) {
  runtime.seedRecoverable(makeSpec("a", 1));
  runtime.seedRecoverable(makeSpec("b", 2));
  Captured<Result<std::vector<InstanceSpec>>> recovered;
  supervisor.recover(recovered.callback());
  settle();
  ASSERT_TRUE(recovered.value && *recovered.value);
  EXPECT_EQ((*recovered.value)->size(), 2u);
  EXPECT_TRUE(reports.empty());
  EXPECT_EQ(supervisor.running().size(), 2u);

  runtime.exitInstance("a.instance.1", 5);
  supervisor.remove("b", 2);
  settle();
  supervisor.deploy(makeSpec("a", 1));
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 1, status::kDead, "exited with code 5"),
                     report("b", 2, status::kUndeployed), report("a", 1, status::kActive)}));
}

TEST_P(SupervisorTest, ARecoveryFailureIsPassedOn) {
  runtime.failRecover("containerd unreachable");
  Captured<Result<std::vector<InstanceSpec>>> recovered;
  supervisor.recover(recovered.callback());
  settle();
  ASSERT_TRUE(recovered.value);
  ASSERT_FALSE(*recovered.value);
  EXPECT_EQ(recovered.value->error().message, "containerd unreachable");
}

// The runtime runs the task id but nobody recovered it: the deploy is refused, and the instance
// is still reachable by a delete.
TEST_P(SupervisorTest, AnInstanceOnlyTheRuntimeKnowsIsRefusedThenDeletable) {
  runtime.seedRecoverable(makeSpec("a"));
  runtime.recover([](auto) {});
  settle();
  supervisor.deploy(makeSpec("a"));
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kFailed, "instance already deployed")});
  supervisor.remove("a", 0);
  settle();
  EXPECT_EQ(reports.back(), report("a", 0, status::kUndeployed));
  EXPECT_FALSE(runtime.running("a.instance.0"));
}

TEST_P(SupervisorTest, AReportMayCallBackIntoTheSupervisor) {
  on_report = [this](const StatusReport& r) {
    if (r.status == status::kActive) supervisor.remove(r.job_name, r.instance);
  };
  supervisor.deploy(makeSpec("a"));
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 0, status::kActive), report("a", 0, status::kUndeployed)}));
  EXPECT_EQ(supervisor.tracked(), 0u);
  EXPECT_FALSE(runtime.running("a.instance.0"));
}

TEST_P(SupervisorTest, WorksThroughAComposingRuntime) {
  std::vector<std::unique_ptr<Runtime>> all;
  auto* unikernel = new FakeRuntime({"unikernel", true, GetParam() ? &loop : nullptr});
  all.emplace_back(unikernel);
  ComposingRuntime composing(std::move(all));
  Reports seen;
  InstanceSupervisor sup(composing, [&](const StatusReport& r) { seen.push_back(r); });
  sup.deploy(makeSpec("u", 0, "unikernel"));
  sup.deploy(makeSpec("c", 0, "docker"));
  settle();
  unikernel->exitInstance("u.instance.0", 1);
  settle();
  EXPECT_EQ(seen, (Reports{report("u", 0, status::kActive),
                           report("c", 0, status::kFailed,
                                  "virtualization 'docker' is not supported by this worker"),
                           report("u", 0, status::kDead, "exited with code 1")}));
}

// A runtime whose instances have always ended by the time anybody waits, and that says so inside
// the `wait` call: the supervisor must still report ACTIVE before the end.
class InstantExitRuntime : public Runtime {
 public:
  std::string name() const override { return "docker"; }
  bool available() const override { return true; }
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override {
    done(std::vector<InstanceSpec>{});
  }
  void launch(const InstanceSpec&, std::function<void(Result<LaunchResult>)> done) override {
    done(LaunchResult::kSuccess);
  }
  void wait(const std::string&, std::function<void(ExitInfo)> on_exit) override {
    on_exit(ExitInfo{0, ""});
  }
  void destroy(const std::string& task_id, std::function<void(Status)> done) override {
    destroyed.push_back(task_id);
    done(makeError(ErrorCode::kNotFound, "gone"));
  }
  void usage(const std::string&, std::function<void(Result<Usage>)> done) override {
    done(makeError(ErrorCode::kNotFound, "gone"));
  }
  std::vector<std::string> list() const override { return {}; }

  std::vector<std::string> destroyed;
};

TEST(InstantExitTest, AnExitInsideWaitIsReportedAfterActive) {
  InstantExitRuntime runtime;
  Reports seen;
  InstanceSupervisor supervisor(runtime, [&](const StatusReport& r) { seen.push_back(r); });
  supervisor.deploy(oneShot("job"));
  supervisor.deploy(makeSpec("svc"));
  EXPECT_EQ(seen, (Reports{report("job", 0, status::kActive), report("job", 0, status::kCompleted),
                           report("svc", 0, status::kActive),
                           report("svc", 0, status::kDead, "exited with code 0")}));
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST(InstantExitTest, ADeleteFromTheActiveReportWinsOverTheExit) {
  InstantExitRuntime runtime;
  Reports seen;
  InstanceSupervisor* self = nullptr;
  InstanceSupervisor supervisor(runtime, [&](const StatusReport& r) {
    seen.push_back(r);
    if (r.status == status::kActive) self->remove(r.job_name, r.instance);
  });
  self = &supervisor;
  supervisor.deploy(makeSpec("svc"));
  EXPECT_EQ(seen,
            (Reports{report("svc", 0, status::kActive), report("svc", 0, status::kUndeployed)}));
  EXPECT_EQ(runtime.destroyed, std::vector<std::string>{"svc.instance.0"});
  EXPECT_EQ(supervisor.tracked(), 0u);
}

// Orderings that only arise when the runtime answers later (as containerd and QEMU do).
class PostedSupervisorTest : public SupervisorTestBase {
 protected:
  PostedSupervisorTest() : SupervisorTestBase(true) {}
};

TEST_F(PostedSupervisorTest, ADeployWhileLaunchingIsFailed) {
  supervisor.deploy(makeSpec("a"));
  supervisor.deploy(makeSpec("a"));
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kFailed, "instance already deployed"),
                              report("a", 0, status::kActive)}));
  EXPECT_EQ(runtime.launches().size(), 1u);
}

TEST_F(PostedSupervisorTest, ADeleteWhileLaunchingDestroysOnceStarted) {
  supervisor.deploy(makeSpec("a"));
  supervisor.remove("a", 0);
  EXPECT_TRUE(supervisor.running().empty());
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kUndeployed)});
  EXPECT_EQ(runtime.destroys(), std::vector<std::string>{"a.instance.0"});
  EXPECT_FALSE(runtime.running("a.instance.0"));
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_F(PostedSupervisorTest, ADeleteWhileALaunchFailsIsUndeployedOnly) {
  runtime.scriptImage("ghost", {.launch_error = "pull failed"});
  supervisor.deploy(makeSpec("a", 0, "docker", "ghost"));
  supervisor.remove("a", 0);
  settle();
  EXPECT_EQ(reports, Reports{report("a", 0, status::kUndeployed)});
  EXPECT_TRUE(runtime.destroys().empty());
}

// The cluster's re-deploy sends delete then deploy for the same task id.
TEST_F(PostedSupervisorTest, ADeployDuringADeleteWaitsForIt) {
  supervisor.deploy(makeSpec("a"));
  settle();
  supervisor.remove("a", 0);
  supervisor.deploy(makeSpec("a", 0, "docker", "v2"));
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kActive), report("a", 0, status::kUndeployed),
                              report("a", 0, status::kActive)}));
  ASSERT_EQ(runtime.launches().size(), 2u);
  EXPECT_EQ(runtime.launches()[1].image, "v2");
  EXPECT_TRUE(runtime.running("a.instance.0"));
  // The old instance's callbacks do not touch the new one.
  runtime.exitInstance("a.instance.0", 4);
  settle();
  EXPECT_EQ(reports.back(), report("a", 0, status::kDead, "exited with code 4"));
}

TEST_F(PostedSupervisorTest, ASecondDeleteCancelsTheDeployThatWaited) {
  supervisor.deploy(makeSpec("a"));
  settle();
  supervisor.remove("a", 0);
  supervisor.deploy(makeSpec("a"));
  supervisor.remove("a", 0);
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 0, status::kActive), report("a", 0, status::kUndeployed)}));
  EXPECT_EQ(runtime.launches().size(), 1u);
  EXPECT_EQ(supervisor.tracked(), 0u);
}

TEST_F(PostedSupervisorTest, ADeployAfterAQueuedOneIsFailed) {
  supervisor.deploy(makeSpec("a"));
  settle();
  supervisor.remove("a", 0);
  supervisor.deploy(makeSpec("a"));
  supervisor.deploy(makeSpec("a"));
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 0, status::kActive),
                     report("a", 0, status::kFailed, "instance already deployed"),
                     report("a", 0, status::kUndeployed), report("a", 0, status::kActive)}));
}

TEST_F(PostedSupervisorTest, ARepeatedDeleteIsAnsweredOnce) {
  supervisor.deploy(makeSpec("a"));
  settle();
  supervisor.remove("a", 0);
  supervisor.remove("a", 0);
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 0, status::kActive), report("a", 0, status::kUndeployed)}));
  EXPECT_EQ(runtime.destroys().size(), 1u);
}

TEST_F(PostedSupervisorTest, AnExitRacingADeleteReportsOnlyUndeployed) {
  supervisor.deploy(makeSpec("a"));
  settle();
  runtime.exitInstance("a.instance.0", 1);  // queued on the loop
  supervisor.remove("a", 0);
  EXPECT_TRUE(supervisor.running().empty());
  settle();
  EXPECT_EQ(reports,
            (Reports{report("a", 0, status::kActive), report("a", 0, status::kUndeployed)}));
}

TEST_F(PostedSupervisorTest, AFailedDeleteFailsTheDeployThatWaited) {
  runtime.scriptImage("sticky", {.destroy_error = "busy"});
  supervisor.deploy(makeSpec("a", 0, "docker", "sticky"));
  settle();
  supervisor.remove("a", 0);
  supervisor.deploy(makeSpec("a", 0, "docker", "v2"));
  settle();
  EXPECT_EQ(reports, (Reports{report("a", 0, status::kActive),
                              report("a", 0, status::kFailed, "instance already deployed")}));
  EXPECT_EQ(runtime.launches().size(), 1u);
  EXPECT_TRUE(runtime.running("a.instance.0"));
}

// Attaches every instance at once with the same network.
struct FixedNetwork final : InstanceNetwork {
  void attach(const InstanceSpec&, std::function<void(Result<NetworkAttachment>)> done) override {
    done(
        NetworkAttachment{"/run/oakestra/w/netns/a.instance.0", "10.18.0.5/26", "10.18.0.1", 1450});
  }
  void detach(const std::string& task_id) override { detached.push_back(task_id); }
  void adopt(const InstanceSpec&) override {}
  void recovered(bool) override {}
  boost::json::object describe(const std::string&) const override { return {}; }
  std::vector<std::string> detached;
};

TEST(SupervisorNetworkTest, TheRuntimeGetsWhatTheNetworkAttached) {
  FakeRuntime runtime;
  FixedNetwork network;
  InstanceSupervisor supervisor(
      runtime, [](const StatusReport&) {}, &network);
  InstanceSpec spec = makeSpec("a");
  spec.nsip = "10.99.0.1/8";  // never what a message says
  supervisor.deploy(spec);
  ASSERT_EQ(runtime.launches().size(), 1u);
  const InstanceSpec launched = runtime.launches()[0];
  EXPECT_EQ(launched.netns_path, "/run/oakestra/w/netns/a.instance.0");
  EXPECT_EQ(launched.nsip, "10.18.0.5/26");
  EXPECT_EQ(launched.gateway, "10.18.0.1");
  EXPECT_EQ(launched.mtu, 1450);
  supervisor.remove("a", 0);
  EXPECT_EQ(network.detached, std::vector<std::string>{"a.instance.0"});
}

TEST(SupervisorNetworkTest, WithoutANetworkInstancesUseTheHostsOwn) {
  FakeRuntime runtime;
  InstanceSupervisor supervisor(runtime, [](const StatusReport&) {});
  InstanceSpec spec = makeSpec("a");
  spec.netns_path = "/somewhere";
  spec.nsip = "10.18.0.5/26";
  supervisor.deploy(spec);
  ASSERT_EQ(runtime.launches().size(), 1u);
  EXPECT_EQ(runtime.launches()[0].netns_path, "");
  EXPECT_EQ(runtime.launches()[0].nsip, "");
}

}  // namespace
}  // namespace oak::worker
