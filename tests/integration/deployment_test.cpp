// Deployments end to end with real binaries and real containers: root, a cluster with its
// mosquitto, two workers each on its own namespace of a private containerd, and a private
// registry holding a busybox image the test builds. Users' view only: the root's API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "containerd_cleanup.h"
#include "containerd_daemon.h"
#include "hierarchy_fixture.h"
#include "registry.h"
#include "silent_server.h"
#include "sse_client.h"
#include "worker/runtime/containerd/client.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

class DeploymentTest : public HierarchyTest {
 protected:
  void SetUp() override {
    image_ = sharedBusyboxImage();
    ASSERT_FALSE(image_.empty());
    default_code_ = image_;
    ASSERT_TRUE(containerd_.waitReady(30s));
    HierarchyTest::SetUp();
    waitForRootView(2);
  }

  void TearDown() override {
    HierarchyTest::TearDown();
    for (const auto& name : {"w1", "w2"}) removeContainers(containerd_.socket(), namespaceOf(name));
  }

  std::vector<std::string> workerArgs(const std::string& name) const override {
    return {"--containerd-socket", containerd_.socket(), "--containerd-namespace",
            namespaceOf(name)};
  }

  std::unique_ptr<worker::containerd::ContainerdClient> containerd(const std::string& ns) const {
    return worker::containerd::ContainerdClient::connect(containerd_.socket(), namespaceOf(ns))
        .value();
  }
  // Test cases may run side by side, and runc keeps its state per namespace host-wide.
  std::string namespaceOf(const std::string& worker) const { return worker + "-" + suffix_; }

  ContainerdDaemon containerd_;
  const std::string suffix_ = std::to_string(::getpid());
  std::string image_;
};

TEST_F(DeploymentTest, ServiceRunsWithSeparateLogStreamsAndUndeploysCleanly) {
  auto id =
      deploy({{"microservice_name", "talker"},
              {"cmd", bj::array{"sh", "-c",
                                "echo to-stdout; echo to-stderr >&2; i=0; "
                                "while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"}}});
  auto running = waitForStatus(id, "RUNNING");
  std::string worker = str(running, "worker_name");
  ASSERT_TRUE(worker == "w1" || worker == "w2") << bj::serialize(running);
  auto containers = containerd(worker)->listContainers().value();
  ASSERT_EQ(containers.size(), 1u);

  std::vector<std::string> out, err;
  EXPECT_TRUE(eventually("both streams readable", 10s, [&] {
    out = logLines(id, "stdout");
    err = logLines(id, "stderr");
    return !out.empty() && !err.empty();
  }));
  EXPECT_THAT(out, ::testing::Contains("to-stdout"));
  EXPECT_THAT(out, ::testing::Not(::testing::Contains("to-stderr")));
  EXPECT_THAT(err, ::testing::ElementsAre("to-stderr"));

  // Follow delivers lines written after it started.
  auto follow = SseClient::open(
      root_port_, "/api/service/" + id + "/instance/0/logs?stream=stdout&tail=1&follow=true",
      {adminToken()});
  ASSERT_TRUE(follow);
  ASSERT_EQ(follow->status(), 200);
  std::set<std::string> ticks;
  for (int i = 0; i < 20 && ticks.size() < 3; ++i) {
    auto event = follow->next(5s);
    ASSERT_TRUE(event) << "no new line within 5 s";
    auto parsed = bj::parse(*event);
    if (parsed.is_object() && parsed.as_object().contains("line")) {
      ticks.insert(std::string(parsed.as_object().at("line").as_string()));
    }
  }
  EXPECT_GE(ticks.size(), 3u);
  follow.reset();

  auto down = root().call(Method::kDelete, "/api/service/" + id + "/instance/0", "", adminToken());
  EXPECT_EQ(down.status, 200) << down.body;
  EXPECT_TRUE(eventually("container removed from " + worker, 20s, [&] {
    auto listed = containerd(worker)->listContainers();
    return listed && listed->empty();
  }));
}

TEST_F(DeploymentTest, OneShotCompletesAndAFailingServiceIsRedeployed) {
  auto once = deploy({{"microservice_name", "once"},
                      {"one_shot", true},
                      {"cmd", bj::array{"sh", "-c", "echo finished"}}});
  auto crash = deploy({{"microservice_name", "crash"},
                       {"cmd", bj::array{"sh", "-c", "sleep 1; echo boom >&2; exit 1"}}});
  auto completed = waitForStatus(once, "COMPLETED");
  // The original's `logs` field carries the last lines of an ended instance.
  EXPECT_THAT(str(completed, "logs"), HasSubstr("finished"));

  // The crashing one goes DEAD, then runs again.
  std::vector<std::string> seen;
  EXPECT_TRUE(eventually("crash: DEAD, then RUNNING again", 60s, [&] {
    auto s = str(instance(crash), "status");
    if (seen.empty() || seen.back() != s) seen.push_back(s);
    auto dead = std::find(seen.begin(), seen.end(), "DEAD");
    return dead != seen.end() && std::find(dead, seen.end(), "RUNNING") != seen.end();
  })) << ::testing::PrintToString(seen);
  // The one-shot stayed done meanwhile.
  EXPECT_EQ(str(instance(once), "status"), "COMPLETED");
}

TEST_F(DeploymentTest, RestartedWorkerKeepsItsContainerAndTracksIt) {
  auto id = deploy({{"microservice_name", "steady"}, {"cmd", bj::array{"sleep", "600"}}});
  auto running = waitForStatus(id, "RUNNING");
  std::string worker = str(running, "worker_name");
  auto client = containerd(worker);
  auto containers = client->listContainers().value();
  ASSERT_EQ(containers.size(), 1u);
  auto pid = client->getTask(containers[0].id).value().pid;

  ASSERT_EQ(workers_[worker]->stop(SIGKILL), -SIGKILL);
  ASSERT_NO_FATAL_FAILURE(startWorker(worker));
  EXPECT_TRUE(eventually(worker + " re-attached", 20s, [&] {
    return occurrences(workers_[worker]->log(), "re-attached") >= 1;
  })) << workers_[worker]->log();
  // Same process, same worker, still running, and only one container.
  EXPECT_EQ(client->getTask(containers[0].id).value().pid, pid);
  EXPECT_EQ(client->listContainers().value().size(), 1u);
  auto after = waitForStatus(id, "RUNNING");
  EXPECT_EQ(str(after, "worker_name"), worker);
}

TEST_F(DeploymentTest, AStoppingWorkerGivesUpAPullThatHangs) {
  SilentServer registry;
  deploy({{"microservice_name", "stuck"},
          {"code", fmt::format("127.0.0.1:{}/stuck:v1", registry.port())},
          {"cmd", bj::array{"true"}}});
  ASSERT_TRUE(
      eventually("the pull reached the registry", 30s, [&] { return registry.connections() > 0; }));
  // Without cancellation the worker would wait for the pull's low-speed timeout (30 s).
  for (const auto& name : {"w1", "w2"}) {
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(workers_[name]->stop(SIGTERM, 20s), 0) << workers_[name]->log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << name << " took its time";
  }
}

TEST_F(DeploymentTest, MissingImageFailsWithTheReasonAndTheWorkerCarriesOn) {
  // An image the registry does not have.
  auto id = deploy({{"microservice_name", "ghost"},
                    {"code", image_.substr(0, image_.rfind('/')) + "/nope:v1"},
                    {"cmd", bj::array{"true"}}});
  bj::object failed;
  EXPECT_TRUE(eventually("FAILED naming the image", 30s, [&] {
    failed = instance(id);
    return str(failed, "status") == "FAILED" &&
           str(failed, "status_detail").find("nope") != std::string::npos;
  })) << bj::serialize(failed);
  // The workers are fine and still run what they can.
  auto ok = deploy({{"microservice_name", "fine"}, {"cmd", bj::array{"sleep", "600"}}});
  waitForStatus(ok, "RUNNING");
}

TEST_F(DeploymentTest, DirectConstraintPlacesOnTheNamedWorker) {
  for (const auto& target : {"w2", "w1"}) {
    auto id = deploy(
        {{"microservice_name", std::string("pinned") + target},
         {"cmd", bj::array{"sleep", "600"}},
         {"constraints",
          bj::array{bj::object{{"type", "direct"}, {"node", target}, {"cluster", kClusterName}}}}});
    auto running = waitForStatus(id, "RUNNING");
    EXPECT_EQ(str(running, "worker_name"), target) << bj::serialize(running);
  }
}

TEST_F(DeploymentTest, KilledWorkersInstancesMoveToTheOtherWorker) {
  auto id = deploy({{"microservice_name", "mover"}, {"cmd", bj::array{"sleep", "600"}}});
  std::string first = str(waitForStatus(id, "RUNNING"), "worker_name");
  std::string other = first == "w1" ? "w2" : "w1";
  ASSERT_EQ(workers_[first]->stop(SIGKILL), -SIGKILL);
  bj::object moved;
  EXPECT_TRUE(eventually("running on " + other, 60s, [&] {
    moved = instance(id);
    return str(moved, "status") == "RUNNING" && str(moved, "worker_name") == other;
  })) << bj::serialize(moved);
}

}  // namespace
}  // namespace oak::testing
