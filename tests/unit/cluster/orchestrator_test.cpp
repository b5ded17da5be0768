// The cluster orchestrator against an in-memory broker in manual mode: test "workers" are bus
// clients that publish reports by hand, so every message the cluster reacts to is spelled out.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_metrics.h"
#include "cluster/orchestrator.h"
#include "cluster_test_util.h"
#include "common/clock.h"
#include "common/json.h"
#include "mqtt/memory_bus.h"
#include "promtool.h"
#include "store/memory_store.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace std::chrono_literals;

// The worker's resource report (the resource abstractor's schema), all of it free.
bj::object capacity(double cores, double memory_mb) {
  return {{"cores_total", cores},
          {"cores_free", cores},
          {"memory_total_mb", memory_mb},
          {"memory_free_mb", memory_mb},
          {"disk_total_mb", 10000},
          {"disk_free_mb", 10000},
          {"runtimes", bj::array{"docker"}},
          {"per_arch", bj::object{{"amd64", bj::object{{"cores_total", cores},
                                                       {"cores_free", cores},
                                                       {"memory_total_mb", memory_mb},
                                                       {"memory_free_mb", memory_mb}}}}}};
}

bj::object jobStatus(const std::string& job, int64_t n, const std::string& status,
                     const std::string& detail = "") {
  return {{"sname", job},
          {"instance", n},
          {"status", status},
          {"status_detail", detail},
          {"publicip", "10.0.0.7"}};
}

// A worker as the cluster sees it on the bus: a client that publishes under its own prefix and
// records the control messages addressed to it.
struct TestWorker {
  std::string id, name, password;
  std::unique_ptr<mqtt::MessageBus> bus;
  std::vector<mqtt::Message> received;

  void publish(std::string_view suffix, const bj::object& payload) {
    bus->publish(fmt::format("nodes/{}/{}", id, suffix), bj::serialize(payload));
  }
  void report(double cores, double memory_mb) {
    publish("information", capacity(cores, memory_mb));
  }
  // As the agent sends it: empty, QoS 0.
  void heartbeat() { bus->publish(fmt::format("nodes/{}/heartbeat", id), "", 0); }
  void status(const std::string& job, int64_t n, const std::string& status,
              const std::string& detail = "") {
    publish("job", jobStatus(job, n, status, detail));
  }

  // "deploy <job>#<n>" / "delete <job>#<n>" for each control message, in order.
  std::vector<std::string> commands() const {
    std::vector<std::string> out;
    for (const auto& m : received) {
      auto v = json::parse(m.payload);
      EXPECT_TRUE(v && v->is_object()) << m.payload;
      if (!v || !v->is_object()) continue;
      std::string verb = m.topic.substr(m.topic.rfind('/') + 1);
      out.push_back(fmt::format("{} {}#{}", verb,
                                json::getString(v->get_object(), "job_name").value_or("?"),
                                json::getInt(v->get_object(), "instance_number").value_or(-1)));
    }
    return out;
  }
  bj::object lastPayload() const {
    EXPECT_FALSE(received.empty());
    return received.empty() ? bj::object{} : json::parse(received.back().payload)->get_object();
  }
};

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override { orch_ = makeOrchestrator(*bus_); }

  static OrchestratorOptions options() {
    OrchestratorOptions o;
    o.name = "edge-1";
    o.location = sched::GeoPoint{48.1, 11.6};
    o.radius_km = 25;
    o.location_text = "48.1,11.6,25";
    o.worker_lease = 30s;
    o.root_heartbeat = 30s;
    return o;
  }

  // An orchestrator on the shared store and clock, wired to `bus` as the cluster server does.
  std::unique_ptr<Orchestrator> makeOrchestrator(mqtt::MessageBus& bus) {
    auto o = std::make_unique<Orchestrator>(Orchestrator::Deps{store_, clock_, bus, root_.sink()},
                                            options());
    for (const auto& topic : Orchestrator::subscriptions()) bus.subscribe(topic, 1);
    bus.onMessage([raw = o.get()](const mqtt::Message& m) { raw->onBusMessage(m); });
    return o;
  }

  // Registers a worker and connects its bus client (it does not report yet).
  TestWorker& addWorker(const std::string& name) {
    auto account = orch_->registerWorker(name);
    EXPECT_TRUE(account) << account.error().message;
    auto w = std::make_unique<TestWorker>();
    w->id = account->id;
    w->name = name;
    w->password = account->password;
    w->bus = broker_.connect(w->id + "-ne");
    w->bus->subscribe(fmt::format("nodes/{}/control/#", w->id), 1);
    w->bus->onMessage([raw = w.get()](const mqtt::Message& m) { raw->received.push_back(m); });
    auto& ref = *w;
    workers_[name] = std::move(w);
    deliver();
    return ref;
  }

  TestWorker& addReportingWorker(const std::string& name, double cores, double memory_mb) {
    auto& w = addWorker(name);
    w.report(cores, memory_mb);
    deliver();
    return w;
  }

  // The cluster process restarts: a new orchestrator on the same store recovers.
  void restart() {
    orch_.reset();
    bus_.reset();
    bus_ = broker_.connect("cluster-edge-1");
    orch_ = makeOrchestrator(*bus_);
    ASSERT_TRUE(orch_->recover());
    root_.clear();
  }

  void deliver() { broker_.deliverAll(); }
  void fromRoot(const std::string& text) {
    orch_->onRootMessage(text);
    deliver();
  }
  void tick() {
    orch_->tick();
    deliver();
  }

  // The instance as `instances()` lists it.
  std::optional<bj::object> instance(const std::string& sid, int64_t n) const {
    return findInstance(orch_->instances(), sid, n);
  }
  std::string statusOf(const std::string& sid, int64_t n) const {
    return statusIn(orch_->instances(), sid, n);
  }
  std::optional<bj::object> workerView(const std::string& id) const {
    for (const auto& v : orch_->workerResources()) {
      if (json::getString(v.as_object(), "id") == id) return v.as_object();
    }
    return std::nullopt;
  }
  bool active(const TestWorker& w) const {
    auto v = workerView(w.id);
    return v && v->at("active").as_bool();
  }

  store::InMemoryStore store_;
  SimulatedClock clock_;
  mqtt::InMemoryBroker broker_;  // no loop: deliveries run in deliver()
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("cluster-edge-1");
  RootInbox root_;
  std::unique_ptr<Orchestrator> orch_;
  std::map<std::string, std::unique_ptr<TestWorker>> workers_;
};

// --- Registration -------------------------------------------------------------------------------

TEST_F(OrchestratorTest, RegistrationKeepsTheIdPerNameAndRotatesThePassword) {
  auto first = orch_->registerWorker("w1");
  auto again = orch_->registerWorker("w1");
  auto other = orch_->registerWorker("w2");
  ASSERT_TRUE(first && again && other);
  EXPECT_EQ(first->id, again->id);
  EXPECT_EQ(again->name, "w1");
  EXPECT_NE(first->password, again->password);
  EXPECT_FALSE(again->password.empty());
  EXPECT_NE(other->id, first->id);

  auto accounts = orch_->accounts();
  ASSERT_THAT(accounts, SizeIs(2));
  std::map<std::string, Orchestrator::WorkerAccount> by_name;
  for (const auto& a : accounts) by_name[a.name] = a;
  EXPECT_EQ(by_name["w1"].id, first->id);
  EXPECT_EQ(by_name["w1"].password, again->password);  // the rotated one
  EXPECT_EQ(by_name["w2"].password, other->password);

  auto stored = store_.list("workers");
  ASSERT_TRUE(stored);
  EXPECT_THAT(*stored, SizeIs(2));
}

TEST_F(OrchestratorTest, ARegisteredWorkerIsInactiveUntilItReports) {
  auto& w = addWorker("w1");
  ASSERT_TRUE(workerView(w.id));
  EXPECT_FALSE(active(w));
  EXPECT_EQ(workerView(w.id)->at("name").as_string(), "w1");

  w.report(4, 4096);
  deliver();
  EXPECT_TRUE(active(w));
  EXPECT_EQ(workerView(w.id)->at("cores_total").to_number<double>(), 4);
}

// --- Reports to the root ------------------------------------------------------------------------

TEST_F(OrchestratorTest, TheRootHearsTheWorkersOnChangeOnly) {
  auto& w = addWorker("w1");
  tick();
  ASSERT_EQ(root_.workerLists().size(), 1u);
  EXPECT_EQ(root_.workerLists()[0].size(), 1u);
  EXPECT_EQ(root_.workerLists()[0][0].name, "w1");
  EXPECT_FALSE(root_.workerLists()[0][0].active);
  root_.clear();
  w.report(4, 4096);
  deliver();
  tick();
  tick();
  ASSERT_EQ(root_.workerLists().size(), 1u);
  EXPECT_TRUE(root_.workerLists()[0][0].active);
  root_.clear();
  clock_.advance(31s);  // past the lease without a report
  tick();
  ASSERT_EQ(root_.workerLists().size(), 1u);
  EXPECT_FALSE(root_.workerLists()[0][0].active);
}

TEST_F(OrchestratorTest, TheRootHearsResourcesOnChangeAndAHeartbeatWhenIdle) {
  auto& w = addWorker("w1");
  tick();
  ASSERT_THAT(root_.types(), ElementsAre("resources"));  // the first picture: no active worker
  EXPECT_EQ(root_.resources()[0].at("nodes").to_number<int>(), 0);
  EXPECT_EQ(root_.resources()[0].at("name").as_string(), "edge-1");
  root_.clear();

  w.report(4, 4096);
  deliver();
  tick();
  ASSERT_THAT(root_.types(), ElementsAre("resources"));
  auto r = root_.resources()[0];
  EXPECT_EQ(r.at("nodes").to_number<int>(), 1);
  EXPECT_EQ(r.at("cores_total").to_number<double>(), 4);
  EXPECT_EQ(r.at("memory_free_mb").to_number<double>(), 4096);
  EXPECT_EQ(r.at("runtimes"), bj::value(bj::array{"docker"}));
  EXPECT_EQ(r.at("radius_km").to_number<double>(), 25);
  root_.clear();

  // Nothing changed: nothing is sent until the heartbeat is due.
  tick();
  clock_.advance(29s);
  w.report(4, 4096);
  deliver();
  tick();
  EXPECT_THAT(root_.types(), IsEmpty());
  clock_.advance(1s);
  tick();
  EXPECT_THAT(root_.types(), ElementsAre("heartbeat"));
  root_.clear();
  tick();
  EXPECT_THAT(root_.types(), IsEmpty());

  // A change goes out at the next tick.
  w.publish("information", [] {
    auto c = capacity(4, 4096);
    c["memory_free_mb"] = 1024;
    return c;
  }());
  deliver();
  EXPECT_THAT(root_.types(), IsEmpty());  // reports go up on ticks only
  tick();
  ASSERT_THAT(root_.types(), ElementsAre("resources"));
  EXPECT_EQ(root_.resources()[0].at("memory_free_mb").to_number<double>(), 1024);
}

TEST_F(OrchestratorTest, AWelcomeMakesTheNextTickResendTheResources) {
  addReportingWorker("w1", 4, 4096);
  tick();
  root_.clear();
  tick();
  EXPECT_THAT(root_.types(), IsEmpty());
  fromRoot(R"({"type":"welcome","cluster_id":"c1"})");
  tick();
  EXPECT_THAT(root_.types(), ElementsAre("resources"));
}

TEST_F(OrchestratorTest, HelloDescribesTheClusterAndListsItsInstances) {
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob), 1));
  w.status(kJob, 0, "ACTIVE");
  deliver();

  auto env = link::decode(orch_->hello());
  ASSERT_TRUE(env);
  EXPECT_EQ(env->type, "hello");
  auto hello = link::helloFrom(*env);
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->name, "edge-1");
  EXPECT_EQ(hello->location, "48.1,11.6,25");
  EXPECT_FALSE(hello->version.empty());
  EXPECT_EQ(hello->resources.at("nodes").to_number<int>(), 1);
  EXPECT_EQ(hello->resources.at("cores_total").to_number<double>(), 4);
  ASSERT_THAT(hello->instances, SizeIs(2));
  EXPECT_EQ(hello->instances[0].service_id, kSid);
  EXPECT_EQ(hello->instances[0].instance_number, 0);
  EXPECT_EQ(hello->instances[0].status, "RUNNING");
  EXPECT_EQ(hello->instances[0].worker_id, w.id);
  EXPECT_EQ(hello->instances[0].worker_name, "w1");
  EXPECT_EQ(hello->instances[1].instance_number, 1);
  EXPECT_EQ(hello->instances[1].status, "NODE_SCHEDULED");
}

// --- Deployment ---------------------------------------------------------------------------------

TEST_F(OrchestratorTest, DeployGoesToTheBestFittingWorkerAndIsReportedScheduled) {
  auto& big = addReportingWorker("big", 8, 8000);
  auto& small = addReportingWorker("small", 2, 1000);
  fromRoot(deployText(serviceDoc(kSid, kJob, 500, 1), 0));

  EXPECT_THAT(big.received, IsEmpty());
  ASSERT_THAT(small.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  EXPECT_EQ(small.received[0].topic, fmt::format("nodes/{}/control/deploy", small.id));
  auto msg = small.lastPayload();
  EXPECT_EQ(msg.at("instance_number").to_number<int>(), 0);
  EXPECT_EQ(msg.at("system_job_id").as_string(), kSid);
  EXPECT_EQ(msg.at("image").as_string(), "docker.io/library/nginx:latest");
  EXPECT_EQ(msg.at("virtualization").as_string(), "docker");
  EXPECT_EQ(msg.at("memory").to_number<double>(), 500);

  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].service_id, kSid);
  EXPECT_EQ(st[0].instance_number, 0);
  EXPECT_EQ(st[0].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[0].worker_id, small.id);
  EXPECT_EQ(st[0].worker_name, "small");
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");

  auto stored = store_.get("instances", fmt::format("{}.0", kSid));
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ(json::getString(**stored, "worker_id"), small.id);
}

TEST_F(OrchestratorTest, ServiceIdFallsBackToMicroserviceId) {
  auto& w = addReportingWorker("w1", 4, 4096);
  auto doc = serviceDoc(kSid, kJob);
  doc.erase("_id");
  fromRoot(deployText(doc, 3));
  EXPECT_THAT(w.commands(), ElementsAre(fmt::format("deploy {}#3", kJob)));
  EXPECT_EQ(statusOf(kSid, 3), "NODE_SCHEDULED");
}

TEST_F(OrchestratorTest, ActiveFromTheWorkerIsReportedAsRunning) {
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  root_.clear();

  w.status(kJob, 0, "ACTIVE");
  deliver();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "RUNNING");
  EXPECT_EQ(st[0].publicip, "10.0.0.7");
  EXPECT_EQ(st[0].worker_id, w.id);
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");

  // Repeating it changes nothing, and running instances are left alone by ticks.
  root_.clear();
  w.status(kJob, 0, "ACTIVE");
  deliver();
  tick();
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_THAT(w.commands(), SizeIs(1));
}

class OrchestratorReplaceTest : public OrchestratorTest,
                                public ::testing::WithParamInterface<const char*> {};

TEST_P(OrchestratorReplaceTest, IsReplacedOnTheNextTickAfterDeletingTheOldCopy) {
  const std::string ended = GetParam();
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w.status(kJob, 0, "ACTIVE");
  deliver();
  root_.clear();
  w.received.clear();

  w.status(kJob, 0, ended, "exited with code 1");
  deliver();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, ended);
  EXPECT_EQ(st[0].status_detail, "exited with code 1");
  EXPECT_THAT(w.received, IsEmpty());  // nothing happens before the tick

  root_.clear();
  tick();
  EXPECT_THAT(w.commands(),
              ElementsAre(fmt::format("delete {}#0", kJob), fmt::format("deploy {}#0", kJob)));
  EXPECT_EQ(w.received[0].topic, fmt::format("nodes/{}/control/delete", w.id));
  EXPECT_THAT(root_.statusNames(), ElementsAre("NODE_SCHEDULED"));

  // The worker answers the delete with UNDEPLOYED (ignored), then starts the new copy.
  root_.clear();
  w.status(kJob, 0, "UNDEPLOYED");
  w.status(kJob, 0, "ACTIVE");
  deliver();
  EXPECT_THAT(root_.statusNames(), ElementsAre("RUNNING"));
}

INSTANTIATE_TEST_SUITE_P(DeadOrFailed, OrchestratorReplaceTest, ::testing::Values("DEAD", "FAILED"),
                         [](const auto& param) { return std::string(param.param); });

TEST_F(OrchestratorTest, LaunchProgressRefinesOnlyAnInstanceWaitingToStart) {
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  root_.clear();

  w.status(kJob, 0, "NODE_SCHEDULED", "pulling nginx: layer 1/3, 1.0 MB of 9.0 MB");
  deliver();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[0].status_detail, "pulling nginx: layer 1/3, 1.0 MB of 9.0 MB");

  // A late progress line after the start does not turn a running instance back.
  w.status(kJob, 0, "ACTIVE");
  w.status(kJob, 0, "NODE_SCHEDULED", "unpacking layer 3/3");
  deliver();
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
}

TEST_F(OrchestratorTest, AReplacementMayGoToAnotherWorker) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  fromRoot(deployText(serviceDoc(kSid, kJob, 800, 1), 0));
  ASSERT_THAT(w1.commands(), SizeIs(1));
  w1.status(kJob, 0, "ACTIVE");
  // w1 now reports its memory as used, and a second worker with room joins.
  w1.publish("information", [] {
    auto c = capacity(2, 1000);
    c["memory_free_mb"] = 100;
    return c;
  }());
  auto& w2 = addReportingWorker("w2", 4, 4000);
  w1.received.clear();
  w1.status(kJob, 0, "DEAD", "exited with code 137");
  deliver();
  root_.clear();

  tick();
  EXPECT_THAT(w1.commands(), ElementsAre(fmt::format("delete {}#0", kJob)));
  EXPECT_THAT(w2.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].worker_id, w2.id);

  // Late news of the old copy from w1 is ignored now.
  root_.clear();
  w1.received.clear();
  w1.status(kJob, 0, "UNDEPLOYED");
  w2.status(kJob, 0, "ACTIVE");
  deliver();
  EXPECT_THAT(root_.statusNames(), ElementsAre("RUNNING"));
  EXPECT_THAT(w1.received, IsEmpty());
}

TEST_F(OrchestratorTest, CompletedInstancesStayCompleted) {
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w.status(kJob, 0, "ACTIVE");
  w.status(kJob, 0, "COMPLETED");
  deliver();
  EXPECT_EQ(statusOf(kSid, 0), "COMPLETED");
  root_.clear();
  w.received.clear();

  tick();
  tick();
  EXPECT_THAT(w.received, IsEmpty());
  EXPECT_THAT(root_.statuses(), IsEmpty());

  // Not even the loss of its worker re-places it.
  clock_.advance(31s);
  tick();
  EXPECT_FALSE(active(w));
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_EQ(statusOf(kSid, 0), "COMPLETED");
}

TEST_F(OrchestratorTest, NoWorkerCapacityIsRetriedUntilAWorkerWithRoomReports) {
  fromRoot(deployText(serviceDoc(kSid, kJob, 2000, 1), 0));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "NO_WORKER_CAPACITY");
  EXPECT_EQ(st[0].status_detail, "no worker is registered");
  EXPECT_EQ(st[0].worker_id, "");

  // A worker that is too small: still no capacity (reported once per distinct reason).
  auto& small = addReportingWorker("small", 4, 1000);
  root_.clear();
  tick();
  st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "NO_WORKER_CAPACITY");
  EXPECT_THAT(st[0].status_detail, HasSubstr("2000 MB free memory"));
  root_.clear();
  tick();
  tick();
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_THAT(small.received, IsEmpty());

  auto& big = addReportingWorker("big", 4, 4000);
  EXPECT_THAT(big.received, IsEmpty());  // placement waits for the tick
  tick();
  EXPECT_THAT(big.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  EXPECT_THAT(small.received, IsEmpty());
  st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[0].worker_id, big.id);
}

TEST_F(OrchestratorTest, ReservationsKeepTwoDeploysFromOverfillingAWorker) {
  auto& w = addReportingWorker("w1", 1, 1000);
  fromRoot(deployText(serviceDoc(kSid, kJob, 600, 1), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob, 600, 1), 1));
  EXPECT_THAT(w.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  EXPECT_EQ(statusOf(kSid, 1), "NO_WORKER_CAPACITY");

  // Undeploying the first gives its reservation back; the second fits at the next tick.
  fromRoot(undeployText(kSid, 0));
  tick();
  EXPECT_THAT(w.commands(),
              ElementsAre(fmt::format("deploy {}#0", kJob), fmt::format("delete {}#0", kJob),
                          fmt::format("deploy {}#1", kJob)));
  EXPECT_EQ(statusOf(kSid, 1), "NODE_SCHEDULED");
}

TEST_F(OrchestratorTest, DirectNodeConstraintIsHonoured) {
  auto& w1 = addReportingWorker("w1", 2, 1000);  // the best fit without the constraint
  auto& w2 = addReportingWorker("w2", 8, 8000);
  auto doc = serviceDoc(kSid, kJob);
  doc["constraints"] = bj::array{bj::object{{"type", "direct"}, {"node", "w2"}}};
  fromRoot(deployText(doc, 0));
  EXPECT_THAT(w1.received, IsEmpty());
  EXPECT_THAT(w2.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));

  // Several names: any of them.
  auto doc2 = serviceDoc(kSid2, kJob2);
  doc2["constraints"] = bj::array{bj::object{{"type", "direct"}, {"node", "w3;w1"}}};
  fromRoot(deployText(doc2, 0));
  EXPECT_THAT(w1.commands(), ElementsAre(fmt::format("deploy {}#0", kJob2)));
}

TEST_F(OrchestratorTest, DirectConstraintNamingNoWorkerWaitsForIt) {
  addReportingWorker("w1", 8, 8000);
  auto doc = serviceDoc(kSid, kJob);
  doc["constraints"] = bj::array{bj::object{{"type", "direct"}, {"node", "w9"}}};
  fromRoot(deployText(doc, 0));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "NO_WORKER_CAPACITY");
  EXPECT_THAT(st[0].status_detail, HasSubstr("'w9'"));

  auto& w9 = addReportingWorker("w9", 2, 2000);
  tick();
  EXPECT_THAT(w9.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
}

TEST_F(OrchestratorTest, ServicesWithUnreadableRequirementsFail) {
  addReportingWorker("w1", 8, 8000);
  auto doc = serviceDoc(kSid, kJob);
  doc["virtualization"] = "unikernel";  // without "arch"
  fromRoot(deployText(doc, 0));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "FAILED");
  EXPECT_THAT(st[0].status_detail, HasSubstr("arch"));

  // Retrying gives the same answer, which the root is not told again.
  root_.clear();
  tick();
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

TEST_F(OrchestratorTest, ADuplicateDeployIsAnsweredWithTheCurrentStateAndNotPlacedTwice) {
  auto& w = addReportingWorker("w1", 4, 4096);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w.status(kJob, 0, "ACTIVE");
  deliver();
  root_.clear();

  fromRoot(deployText(serviceDoc(kSid, kJob), 0));  // the root re-sends after a reconnect
  EXPECT_THAT(w.commands(), SizeIs(1));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(1));
  EXPECT_EQ(st[0].status, "RUNNING");
  EXPECT_EQ(st[0].worker_id, w.id);
  EXPECT_THAT(orch_->instances(), SizeIs(1));
}

// --- Worker loss --------------------------------------------------------------------------------

TEST_F(OrchestratorTest, ASilentWorkerIsLostAfterTheLeaseAndItsInstancesMove) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob), 1));
  w1.status(kJob, 0, "ACTIVE");
  w1.status(kJob, 1, "ACTIVE");
  deliver();
  ASSERT_THAT(w1.commands(), SizeIs(2));
  tick();
  root_.clear();

  // w2 keeps reporting; w1 falls silent. Exactly one lease is still fine.
  clock_.advance(20s);
  w2.report(8, 8000);
  deliver();
  clock_.advance(10s);
  tick();
  EXPECT_TRUE(active(w1));
  EXPECT_THAT(root_.statuses(), IsEmpty());

  clock_.advance(1s);
  tick();
  EXPECT_FALSE(active(w1));
  EXPECT_TRUE(active(w2));
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(4));
  for (int64_t n : {0, 1}) {
    std::vector<std::string> seen;
    for (const auto& s : st) {
      if (s.instance_number == n) seen.push_back(s.status + "@" + s.worker_name);
    }
    EXPECT_THAT(seen, ElementsAre("FAILED@w1", "NODE_SCHEDULED@w2")) << n;
  }
  for (const auto& s : st) {
    if (s.status == "FAILED") {
      EXPECT_EQ(s.status_detail, "worker 'w1' lost");
    }
  }
  EXPECT_THAT(w1.commands(), SizeIs(2));  // no delete to a worker that is gone
  EXPECT_THAT(w2.commands(),
              ElementsAre(fmt::format("deploy {}#0", kJob), fmt::format("deploy {}#1", kJob)));
  ASSERT_THAT(root_.resources(), SizeIs(1));
  EXPECT_EQ(root_.resources()[0].at("nodes").to_number<int>(), 1);
  EXPECT_EQ(root_.resources()[0].at("cores_total").to_number<double>(), 8);
}

TEST_F(OrchestratorTest, ALeavingWorkersInstancesArePlacedAgainAtOnceUntilItRegistersAgain) {
  auto& w1 = addReportingWorker("w1", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  tick();
  root_.clear();

  w1.publish("leave", {});
  deliver();
  EXPECT_FALSE(active(w1));
  tick();
  std::vector<std::string> seen;
  for (const auto& s : root_.statuses()) seen.push_back(s.status + ": " + s.status_detail);
  ASSERT_THAT(seen, SizeIs(2));
  EXPECT_EQ(seen[0], "FAILED: worker 'w1' stopped");
  EXPECT_THAT(seen[1], ::testing::StartsWith(std::string(sched::kNoWorkerCapacity)));
  EXPECT_THAT(w1.commands(), SizeIs(1));  // no delete: it removes its instances itself

  // Its last reports while it stops change nothing.
  w1.report(8, 8000);
  deliver();
  tick();
  EXPECT_FALSE(active(w1));

  // Started again, it registers, reports, and gets the instance back.
  ASSERT_TRUE(orch_->registerWorker("w1"));
  w1.report(8, 8000);
  deliver();
  tick();
  EXPECT_TRUE(active(w1));
  EXPECT_THAT(w1.commands(),
              ElementsAre(fmt::format("deploy {}#0", kJob), fmt::format("deploy {}#0", kJob)));
}

TEST_F(OrchestratorTest, HeartbeatsKeepAWorkerAndItsInstancesAlive) {
  auto& w1 = addReportingWorker("w1", 4, 4000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  root_.clear();
  // Ten minutes of empty heartbeats: no full report, no usage report.
  for (int i = 0; i < 40; ++i) {
    clock_.advance(15s);
    w1.heartbeat();
    deliver();
    tick();
  }
  EXPECT_TRUE(active(w1));
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_THAT(w1.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
}

TEST_F(OrchestratorTest, AnInactiveWorkerHeardFromIsAskedForAFullReport) {
  auto& w1 = addWorker("w1");  // registered, never reported
  w1.bus->publish(fmt::format("nodes/{}/heartbeat", w1.id), "{}", 0);
  w1.heartbeat();
  deliver();
  ASSERT_THAT(w1.received, SizeIs(1));  // asked once, not per heartbeat
  EXPECT_EQ(w1.received[0].topic, fmt::format("nodes/{}/control/report", w1.id));
  EXPECT_EQ(w1.received[0].payload, "{}");

  clock_.advance(11s);
  w1.publish("jobs/resources", bj::object{{"services", bj::array{}}});
  deliver();
  EXPECT_THAT(w1.received, SizeIs(2));  // asked again later

  w1.report(4, 4000);
  deliver();
  clock_.advance(11s);
  w1.heartbeat();
  deliver();
  EXPECT_TRUE(active(w1));
  EXPECT_THAT(w1.received, SizeIs(2));  // an active worker's heartbeats need nothing
}

TEST_F(OrchestratorTest, ADeployTheWorkerNeverConfirmsFailsAfterALeaseAndMoves) {
  auto& w1 = addReportingWorker("w1", 2, 1000);  // the best fit
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_THAT(w1.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  root_.clear();
  // w1 stays alive but never names the instance (its deploy message was lost).
  for (int i = 0; i < 2; ++i) {
    clock_.advance(15s);
    for (auto* w : {&w1, &w2}) w->heartbeat();
    deliver();
    tick();
  }
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");  // 30 s: within the lease
  clock_.advance(1s);
  tick();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(2));
  EXPECT_EQ(st[0].status, "FAILED");
  EXPECT_EQ(st[0].status_detail, "worker 'w1' does not hold the instance");
  EXPECT_EQ(st[1].status, "NODE_SCHEDULED");
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");
  // Whatever w1 may hold of it is deleted before the instance is placed again.
  EXPECT_THAT(w1.commands(), ::testing::Contains(fmt::format("delete {}#0", kJob)));
}

TEST_F(OrchestratorTest, AConfirmedInstanceStaysEvenWithoutUsageReports) {
  auto& w1 = addReportingWorker("w1", 4, 4000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "NODE_SCHEDULED", "pulling the image");  // progress confirms it
  deliver();
  clock_.advance(31s);
  w1.report(4, 4000);
  deliver();
  tick();
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  clock_.advance(120s);
  w1.report(4, 4000);
  deliver();
  tick();
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
}

TEST_F(OrchestratorTest, ALostWorkerThatReturnsIsUsedAgainAndLosesItsStaleCopies) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  clock_.advance(20s);
  w2.report(8, 8000);
  deliver();
  clock_.advance(11s);
  tick();
  ASSERT_FALSE(active(w1));
  ASSERT_THAT(w2.commands(), SizeIs(1));
  w1.received.clear();

  w1.report(2, 1000);
  w1.publish("jobs/resources",
             bj::object{{"services", bj::array{bj::object{{"job_name", kJob},
                                                          {"instance", 0},
                                                          {"virtualization", "docker"},
                                                          {"cpu", 3.0},
                                                          {"memory", 50}}}}});
  deliver();
  EXPECT_TRUE(active(w1));
  EXPECT_THAT(w1.commands(), ElementsAre(fmt::format("delete {}#0", kJob)));

  // It takes new work again.
  fromRoot(deployText(serviceDoc(kSid2, kJob2), 0));
  EXPECT_THAT(w1.commands(),
              ElementsAre(fmt::format("delete {}#0", kJob), fmt::format("deploy {}#0", kJob2)));
}

// --- Undeploy -----------------------------------------------------------------------------------

TEST_F(OrchestratorTest, UndeployOneInstanceDeletesItAndForgetsIt) {
  auto& w = addReportingWorker("w1", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(deployText(serviceDoc(kSid, kJob), 1));
  fromRoot(deployText(serviceDoc(kSid2, kJob2), 0));
  w.received.clear();
  root_.clear();

  fromRoot(undeployText(kSid, 1));
  EXPECT_THAT(w.commands(), ElementsAre(fmt::format("delete {}#1", kJob)));
  EXPECT_EQ(w.received[0].topic, fmt::format("nodes/{}/control/delete", w.id));
  EXPECT_EQ(w.lastPayload(),
            (bj::object{{"job_name", kJob}, {"virtualization", "docker"}, {"instance_number", 1}}));
  EXPECT_EQ(statusOf(kSid, 1), "<absent>");
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");
  EXPECT_EQ(statusOf(kSid2, 0), "NODE_SCHEDULED");
  auto stored = store_.get("instances", fmt::format("{}.1", kSid));
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);

  // The worker's confirmation is not news for anyone.
  w.received.clear();
  w.status(kJob, 1, "UNDEPLOYED");
  deliver();
  tick();
  EXPECT_THAT(w.received, IsEmpty());
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

TEST_F(OrchestratorTest, UndeployMinusOneRemovesEveryInstanceOfTheService) {
  auto& w = addReportingWorker("w1", 8, 8000);
  for (int n = 0; n < 3; ++n) fromRoot(deployText(serviceDoc(kSid, kJob), n));
  fromRoot(deployText(serviceDoc(kSid2, kJob2), 0));
  w.received.clear();

  fromRoot(undeployText(kSid, -1));
  EXPECT_THAT(w.commands(),
              ElementsAre(fmt::format("delete {}#0", kJob), fmt::format("delete {}#1", kJob),
                          fmt::format("delete {}#2", kJob)));
  ASSERT_THAT(orch_->instances(), SizeIs(1));
  EXPECT_EQ(statusOf(kSid2, 0), "NODE_SCHEDULED");
  auto stored = store_.list("instances");
  ASSERT_TRUE(stored);
  EXPECT_THAT(*stored, SizeIs(1));
}

TEST_F(OrchestratorTest, UndeployOfAnUnplacedInstanceSendsNoDelete) {
  fromRoot(deployText(serviceDoc(kSid, kJob, 100000, 1), 0));
  ASSERT_EQ(statusOf(kSid, 0), "NO_WORKER_CAPACITY");
  auto before = broker_.published().size();
  fromRoot(undeployText(kSid, 0));
  EXPECT_EQ(broker_.published().size(), before);
  EXPECT_THAT(orch_->instances(), IsEmpty());

  // Undeploying what the cluster does not have is harmless.
  fromRoot(undeployText(kSid, 7));
  fromRoot(undeployText(kSid2, -1));
  EXPECT_EQ(broker_.published().size(), before);
}

// --- Orphans ------------------------------------------------------------------------------------

TEST_F(OrchestratorTest, StatusOfAnUnknownInstanceMakesTheWorkerDeleteIt) {
  auto& w = addReportingWorker("w1", 8, 8000);
  w.status("other.app.x.y", 2, "ACTIVE");
  deliver();
  EXPECT_THAT(w.commands(), ElementsAre("delete other.app.x.y#2"));
  EXPECT_EQ(w.lastPayload().at("virtualization").as_string(), "docker");

  // Endings of unknown instances need no delete.
  w.received.clear();
  w.status("other.app.x.y", 2, "UNDEPLOYED");
  w.status("other.app.x.y", 3, "DEAD");
  deliver();
  EXPECT_THAT(w.received, IsEmpty());
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

TEST_F(OrchestratorTest, StatusFromTheWrongWorkerDeletesThereAndChangesNothing) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  ASSERT_THAT(w1.commands(), SizeIs(1));
  root_.clear();

  w2.status(kJob, 0, "ACTIVE");
  deliver();
  EXPECT_THAT(w2.commands(), ElementsAre(fmt::format("delete {}#0", kJob)));
  EXPECT_THAT(w1.commands(), SizeIs(1));
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");
  EXPECT_THAT(root_.statuses(), IsEmpty());

  // A DEAD from the wrong worker is not the instance's death either.
  w2.status(kJob, 0, "DEAD");
  deliver();
  tick();
  EXPECT_EQ(statusOf(kSid, 0), "NODE_SCHEDULED");
  EXPECT_THAT(w1.commands(), SizeIs(1));
}

TEST_F(OrchestratorTest, ResourceReportsUpdateKnownInstancesAndDeleteOrphans) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.received.clear();
  root_.clear();

  // Values as numbers or as strings (the original's format).
  auto entry = [](const std::string& job, bj::value n, std::string virt, bj::value cpu,
                  bj::value mem) {
    return bj::object{{"job_name", job},
                      {"instance", n},
                      {"virtualization", virt},
                      {"cpu", cpu},
                      {"memory", mem}};
  };
  w1.publish("jobs/resources",
             bj::object{{"services", bj::array{entry(kJob, 0, "docker", "12.5", "256"),
                                               entry("ghost.a.b.c", "4", "unikernel", 1, 2)}}});
  w2.publish("jobs/resources",
             bj::object{{"services", bj::array{entry(kJob, 0, "docker", 99, 99)}}});
  deliver();

  auto i = instance(kSid, 0);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->at("cpu").to_number<double>(), 12.5);
  EXPECT_EQ(i->at("memory").to_number<double>(), 256);
  EXPECT_EQ(i->at("worker_id").as_string(), w1.id);

  EXPECT_THAT(w1.commands(), ElementsAre("delete ghost.a.b.c#4"));
  EXPECT_EQ(w1.lastPayload().at("virtualization").as_string(), "unikernel");
  EXPECT_THAT(w2.commands(), ElementsAre(fmt::format("delete {}#0", kJob)));
  EXPECT_THAT(root_.statuses(), IsEmpty());
}

// --- Robustness ---------------------------------------------------------------------------------

TEST_F(OrchestratorTest, MalformedBusMessagesAreIgnored) {
  auto& w = addWorker("w1");
  for (const char* payload : {"", "not json", "{", "[1,2]", "42", "null"}) {
    for (const char* suffix : {"information", "job", "jobs/resources"}) {
      w.bus->publish(fmt::format("nodes/{}/{}", w.id, suffix), payload);
    }
  }
  // Reports that are objects but do not follow the schema.
  w.publish("information", bj::object{{"cores_total", 4}, {"cores_free", 8}});
  w.publish("information", bj::object{{"cores_total", "four"}});
  w.publish("information", bj::object{{"runtimes", "docker"}});
  w.publish("job", bj::object{});
  w.publish("job", bj::object{{"sname", 5}, {"instance", "x"}, {"status", bj::array{}}});
  w.publish("jobs/resources", bj::object{{"services", 7}});
  w.publish("jobs/resources", bj::object{{"services", bj::array{1, "x", nullptr, bj::object{}}}});
  w.publish("jobs/resources",
            bj::object{{"services", bj::array{bj::object{{"job_name", kJob}, {"instance", "x"}}}}});
  deliver();
  // Topics outside the scheme.
  for (const char* topic : {"", "nodes", "nodes/", "nodes//information", "other/w1/information",
                            "nodes/w1", "nodes/w1/unknown/suffix"}) {
    orch_->onBusMessage({topic, "{}"});
  }
  deliver();

  EXPECT_FALSE(active(w));
  // No deletes for nameless instances; only a request for the full report it never sent.
  EXPECT_THAT(w.commands(), ElementsAre("report ?#-1"));
  tick();
  EXPECT_EQ(root_.resources().at(0).at("nodes").to_number<int>(), 0);
}

TEST_F(OrchestratorTest, UnregisteredWorkersAreIgnored) {
  auto ghost = broker_.connect("ghost-ne");
  std::vector<mqtt::Message> ghost_got;
  ghost->subscribe("nodes/ghost/control/#", 1);
  ghost->onMessage([&](const mqtt::Message& m) { ghost_got.push_back(m); });
  ghost->publish("nodes/ghost/information", bj::serialize(capacity(64, 64000)));
  ghost->publish("nodes/ghost/job", bj::serialize(jobStatus(kJob, 0, "ACTIVE")));
  deliver();
  EXPECT_THAT(orch_->workerResources(), IsEmpty());
  EXPECT_THAT(ghost_got, IsEmpty());

  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  EXPECT_EQ(statusOf(kSid, 0), "NO_WORKER_CAPACITY");
  EXPECT_THAT(ghost_got, IsEmpty());
}

TEST_F(OrchestratorTest, IdentityComesFromTheTopicNotThePayload) {
  auto& w1 = addWorker("w1");
  auto& w2 = addWorker("w2");
  auto report = capacity(4, 4096);
  report["id"] = w2.id;
  report["name"] = "w2";
  w1.publish("information", report);
  deliver();
  EXPECT_TRUE(active(w1));
  EXPECT_FALSE(active(w2));
  EXPECT_EQ(workerView(w1.id)->at("name").as_string(), "w1");
}

TEST_F(OrchestratorTest, MalformedRootMessagesAreIgnored) {
  addReportingWorker("w1", 8, 8000);
  root_.clear();
  for (const char* text :
       {"", "garbage", "[]", "{}", R"({"type":5})", R"({"type":"mystery"})", R"({"type":"deploy"})",
        R"({"type":"deploy","service":{},"instance_number":0})",
        R"({"type":"deploy","service":{"job_name":"x"},"instance_number":-2})",
        R"({"type":"deploy","service":"x","instance_number":0})", R"({"type":"undeploy"})",
        R"({"type":"undeploy","service_id":"x","instance_number":-5})",
        R"({"type":"error","message":"go away"})", R"({"type":"welcome"})"}) {
    fromRoot(text);
  }
  EXPECT_THAT(orch_->instances(), IsEmpty());
  EXPECT_THAT(root_.types(), IsEmpty());
  EXPECT_EQ(broker_.published().size(), 1u);  // the worker's own report
}

// --- Restart ------------------------------------------------------------------------------------

TEST_F(OrchestratorTest, RecoverRestoresWorkersWithPasswordsAndInstances) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(deployText(serviceDoc(kSid2, kJob2, 100000, 1), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  auto accounts_before = orch_->accounts();
  auto instances_before = orch_->instances();

  auto bus2 = broker_.connect("cluster-edge-1-restarted");
  auto second = makeOrchestrator(*bus2);
  ASSERT_TRUE(second->recover());

  auto accounts = second->accounts();
  ASSERT_THAT(accounts, SizeIs(accounts_before.size()));
  for (size_t i = 0; i < accounts.size(); ++i) {
    EXPECT_EQ(accounts[i].id, accounts_before[i].id);
    EXPECT_EQ(accounts[i].name, accounts_before[i].name);
    EXPECT_EQ(accounts[i].password, accounts_before[i].password);
  }
  auto instances_after = second->instances();
  ASSERT_THAT(instances_after, SizeIs(2));
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = instances_after[i].as_object();
    const auto& b = instances_before[i].as_object();
    for (const char* k : {"service_id", "instance_number", "status", "status_detail", "worker_id",
                          "worker_name", "publicip"}) {
      EXPECT_EQ(a.at(k), b.at(k)) << k;
    }
  }
  // Workers are inactive until they report again; names keep their ids.
  for (const auto& v : second->workerResources()) EXPECT_FALSE(v.at("active").as_bool());
  auto again = second->registerWorker("w1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, w1.id);

  auto hello = link::helloFrom(*link::decode(second->hello()));
  ASSERT_TRUE(hello);
  ASSERT_THAT(hello->instances, SizeIs(2));
  EXPECT_EQ(hello->instances[0].status, "RUNNING");
  EXPECT_EQ(hello->instances[0].publicip, "10.0.0.7");  // the root keeps the address it had
  EXPECT_EQ(hello->resources.at("nodes").to_number<int>(), 0);
}

TEST_F(OrchestratorTest, RecoveredInstancesCarryOnWhenTheirWorkerReports) {
  auto& w1 = addReportingWorker("w1", 4, 4000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();

  restart();
  w1.received.clear();

  clock_.advance(10s);
  w1.report(4, 4000);
  deliver();
  clock_.advance(25s);
  w1.report(4, 4000);
  deliver();
  tick();
  EXPECT_TRUE(active(w1));
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");
  EXPECT_THAT(root_.statuses(), IsEmpty());
  EXPECT_THAT(w1.received, IsEmpty());

  // It still ends and is replaced as before the restart.
  w1.status(kJob, 0, "DEAD", "exited with code 2");
  deliver();
  tick();
  EXPECT_THAT(w1.commands(),
              ElementsAre(fmt::format("delete {}#0", kJob), fmt::format("deploy {}#0", kJob)));
}

TEST_F(OrchestratorTest, InstancesOfARecoveredWorkerThatNeverReturnsMoveAfterTheLease) {
  auto& w1 = addReportingWorker("w1", 2, 1000);
  auto& w2 = addReportingWorker("w2", 8, 8000);
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  w1.status(kJob, 0, "ACTIVE");
  deliver();
  ASSERT_EQ(statusOf(kSid, 0), "RUNNING");

  restart();
  w2.received.clear();

  // Only w2 comes back.
  clock_.advance(20s);
  w2.report(8, 8000);
  deliver();
  clock_.advance(10s);
  tick();
  EXPECT_EQ(statusOf(kSid, 0), "RUNNING");  // within the lease
  clock_.advance(1s);
  tick();
  auto st = root_.statuses();
  ASSERT_THAT(st, SizeIs(2));
  EXPECT_EQ(st[0].status, "FAILED");
  EXPECT_EQ(st[0].status_detail, "worker 'w1' lost");
  EXPECT_EQ(st[1].status, "NODE_SCHEDULED");
  EXPECT_EQ(st[1].worker_id, w2.id);
  EXPECT_THAT(w2.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
}

// --- Metrics ------------------------------------------------------------------------------------

TEST_F(OrchestratorTest, MetricsCountPlacementsFailuresAndLostWorkers) {
  metrics::Registry registry;
  OrchestratorMetrics m(registry);
  orch_->setMetrics(&m);
  addClusterCollector(registry, *orch_, [] { return true; });
  auto value = [&](const std::string& series) {
    return oak::testing::seriesValue(registry.render(), series);
  };

  fromRoot(deployText(serviceDoc(kSid, kJob), 0));  // no worker yet
  EXPECT_EQ(value("oakestra_cluster_scheduling_decisions_total{result=\"NO_WORKER_CAPACITY\"}"), 1);
  auto& w1 = addReportingWorker("w1", 2, 1000);
  addReportingWorker("w2", 8, 8000);
  tick();  // retried: the best fit is w1
  ASSERT_THAT(w1.commands(), ElementsAre(fmt::format("deploy {}#0", kJob)));
  w1.status(kJob, 0, "FAILED", "image not found");
  deliver();
  tick();  // placed again
  EXPECT_EQ(value("oakestra_cluster_scheduling_decisions_total{result=\"placed\"}"), 2);
  EXPECT_EQ(value("oakestra_cluster_scheduling_duration_seconds_count"), 3);
  EXPECT_EQ(value("oakestra_cluster_instance_failures_total{status=\"FAILED\"}"), 1);
  EXPECT_EQ(value("oakestra_cluster_instances{status=\"NODE_SCHEDULED\"}"), 1);
  EXPECT_EQ(value("oakestra_cluster_instances{status=\"RUNNING\"}"), 0);
  EXPECT_EQ(value("oakestra_cluster_workers{state=\"active\"}"), 2);
  EXPECT_EQ(value("oakestra_cluster_cpu_cores"), 10);
  EXPECT_EQ(value("oakestra_cluster_memory_bytes"), 9000.0 * 1024 * 1024);
  EXPECT_EQ(value("oakestra_cluster_worker_registrations_total"), 2);

  clock_.advance(31s);  // both silent for a lease
  tick();
  EXPECT_EQ(value("oakestra_cluster_workers_lost_total"), 2);
  EXPECT_EQ(value("oakestra_cluster_worker_active{worker=\"w1\"}"), 0);
  EXPECT_EQ(value("oakestra_cluster_workers{state=\"inactive\"}"), 2);
  EXPECT_EQ(value("oakestra_cluster_cpu_cores"), 0);
  EXPECT_EQ(value("oakestra_cluster_instance_failures_total{status=\"FAILED\"}"), 2);
  EXPECT_EQ(value("oakestra_cluster_worker_last_seen_timestamp_seconds{worker=\"w2\"}"),
            std::chrono::duration<double>((clock_.now() - 31s).time_since_epoch()).count());
  EXPECT_EQ(value("oakestra_cluster_root_connected"), 1);
  EXPECT_TRUE(oak::testing::promtoolAccepts(registry.render()));
}

}  // namespace
}  // namespace oak::cluster
