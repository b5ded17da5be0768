// A cluster and real worker agents in one process: the orchestrator and every WorkerAgent share an
// in-memory broker on one EventLoop; workers run a FakeRuntime and sample a fixed host. The test
// thread drives the loop, so every step is deterministic; time is a SimulatedClock.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/orchestrator.h"
#include "cluster_test_util.h"
#include "common/clock.h"
#include "common/json.h"
#include "http/event_loop.h"
#include "mqtt/memory_bus.h"
#include "store/memory_store.h"
#include "worker/agent/agent.h"
#include "worker/host/host_probe.h"
#include "worker/runtime/composing_runtime.h"
#include "worker/runtime/fake_runtime.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace std::chrono_literals;

// The host as the worker samples it; the test may change it between ticks.
class FixedProbe final : public worker::HostProbe {
 public:
  explicit FixedProbe(worker::HostSnapshot s) : snapshot_(std::move(s)) {}
  Result<worker::HostSnapshot> sample() override {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }
  void setCpuUsage(double percent) {
    std::lock_guard lock(mutex_);
    snapshot_.cpu_usage_percent = percent;
  }

 private:
  std::mutex mutex_;  // sampled on the loop's blocking pool
  worker::HostSnapshot snapshot_;
};

struct Node {
  std::string id, name;
  std::unique_ptr<FixedProbe> probe;
  worker::FakeRuntime* fake = nullptr;  // owned by `runtime`
  std::unique_ptr<worker::ComposingRuntime> runtime;
  std::unique_ptr<mqtt::MessageBus> bus;
  std::unique_ptr<worker::WorkerAgent> agent;
};

class ClusterWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OrchestratorOptions o;
    o.name = "edge-1";
    o.worker_lease = 30s;
    o.root_heartbeat = 30s;
    orch_ =
        std::make_unique<Orchestrator>(Orchestrator::Deps{store_, clock_, *bus_, root_.sink()}, o);
    for (const auto& topic : Orchestrator::subscriptions()) bus_->subscribe(topic, 1);
    bus_->onMessage([this](const mqtt::Message& m) { orch_->onBusMessage(m); });
    settle();
  }

  void TearDown() override {
    settle();
    nodes_.clear();
  }

  // Registers a worker, starts its agent and lets it send its first report.
  Node& addNode(const std::string& name, unsigned cores, uint64_t memory_mb) {
    auto account = orch_->registerWorker(name);
    EXPECT_TRUE(account);
    auto n = std::make_unique<Node>();
    n->id = account->id;
    n->name = name;
    worker::HostSnapshot s;
    s.hostname = name + ".local";
    s.arch = "amd64";
    s.cores = cores;
    s.memory_total_mb = memory_mb;
    s.memory_available_mb = memory_mb;
    s.disk_total_mb = 100000;
    s.disk_free_mb = 100000;
    s.ipv4 = fmt::format("10.0.0.{}", nodes_.size() + 1);
    n->probe = std::make_unique<FixedProbe>(s);
    auto fake = std::make_unique<worker::FakeRuntime>(worker::FakeRuntime::Options{
        .name = "docker", .available = true, .loop = &loop_, .capabilities = {{"engine", "fake"}}});
    n->fake = fake.get();
    std::vector<std::unique_ptr<worker::Runtime>> runtimes;
    runtimes.push_back(std::move(fake));
    n->runtime = std::make_unique<worker::ComposingRuntime>(std::move(runtimes));
    n->bus = broker_.connect(n->id + "-ne");
    n->agent = std::make_unique<worker::WorkerAgent>(loop_, clock_, *n->bus, *n->probe, *n->runtime,
                                                     worker::AgentOptions{n->id, {}, 10s});
    n->agent->start();
    auto& ref = *n;
    nodes_.push_back(std::move(n));
    settle();
    tickWorker(ref);
    return ref;
  }

  // Runs every ready handler of the loop, including those they post.
  void settle() {
    loop_.context().restart();
    while (loop_.context().poll() > 0) loop_.context().restart();
  }

  // Drives the loop until `done` holds (bounded).
  void waitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
      settle();
      if (!done()) std::this_thread::yield();
    }
  }

  // One sampling cycle of a worker, up to the cluster having handled what it sent. The pool has
  // one thread, so a marker queued after the sample completes after the sample's reply is posted.
  void tickWorker(Node& n) {
    n.agent->tick();
    bool marker = false;
    loop_.runBlocking([] {}, [&marker] { marker = true; });
    waitFor([&] { return marker; });
    settle();
  }

  void tickCluster() {
    orch_->tick();
    settle();
  }

  void fromRoot(const std::string& text) {
    orch_->onRootMessage(text);
    settle();
  }

  std::string statusOf(const std::string& sid, int64_t n) const {
    return statusIn(orch_->instances(), sid, n);
  }

  static std::string taskId(int n) { return worker::InstanceSpec::makeTaskId(kJob, n); }

  // How many messages `w` published on nodes/<id>/<suffix>.
  size_t sent(const Node& w, const std::string& suffix) const {
    size_t n = 0;
    for (const auto& m : broker_.published())
      n += m.topic == fmt::format("nodes/{}/{}", w.id, suffix);
    return n;
  }

  EventLoop loop_{1};  // one blocking thread: tickWorker relies on its order
  SimulatedClock clock_;
  store::InMemoryStore store_;
  mqtt::InMemoryBroker broker_{&loop_};
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("cluster-edge-1");
  RootInbox root_;
  std::unique_ptr<Orchestrator> orch_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterWorkersTest, WorkerReportsMakeThemActiveAndReachTheRootAsAnAggregate) {
  addNode("w1", 4, 4096);
  addNode("w2", 8, 16384);
  auto workers = orch_->workerResources();
  ASSERT_THAT(workers, SizeIs(2));
  for (const auto& v : workers) {
    const auto& o = v.as_object();
    EXPECT_TRUE(o.at("active").as_bool());
    // The registered name, not the host name the agent reports.
    EXPECT_TRUE(o.at("name") == "w1" || o.at("name") == "w2");
    EXPECT_EQ(o.at("runtimes"), bj::value(bj::array{"docker"}));
    // What the runtimes say about themselves travels with the report.
    EXPECT_EQ(o.at("capabilities"), bj::parse(R"({"docker":{"engine":"fake"}})"));
  }
  // Each worker reaches the root as soon as it is active, not a tick later; the tick then has
  // nothing new to say.
  auto r = root_.resources();
  ASSERT_THAT(r, SizeIs(2));
  EXPECT_EQ(r[0].at("nodes").to_number<int>(), 1);
  EXPECT_EQ(r[1].at("nodes").to_number<int>(), 2);
  EXPECT_EQ(r[1].at("cores_total").to_number<double>(), 12);
  EXPECT_EQ(r[1].at("memory_total_mb").to_number<double>(), 4096 + 16384);
  EXPECT_EQ(r[1].at("per_arch").at("amd64").at("cores_total").to_number<double>(), 12);
  tickCluster();
  EXPECT_THAT(root_.resources(), SizeIs(2));
}

TEST_F(ClusterWorkersTest, DeployLaunchesOnTheWorkerAndIsReportedRunning) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));

  auto launches = w.fake->launches();
  ASSERT_THAT(launches, SizeIs(1));
  EXPECT_EQ(launches[0].job_name, kJob);
  EXPECT_EQ(launches[0].instance, 0);
  EXPECT_EQ(launches[0].image, "docker.io/library/nginx:latest");
  EXPECT_EQ(launches[0].memory_mb, 100);
  EXPECT_TRUE(w.fake->running(taskId(0)));

  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(2));
  EXPECT_EQ(st[0].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[1].status, "RUNNING");
  EXPECT_EQ(st[1].worker_id, w.id);
  EXPECT_EQ(st[1].worker_name, "w1");
  EXPECT_EQ(st[1].publicip, "10.0.0.1");
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
}

TEST_F(ClusterWorkersTest, CoresAreReservedByVcpusWhateverTheMeasuredLoad) {
  auto& w = addNode("w1", 2, 4096);
  auto workerCoresFree = [&] {
    return orch_->workerResources().at(0).at("cores_free").to_number<double>();
  };
  // A fully busy host still offers its cores: what is promised counts, not the load right now.
  w.probe->setCpuUsage(100);
  tickWorker(w);
  EXPECT_EQ(workerCoresFree(), 2);
  // Two services of one vcpu fit a two-core worker; a third does not.
  fromRoot(deployText(serviceDoc(kSid, kJob, 100, 1), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob, 100, 1), 1));
  tickWorker(w);
  EXPECT_EQ(workerCoresFree(), 0);
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
  EXPECT_EQ(statusOf(kSid, 1), "RUNNING");
  fromRoot(deployText(serviceDoc(kSid, kJob, 100, 1), 2));
  EXPECT_EQ(statusOf(kSid, 2), "NO_WORKER_CAPACITY");
}

TEST_F(ClusterWorkersTest, AnInstanceThatDiesIsReportedDeadAndRedeployed) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_EQ(statusOf(kSid, 0), "RUNNING");
  root_.clear();

  w.fake->exitInstance(taskId(0), 3);
  settle();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "DEAD");
  EXPECT_EQ(st[0].status_detail, "exited with code 3");

  root_.clear();
  tickCluster();
  EXPECT_THAT(root_.statusNames(), ElementsAre("NODE_SCHEDULED", "RUNNING"));
  EXPECT_THAT(w.fake->launches(), SizeIs(2));
  EXPECT_TRUE(w.fake->running(taskId(0)));
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");

  // Stable again: nothing more happens.
  root_.clear();
  tickCluster();
  tickWorker(w);
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_THAT(w.fake->launches(), SizeIs(2));
}

TEST_F(ClusterWorkersTest, AOneShotJobThatSucceedsStaysCompleted) {
  auto& w = addNode("w1", 4, 4096);
  auto doc = serviceDoc(kSid, kJob);
  doc["one_shot"] = true;
  fromRoot(deployText(doc, 0));
  w.fake->exitInstance(taskId(0), 0);
  settle();
  EXPECT_EQ(statusOf(kSid, 0), "COMPLETED");
  tickCluster();
  tickCluster();
  EXPECT_THAT(w.fake->launches(), SizeIs(1));
  EXPECT_EQ(statusOf(kSid, 0), "COMPLETED");
}

TEST_F(ClusterWorkersTest, UndeployDestroysTheInstanceOnTheWorker) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob), 1));
  ASSERT_TRUE(w.fake->running(taskId(1)));
  root_.clear();

  fromRoot(undeployText(kSid, -1));
  EXPECT_THAT(w.fake->destroys(), ElementsAre(taskId(0), taskId(1)));
  EXPECT_FALSE(w.fake->running(taskId(0)));
  EXPECT_FALSE(w.fake->running(taskId(1)));
  EXPECT_THAT(orch_->instances(), IsEmpty());
  tickCluster();
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

TEST_F(ClusterWorkersTest, ALeavingWorkerRemovesItsInstancesWhichMoveAtOnce) {
  auto& w1 = addNode("w1", 2, 2048);  // the best fit
  auto& w2 = addNode("w2", 8, 16384);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_TRUE(w1.fake->running(taskId(0)));

  bool left = false;
  w1.agent->leave(5s, [&left] { left = true; });
  waitFor([&] { return left; });
  EXPECT_EQ(sent(w1, "leave"), 1u);
  EXPECT_FALSE(w1.fake->running(taskId(0)));
  EXPECT_THAT(w1.fake->destroys(), ElementsAre(taskId(0)));
  tickCluster();  // no lease to wait for
  waitFor([&] { return w2.fake->running(taskId(0)); });
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
  EXPECT_THAT(w2.fake->destroys(), IsEmpty());
}

TEST_F(ClusterWorkersTest, ALostWorkersInstanceMovesAndItsStaleCopyGoesWhenItReturns) {
  auto& w1 = addNode("w1", 2, 2048);  // the best fit
  auto& w2 = addNode("w2", 8, 16384);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_TRUE(w1.fake->running(taskId(0)));
  root_.clear();

  // w1 stops reporting (its agent is not ticked); w2 reports every 10 s.
  for (int i = 0; i < 3; ++i) {
    clock_.advance(10s);
    tickWorker(w2);
    tickCluster();
  }
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");  // 30 s: still within the lease
  clock_.advance(1s);
  tickCluster();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(3));
  EXPECT_EQ(st[0].status, "FAILED");
  EXPECT_EQ(st[0].status_detail, "worker 'w1' lost");
  EXPECT_EQ(st[1].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[2].status, "RUNNING");
  EXPECT_EQ(st[2].worker_id, w2.id);
  EXPECT_TRUE(w2.fake->running(taskId(0)));

  // w1 comes back: its copy shows up in its usage report and is removed.
  root_.clear();
  EXPECT_TRUE(w1.fake->running(taskId(0)));
  tickWorker(w1);
  waitFor([&] { return !w1.fake->running(taskId(0)); });
  EXPECT_THAT(w1.fake->destroys(), ElementsAre(taskId(0)));
  EXPECT_TRUE(w2.fake->running(taskId(0)));
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

TEST_F(ClusterWorkersTest, TheOnlyWorkerReturningAfterItsLeaseEndsUpWithOneCopy) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_EQ(statusOf(kSid, 0), "RUNNING");
  clock_.advance(31s);
  tickCluster();
  EXPECT_EQ(statusOf(kSid, 0), "NO_WORKER_CAPACITY");
  root_.clear();

  // Its report (with the old copy in it) comes before the next placement attempt.
  tickWorker(w);
  waitFor([&] { return !w.fake->running(taskId(0)); });
  tickCluster();
  EXPECT_THAT(root_.statusNames(), ElementsAre("NODE_SCHEDULED", "RUNNING"));
  EXPECT_THAT(w.fake->destroys(), ElementsAre(taskId(0)));
  EXPECT_THAT(w.fake->launches(), SizeIs(2));
  EXPECT_TRUE(w.fake->running(taskId(0)));
}

TEST_F(ClusterWorkersTest, AnIdleWorkerSendsHeartbeatsAndAFullReportEveryFiveMinutes) {
  auto& w = addNode("w1", 4, 4096);
  ASSERT_EQ(sent(w, "information"), 1u);
  ASSERT_EQ(sent(w, "jobs/resources"), 1u);  // the first one, empty, goes with the full report
  for (int i = 0; i < 30; ++i) {             // 300 s in report intervals of 10 s
    clock_.advance(10s);
    tickWorker(w);
    tickCluster();
    ASSERT_TRUE(orch_->workerResources()[0].at("active").as_bool()) << i;
  }
  EXPECT_EQ(sent(w, "information"), 2u);  // the safety refresh at 300 s
  EXPECT_EQ(sent(w, "jobs/resources"), 2u);
  EXPECT_EQ(sent(w, "heartbeat"), 29u);
}

TEST_F(ClusterWorkersTest, UsageIsReportedWhenInstancesChangeNotWhileIdle) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_EQ(statusOf(kSid, 0), "RUNNING");
  clock_.advance(10s);
  tickWorker(w);  // the set changed: the instance is reported
  EXPECT_EQ(sent(w, "jobs/resources"), 2u);
  clock_.advance(10s);
  tickWorker(w);  // unchanged usage: a heartbeat instead
  EXPECT_EQ(sent(w, "jobs/resources"), 2u);
  EXPECT_EQ(sent(w, "heartbeat"), 1u);
  w.fake->setUsage(taskId(0), {12.5, 64, 1});
  clock_.advance(10s);
  tickWorker(w);
  EXPECT_EQ(sent(w, "jobs/resources"), 3u);
  EXPECT_EQ(sent(w, "heartbeat"), 1u);

  fromRoot(undeployText(kSid, 0));
  clock_.advance(1s);
  tickWorker(w);  // the set changed to nothing: said once
  tickWorker(w);
  EXPECT_EQ(sent(w, "jobs/resources"), 4u);
}

TEST_F(ClusterWorkersTest, ALostWorkerIsAskedForAFullReportWhenItsHeartbeatsReturn) {
  auto& w = addNode("w1", 4, 4096);
  clock_.advance(31s);
  tickCluster();
  ASSERT_FALSE(orch_->workerResources()[0].at("active").as_bool());
  size_t reports = sent(w, "information");

  tickWorker(w);  // a heartbeat; the cluster asks for the rest
  waitFor([&] { return sent(w, "information") == reports + 1; });
  settle();
  EXPECT_TRUE(orch_->workerResources()[0].at("active").as_bool());
  EXPECT_EQ(sent(w, "heartbeat"), 1u);
}

TEST_F(ClusterWorkersTest, ReportsMadeWhileDisconnectedArriveAfterTheReconnect) {
  auto& w = addNode("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  root_.clear();
  auto informations = [&] {
    size_t n = 0;
    for (const auto& m : broker_.published()) {
      if (m.topic == fmt::format("nodes/{}/information", w.id)) ++n;
    }
    return n;
  };
  size_t before = informations();

  broker_.setConnected(w.id + "-ne", false);
  w.fake->exitInstance(taskId(0), 1);
  settle();
  EXPECT_THAT(root_.statuses(), IsEmpty());
  broker_.setConnected(w.id + "-ne", true);
  settle();
  EXPECT_THAT(root_.statusNames(), ElementsAre("DEAD"));

  // Nothing changed and no report is due, yet the cluster gets a full one after a reconnect.
  tickWorker(w);
  EXPECT_EQ(informations(), before + 1);
  tickWorker(w);
  EXPECT_EQ(informations(), before + 1);
}

}  // namespace
}  // namespace oak::cluster
