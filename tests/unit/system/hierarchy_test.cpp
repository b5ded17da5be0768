// The whole hierarchy in one process: the root (applications, scheduler, cluster registry), a
// cluster orchestrator and two worker agents with fake runtimes, joined by an in-memory cluster
// link and an in-memory MQTT broker, on one simulated clock. Lifecycle, lease expiry and
// rescheduling are exercised without sleeping or sockets.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <deque>

#include "cluster/orchestrator.h"
#include "common/json.h"
#include "mqtt/memory_bus.h"
#include "root/cluster_registry.h"
#include "root_fixture.h"
#include "worker/agent/agent.h"
#include "worker/runtime/fake_runtime.h"

namespace oak {
namespace {

namespace bj = boost::json;
using root::coll::kServices;

class FixedProbe final : public worker::HostProbe {
 public:
  Result<worker::HostSnapshot> sample() override {
    worker::HostSnapshot s;
    s.hostname = "host";
    s.arch = "amd64";
    s.cores = 4;
    s.memory_total_mb = 8192;
    s.memory_available_mb = 8192;
    s.disk_total_mb = 100000;
    s.disk_free_mb = 50000;
    s.ipv4 = "198.51.100.9";
    return s;
  }
};

// The root end of the in-memory cluster link.
struct LinkToCluster final : root::ClusterChannel {
  std::deque<std::string>* queue;
  bool closed = false;
  void send(std::string text) override { queue->push_back(std::move(text)); }
  void close(std::string) override { closed = true; }
};

struct Worker {
  std::string id;
  std::string name;
  std::unique_ptr<mqtt::MessageBus> bus;
  worker::FakeRuntime* runtime = nullptr;  // owned by `composing`
  std::unique_ptr<worker::ComposingRuntime> composing;
  FixedProbe probe;
  std::unique_ptr<worker::WorkerAgent> agent;
};

class HierarchyTest : public root::test::RootFixture {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    ctx.clusters = &registry_;
    cluster_bus_ = broker_.connect("cluster");
    cluster::OrchestratorOptions co;
    co.name = "edge";
    co.worker_lease = std::chrono::seconds(30);
    orchestrator_ = std::make_unique<cluster::Orchestrator>(
        cluster::Orchestrator::Deps{cluster_store_, clock, *cluster_bus_,
                                    [this](std::string t) { to_root_.push_back(std::move(t)); }},
        co);
    for (const auto& topic : cluster::Orchestrator::subscriptions())
      cluster_bus_->subscribe(topic, 1);
    cluster_bus_->onMessage([this](const mqtt::Message& m) { orchestrator_->onBusMessage(m); });
    link_->queue = &to_cluster_;
    link_key_ = registry_.attach(link_, "in-process");
    to_root_.push_back(orchestrator_->hello());
    for (const char* name : {"w1", "w2"}) addWorker(name);
    reportAll();
  }

  void addWorker(const std::string& name) {
    auto w = std::make_unique<Worker>();
    auto account = orchestrator_->registerWorker(name).value();
    w->id = account.id;
    w->name = name;
    w->bus = broker_.connect(account.id + "-ne");
    auto fake = std::make_unique<worker::FakeRuntime>();
    w->runtime = fake.get();
    std::vector<std::unique_ptr<worker::Runtime>> runtimes;
    runtimes.push_back(std::move(fake));
    w->composing = std::make_unique<worker::ComposingRuntime>(std::move(runtimes));
    w->agent = std::make_unique<worker::WorkerAgent>(
        loop, clock, *w->bus, w->probe, *w->composing,
        worker::AgentOptions{w->id, std::nullopt, std::chrono::seconds(15)});
    w->agent->start();
    workers_.push_back(std::move(w));
  }

  // Delivers everything in flight (MQTT, the link, the loop) until the system is quiet.
  void pump() {
    for (int round = 0; round < 100; ++round) {
      size_t moved = broker_.deliverAll();
      loop.drain();
      while (!to_root_.empty()) {
        auto t = std::move(to_root_.front());
        to_root_.pop_front();
        registry_.onMessage(link_key_, t);
        ++moved;
      }
      while (!to_cluster_.empty()) {
        auto t = std::move(to_cluster_.front());
        to_cluster_.pop_front();
        orchestrator_->onRootMessage(t);
        ++moved;
      }
      moved += broker_.deliverAll();
      loop.drain();
      if (moved == 0 && to_root_.empty() && to_cluster_.empty()) return;
    }
    ADD_FAILURE() << "the system did not settle";
  }

  // Every worker reports, the cluster ticks (aggregate to the root), all delivered.
  void reportAll(std::initializer_list<const char*> silent = {}) {
    for (auto& w : workers_) {
      bool quiet = false;
      for (const char* s : silent) quiet = quiet || w->name == s;
      if (!quiet) w->agent->tick();
    }
    pump();
    orchestrator_->tick();
    pump();
  }

  std::string createService(bj::object extra = {}) {
    auto r = applications.createApplications(
        admin, root::test::slaOf("app" + std::to_string(apps_++),
                                 {root::test::microservice("web", std::move(extra))}));
    EXPECT_TRUE(r) << root::test::errorText(r);
    return std::string(r->back().as_object().at("microservices").as_array().at(0).as_string());
  }

  bj::object service(const std::string& id) { return memory.get(kServices, id).value().value(); }
  bj::object instance(const std::string& id, int n = 0) {
    auto s = service(id);
    for (const auto& i : s.at("instance_list").as_array()) {
      if (json::getInt(i.as_object(), "instance_number") == n) return i.as_object();
    }
    return {};
  }
  Worker& workerNamed(const std::string& name) {
    for (auto& w : workers_) {
      if (w->name == name) return *w;
    }
    throw std::runtime_error("no worker " + name);
  }
  std::string taskOf(const std::string& sid, int n = 0) {
    return json::getString(service(sid), "job_name").value() + ".instance." + std::to_string(n);
  }

  root::ClusterRegistry registry_{ctx};
  mqtt::InMemoryBroker broker_;
  store::InMemoryStore cluster_store_;
  std::unique_ptr<mqtt::MessageBus> cluster_bus_;
  std::unique_ptr<cluster::Orchestrator> orchestrator_;
  std::shared_ptr<LinkToCluster> link_ = std::make_shared<LinkToCluster>();
  uint64_t link_key_ = 0;
  std::deque<std::string> to_root_, to_cluster_;
  std::vector<std::unique_ptr<Worker>> workers_;
  int apps_ = 0;
};

TEST_F(HierarchyTest, TheRootSeesTheClusterAsTheSumOfItsWorkers) {
  auto clusters = all(root::coll::kClusters);
  ASSERT_EQ(clusters.size(), 1u);
  const auto& r = clusters[0].at("resources").as_object();
  EXPECT_EQ(r.at("nodes").to_number<double>(), 2);
  EXPECT_EQ(r.at("cores_total").to_number<double>(), 8);
  EXPECT_EQ(r.at("memory_free_mb").to_number<double>(), 16384);
  EXPECT_EQ(r.at("runtimes"), bj::array{"docker"});
}

TEST_F(HierarchyTest, AnInstanceRunsAndItsStatusReachesTheRoot) {
  auto sid = createService();
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  auto inst = instance(sid);
  EXPECT_EQ(inst["status"], "RUNNING") << bj::serialize(service(sid));
  EXPECT_EQ(service(sid).at("status"), "RUNNING");
  std::string worker = json::getString(inst, "worker_name").value_or("");
  ASSERT_FALSE(worker.empty());
  EXPECT_TRUE(workerNamed(worker).runtime->running(taskOf(sid)));
  EXPECT_EQ(inst["publicip"], "198.51.100.9");

  // Scaling down reaches the worker and the runtime stops the instance.
  ASSERT_TRUE(applications.removeInstances(admin, sid, "-1"));
  pump();
  EXPECT_FALSE(workerNamed(worker).runtime->running(taskOf(sid)));
  EXPECT_EQ(orchestrator_->instances().size(), 0u);
}

TEST_F(HierarchyTest, ADeadInstanceIsStartedAgain) {
  auto sid = createService();
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  std::string worker = json::getString(instance(sid), "worker_name").value();
  workerNamed(worker).runtime->exitInstance(taskOf(sid), 137, "killed");
  pump();
  EXPECT_EQ(instance(sid)["status"], "DEAD");
  orchestrator_->tick();
  pump();
  EXPECT_EQ(instance(sid)["status"], "RUNNING");
  size_t launches = 0;
  for (auto& w : workers_) launches += w->runtime->launches().size();
  EXPECT_EQ(launches, 2u);
}

TEST_F(HierarchyTest, AOneShotServiceThatSucceedsStaysCompleted) {
  auto sid = createService({{"one_shot", true}});
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  std::string worker = json::getString(instance(sid), "worker_name").value();
  workerNamed(worker).runtime->exitInstance(taskOf(sid), 0);
  pump();
  EXPECT_EQ(instance(sid)["status"], "COMPLETED");
  orchestrator_->tick();
  pump();
  EXPECT_EQ(instance(sid)["status"], "COMPLETED");
  EXPECT_EQ(workerNamed(worker).runtime->launches().size(), 1u);
}

TEST_F(HierarchyTest, ALostWorkersInstancesMoveToAnotherWorker) {
  auto sid = createService();
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  std::string first = json::getString(instance(sid), "worker_name").value();
  std::string other = first == "w1" ? "w2" : "w1";
  // 31 s pass; only the other worker keeps reporting.
  clock.advance(std::chrono::seconds(31));
  reportAll({first.c_str()});
  EXPECT_EQ(instance(sid)["status"], "RUNNING");
  EXPECT_EQ(json::getString(instance(sid), "worker_name"), other);
  EXPECT_TRUE(workerNamed(other).runtime->running(taskOf(sid)));
  auto clusters = all(root::coll::kClusters);
  EXPECT_EQ(clusters[0].at("resources").at("nodes").to_number<double>(), 1);
}

TEST_F(HierarchyTest, TooLargeARequestSaysSoAtTheRoot) {
  auto sid = createService({{"memory", 100000}});
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  EXPECT_EQ(service(sid).at("status"), "NoActiveClusterWithCapacity");
  auto direct =
      createService({{"constraints", bj::array{bj::object{{"type", "direct"}, {"node", "w2"}}}}});
  ASSERT_TRUE(applications.requestInstance(admin, direct));
  pump();
  EXPECT_EQ(instance(direct)["worker_name"], "w2");
}

TEST_F(HierarchyTest, ADeploymentLostOnTheWayIsPlacedAgain) {
  auto sid =
      createService({{"constraints", bj::array{bj::object{{"type", "direct"}, {"node", "w1"}}}}});
  Worker& w1 = workerNamed("w1");
  broker_.setConnected(w1.id + "-ne", false);
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  pump();
  EXPECT_EQ(instance(sid)["status"], "NODE_SCHEDULED");
  EXPECT_TRUE(w1.runtime->launches().empty()) << "the deploy message was lost";
  broker_.setConnected(w1.id + "-ne", true);
  // w1 keeps reporting without the instance; after a lease the cluster places it again.
  for (int i = 0; i < 3; ++i) {
    clock.advance(std::chrono::seconds(16));
    reportAll();
  }
  EXPECT_EQ(instance(sid)["status"], "RUNNING");
  EXPECT_EQ(w1.runtime->launches().size(), 1u);
}

}  // namespace
}  // namespace oak
