// ContainerdRuntime against a private containerd and a private registry holding busybox images
// built by the test: pull, run, exit codes, destroy, recovery after a worker restart, and the
// failures a user meets (missing image, missing command, registry gone). Nothing may be left
// behind in containerd after an instance ended.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <signal.h>

#include "auth/password.h"
#include "containerd_daemon.h"
#include "http/event_loop.h"
#include "loop_thread.h"
#include "oci/registry_client.h"
#include "registry.h"
#include "worker/runtime/containerd/containerd_runtime.h"

namespace oak::worker::containerd {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr char kSnapshotter[] = "overlayfs";

// One registry and one image for the whole binary: building and pushing takes a second.
struct Shared {
  std::unique_ptr<testing::LocalRegistry> registry;
  std::string sleeper;  // prints to stdout and stderr, then sleeps
  std::string image;    // plain busybox with sh as cmd
};

Shared& shared() {
  static Shared* s = [] {
    auto* out = new Shared;
    auto registry = testing::LocalRegistry::start();
    if (!registry) {
      ADD_FAILURE() << registry.error().message;
      return out;
    }
    out->registry = std::move(*registry);
    auto plain = testing::pushBusyboxImage(*out->registry, "busybox", "v1");
    if (!plain) {
      ADD_FAILURE() << plain.error().message;
      return out;
    }
    out->image = plain->reference;
    return out;
  }();
  return *s;
}

class ContainerdRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(shared().registry) << "no registry";
    ASSERT_TRUE(daemon_.waitReady(30s));
    loop_thread_.start();
    makeRuntime();
  }

  void TearDown() override {
    runtime_.reset();
    loop_thread_.stop();
    if (HasFailure()) std::cerr << "--- containerd log ---\n" << daemon_.log() << "\n";
  }

  void makeRuntime() {
    auto client = ContainerdClient::connect(daemon_.socket(), ns_);
    ASSERT_TRUE(client) << client.error().message;
    admin_ = (*client)->withLease("");
    auto puller = std::make_unique<ImagePuller>(
        *admin_, std::make_unique<oci::RegistryClient>(oci::RegistryOptions{}), kSnapshotter,
        oci::Platform::host());
    ContainerdRuntimeOptions options;
    options.stop_grace = 2s;
    // Tests may run side by side with the same task ids: keep their cgroups apart (runc's state
    // is kept apart by the namespace).
    options.spec.cgroups_parent = "/" + ns_;
    cgroups_parent_ = options.spec.cgroups_parent;
    runtime_ = onLoop([&] {
      return std::make_unique<ContainerdRuntime>(loop_, std::move(*client), std::move(puller),
                                                 options);
    });
    auto probed = onLoop([&] { return runtime_->probe(10s); });
    ASSERT_TRUE(probed) << probed.error().message;
  }

  // Runs `fn` on the loop thread and returns its result.
  template <typename Fn>
  decltype(std::declval<Fn>()()) onLoop(Fn fn) {
    return loop_thread_.onLoop(std::move(fn));
  }
  template <typename T, typename Start>
  T await(Start start, std::chrono::seconds timeout = 60s) {
    return loop_thread_.await<T>(std::move(start), timeout);
  }

  Result<LaunchResult> launch(const InstanceSpec& spec) {
    return await<Result<LaunchResult>>([&](auto cb) { runtime_->launch(spec, cb); });
  }
  ExitInfo waitExit(const std::string& id, std::chrono::seconds timeout = 60s) {
    return await<ExitInfo>([&](auto cb) { runtime_->wait(id, cb); }, timeout);
  }
  Status destroy(const std::string& id) {
    return await<Status>([&](auto cb) { runtime_->destroy(id, cb); });
  }
  std::vector<std::string> listed() {
    return onLoop([&] { return runtime_->list(); });
  }

  InstanceSpec spec(std::string name, std::vector<std::string> cmd, bool one_shot = false) {
    InstanceSpec s;
    s.job_name = "app.test." + name + ".test";
    s.instance = 0;
    s.virtualization = "docker";
    s.image = shared().image;
    s.cmd = std::move(cmd);
    s.one_shot = one_shot;
    s.memory_mb = 64;
    return s;
  }

  // Nothing of the instance is left in containerd.
  void expectGone(const std::string& id) {
    auto container = admin_->getContainer(id);
    EXPECT_FALSE(container) << id << " still has a container";
    auto task = admin_->getTask(id);
    EXPECT_FALSE(task) << id << " still has a task";
    EXPECT_FALSE(admin_->statSnapshot(kSnapshotter, id)) << id << " still has a snapshot";
  }

  testing::ContainerdDaemon daemon_;
  testing::LoopThread loop_thread_;
  EventLoop& loop_ = loop_thread_.loop();
  std::unique_ptr<ContainerdClient> admin_;
  std::unique_ptr<ContainerdRuntime> runtime_;
  std::string cgroups_parent_;
  const std::string ns_ = "oak-test-" + auth::randomHex(4);
};

TEST_F(ContainerdRuntimeTest, RunsAnInstanceAndDestroysIt) {
  auto s = spec("sleeper", {"sh", "-c", "echo started; exec sleep 600"});
  auto launched = launch(s);
  ASSERT_TRUE(launched) << launched.error().message;
  EXPECT_EQ(*launched, LaunchResult::kSuccess);
  EXPECT_THAT(listed(), ::testing::ElementsAre(s.taskId()));

  auto task = admin_->getTask(s.taskId());
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(task->status, TaskStatus::kRunning);
  // The memory limit reached the cgroup.
  auto usage = await<Result<Usage>>([&](auto cb) { runtime_->usage(s.taskId(), cb); });
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_GT(usage->memory_mb, 0);

  // A second launch of the same task id leaves the first alone.
  auto again = launch(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, LaunchResult::kAlreadyLaunched);

  auto exit = std::async(std::launch::async, [&] { return waitExit(s.taskId()); });
  auto destroyed = destroy(s.taskId());
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  auto info = exit.get();
  EXPECT_EQ(info.reason, "destroyed");
  EXPECT_TRUE(listed().empty());
  expectGone(s.taskId());
}

TEST_F(ContainerdRuntimeTest, ReportsExitCodes) {
  auto ok = spec("ok", {"sh", "-c", "echo done"}, true);
  auto bad = spec("bad", {"sh", "-c", "exit 3"});
  ASSERT_TRUE(launch(ok));
  ASSERT_TRUE(launch(bad));
  auto ok_exit = waitExit(ok.taskId());
  auto bad_exit = waitExit(bad.taskId());
  EXPECT_EQ(ok_exit.exit_code, 0);
  EXPECT_EQ(ok_exit.reason, "");
  EXPECT_EQ(bad_exit.exit_code, 3);
  expectGone(ok.taskId());
  expectGone(bad.taskId());
  // An ended instance is no longer running: destroy says so.
  auto destroyed = destroy(ok.taskId());
  ASSERT_FALSE(destroyed);
  EXPECT_EQ(destroyed.error().code, ErrorCode::kNotFound);
}

TEST_F(ContainerdRuntimeTest, CommandNotInTheImageFailsTheLaunchAndLeavesNothing) {
  auto s = spec("nocmd", {"/no/such/binary"});
  auto launched = launch(s);
  ASSERT_FALSE(launched);
  EXPECT_THAT(launched.error().message, HasSubstr("/no/such/binary"));
  EXPECT_TRUE(listed().empty());
  expectGone(s.taskId());
}

TEST_F(ContainerdRuntimeTest, MissingImageFailsWithTheImageNamed) {
  auto s = spec("noimage", {"true"});
  s.image = shared().registry->host() + "/nope:latest";
  auto launched = launch(s);
  ASSERT_FALSE(launched);
  EXPECT_EQ(launched.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(launched.error().message, HasSubstr("nope"));
  expectGone(s.taskId());
}

TEST_F(ContainerdRuntimeTest, ImageForAnotherPlatformFailsWithThePlatformsNamed) {
  auto foreign = testing::pushMultiPlatformImage(*shared().registry, "foreign", "v1",
                                                 {"linux/s390x", "linux/riscv64"});
  ASSERT_TRUE(foreign) << foreign.error().message;
  auto s = spec("foreign", {"true"});
  s.image = foreign->reference;
  auto launched = launch(s);
  ASSERT_FALSE(launched);
  EXPECT_EQ(launched.error().code, ErrorCode::kUnprocessable);
  EXPECT_THAT(launched.error().message, HasSubstr(oci::Platform::host().str()));
  EXPECT_THAT(launched.error().message, HasSubstr("linux/s390x"));
  expectGone(s.taskId());
}

TEST_F(ContainerdRuntimeTest, ImageAlreadyPresentNeedsNoRegistry) {
  auto first = spec("first", {"true"}, true);
  ASSERT_TRUE(launch(first));
  EXPECT_EQ(waitExit(first.taskId()).exit_code, 0);
  // The image record and its unpacked layers are kept after the instance ended.
  auto image = admin_->getImage(shared().image);
  ASSERT_TRUE(image) << image.error().message;

  // Now from a registry that does not answer: the local copy is used.
  auto second = spec("second", {"true"}, true);
  second.image = shared().image;
  auto unreachable = spec("unreachable", {"true"}, true);
  unreachable.image = "127.0.0.1:1/busybox:v1";
  ASSERT_TRUE(launch(second));
  EXPECT_EQ(waitExit(second.taskId()).exit_code, 0);
  auto failed = launch(unreachable);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable) << failed.error().message;
}

TEST_F(ContainerdRuntimeTest, RestartedWorkerReattachesInsteadOfRestarting) {
  auto running = spec("survivor", {"sh", "-c", "exec sleep 600"});
  auto ending = spec("ender", {"sh", "-c", "sleep 1; exit 7"});
  ASSERT_TRUE(launch(running));
  ASSERT_TRUE(launch(ending));
  auto pid_before = admin_->getTask(running.taskId()).value().pid;

  // The worker goes away: its runtime object is gone, the containers are not.
  runtime_.reset();
  // `ending` exits while nobody watches.
  for (int i = 0; i < 100; ++i) {
    auto t = admin_->getTask(ending.taskId());
    if (t && t->status == TaskStatus::kStopped) break;
    std::this_thread::sleep_for(50ms);
  }
  makeRuntime();
  auto recovered =
      await<Result<std::vector<InstanceSpec>>>([&](auto cb) { runtime_->recover(cb); });
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_THAT(*recovered, ::testing::UnorderedElementsAre(running, ending));
  EXPECT_EQ(admin_->getTask(running.taskId()).value().pid, pid_before);
  EXPECT_THAT(listed(), ::testing::ElementsAre(running.taskId()));
  EXPECT_EQ(waitExit(ending.taskId()).exit_code, 7);
  expectGone(ending.taskId());

  ASSERT_TRUE(destroy(running.taskId()));
  expectGone(running.taskId());
}

TEST_F(ContainerdRuntimeTest, ExitsDuringAContainerdRestartAreNotLost) {
  auto s = spec("restart", {"sh", "-c", "sleep 2; exit 5"});
  ASSERT_TRUE(launch(s));
  pid_t pid = static_cast<pid_t>(admin_->getTask(s.taskId()).value().pid);
  daemon_.stop();
  // The task ends while containerd is down; its shim keeps the exit status for it.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(::kill(pid, 0), 0) << "the task did not end";
  daemon_.restart();
  ASSERT_TRUE(daemon_.waitReady(30s));
  EXPECT_EQ(waitExit(s.taskId(), 60s).exit_code, 5);
  expectGone(s.taskId());
}

}  // namespace
}  // namespace oak::worker::containerd
