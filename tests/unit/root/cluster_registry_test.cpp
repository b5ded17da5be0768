// The root's side of the cluster link: registration, resources, instance reports, deployments
// going down, and reconciliation after either side restarts.

#include "root/cluster_registry.h"

#include <gtest/gtest.h>

#include <set>

#include <boost/json.hpp>

#include "common/json.h"
#include "link/messages.h"
#include "logs/log_buffer.h"
#include "promtool.h"
#include "root/alerts.h"
#include "root/log_requests.h"
#include "root/root_metrics.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;

struct RecordingChannel : ClusterChannel {
  std::vector<link::Envelope> sent;
  std::string closed;
  void send(std::string text) override { sent.push_back(link::decode(text).value()); }
  void close(std::string reason) override { closed = reason; }
  std::vector<link::Envelope> ofType(std::string_view t) const {
    std::vector<link::Envelope> out;
    for (const auto& e : sent) {
      if (e.type == t) out.push_back(e);
    }
    return out;
  }
};

bj::object resources(double cores_free, double memory_free_mb) {
  return bj::object{{"cores_total", 4},
                    {"cores_free", cores_free},
                    {"memory_total_mb", 8192},
                    {"memory_free_mb", memory_free_mb},
                    {"gpus_total", 0},
                    {"gpus_free", 0},
                    {"runtimes", bj::array{"docker"}},
                    {"nodes", 2}};
}

class ClusterRegistryTest : public test::RootFixture {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    ctx.clusters = &registry;
  }
  // Connects a cluster and sends its hello; returns the session key.
  uint64_t connect(std::shared_ptr<RecordingChannel> ch, const std::string& name,
                   std::vector<link::InstanceState> instances = {}) {
    uint64_t key = registry.attach(ch, "192.0.2.7");
    registry.onMessage(key, link::encodeHello({name, "48.1,11.5,10", resources(3, 4096),
                                               std::move(instances), "test"}));
    return key;
  }
  std::string clusterId(const RecordingChannel& ch) {
    auto w = ch.ofType("welcome");
    return w.empty() ? "" : json::getString(w.back().body, "cluster_id").value_or("");
  }
  // Creates an app with one service and places one instance; returns the service id.
  std::string placedService() {
    auto r =
        applications.createApplications(admin, test::slaOf("app", {test::microservice("web")}));
    EXPECT_TRUE(r) << test::errorText(r);
    std::string id = Accounts::idOf(all(coll::kServices).front());
    EXPECT_TRUE(applications.requestInstance(admin, id));
    EXPECT_TRUE(scheduler.placeNow(id));
    return id;
  }

  ClusterRegistry registry{ctx};
};

TEST_F(ClusterRegistryTest, HelloRegistersTheClusterWithItsResources) {
  auto ch = std::make_shared<RecordingChannel>();
  connect(ch, "munich");
  std::string id = clusterId(*ch);
  ASSERT_EQ(id.size(), 24u);
  auto doc = memory.get(coll::kClusters, id).value().value();
  EXPECT_EQ(doc.at("cluster_name"), "munich");
  EXPECT_EQ(doc.at("cluster_location"), "48.1,11.5,10");
  EXPECT_EQ(doc.at("connected"), true);
  EXPECT_EQ(doc.at("total_cpu_cores").to_number<double>(), 4);
  EXPECT_EQ(doc.at("memory_in_mb").to_number<double>(), 4096);
  EXPECT_EQ(doc.at("active_nodes").to_number<double>(), 2);
  EXPECT_TRUE(registry.connected(id));

  // Reconnecting under the same name keeps the id and replaces the old connection.
  auto ch2 = std::make_shared<RecordingChannel>();
  connect(ch2, "munich");
  EXPECT_EQ(clusterId(*ch2), id);
  EXPECT_FALSE(ch->closed.empty());
  EXPECT_EQ(all(coll::kClusters).size(), 1u);
}

TEST_F(ClusterRegistryTest, FirstMessageMustBeHello) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = registry.attach(ch, "192.0.2.7");
  registry.onMessage(key, link::encodeHeartbeat());
  EXPECT_FALSE(ch->closed.empty());
  ASSERT_EQ(ch->ofType("error").size(), 1u);
  auto ch2 = std::make_shared<RecordingChannel>();
  uint64_t key2 = registry.attach(ch2, "192.0.2.7");
  registry.onMessage(key2, "{not json");
  EXPECT_FALSE(ch2->closed.empty());
  EXPECT_TRUE(all(coll::kClusters).empty());
}

TEST_F(ClusterRegistryTest, PlacementSendsTheDeploymentDownAndReportsComeBack) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  std::string cid = clusterId(*ch);
  std::string sid = placedService();
  auto deploys = ch->ofType("deploy");
  ASSERT_EQ(deploys.size(), 1u);
  auto d = link::deployFrom(deploys[0]).value();
  EXPECT_EQ(Accounts::idOf(d.service), sid);
  EXPECT_EQ(d.instance_number, 0);

  link::InstanceState st{sid, 0, "RUNNING", "", "w1", "worker-1", "198.51.100.2", 1.5, 30};
  registry.onMessage(key, link::encodeInstanceStatus(st));
  auto svc = memory.get(coll::kServices, sid).value().value();
  EXPECT_EQ(svc.at("status"), "RUNNING");
  const auto& inst = svc.at("instance_list").at(0).as_object();
  EXPECT_EQ(inst.at("status"), "RUNNING");
  EXPECT_EQ(inst.at("worker_name"), "worker-1");
  EXPECT_EQ(json::getString(inst, "cluster_id"), cid);

  // Scaling down reaches the cluster.
  ASSERT_TRUE(applications.removeInstances(admin, sid, "-1"));
  auto undeploys = ch->ofType("undeploy");
  ASSERT_EQ(undeploys.size(), 1u);
  EXPECT_EQ(link::undeployFrom(undeploys[0]).value().instance_number, 0);
}

TEST_F(ClusterRegistryTest, ControlLogsAreStampedWithTheClusterThatSentThem) {
  logs::LogBuffer buffer(100);
  ctx.control_logs = &buffer;
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  auto at = Clock::TimePoint(std::chrono::seconds(1'700'000'000));
  logs::Batch batch{{{at, logs::Level::kWarn, "root", "forged", "other", "from the cluster"},
                     {at, logs::Level::kInfo, "worker", "w1", "other", "from a worker"}},
                    0};
  auto msg = logs::toJson(batch);
  msg["type"] = "control_logs";
  registry.onMessage(key, bj::serialize(msg));
  auto got = buffer.readAfter(0, {}, 10).records;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].component, "cluster");  // a cluster cannot speak for the root
  EXPECT_EQ(got[0].node, "munich");
  EXPECT_EQ(got[0].cluster, "munich");
  EXPECT_EQ(got[1].component, "worker");
  EXPECT_EQ(got[1].node, "w1");
  EXPECT_EQ(got[1].cluster, "munich");
  EXPECT_EQ(registry.controlLogsReceived(), 2u);

  // Garbage is refused and counted; the link stays up.
  registry.onMessage(key, R"({"type":"control_logs","records":[{"msg":1}]})");
  EXPECT_EQ(registry.controlLogsRejected(), 1u);
  EXPECT_EQ(buffer.lastSequence(), 2u);
  EXPECT_TRUE(ch->closed.empty());
  ctx.control_logs = nullptr;
}

TEST_F(ClusterRegistryTest, TheWorkersAClusterReportsAreKeptPerCluster) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  registry.onMessage(key, link::encodeWorkers({{"id1", "w1", true}, {"id2", "w2", false}}));
  std::string cid = clusterId(*ch);
  ASSERT_EQ(registry.workers().count(cid), 1u);
  EXPECT_EQ(registry.workers().at(cid),
            (std::vector<link::WorkerSummary>{{"id1", "w1", true}, {"id2", "w2", false}}));
  registry.onMessage(key, R"({"type":"workers","workers":[{"id":"x"}]})");
  EXPECT_EQ(registry.workers().at(cid).size(), 2u);  // a bad list changes nothing
}

TEST_F(ClusterRegistryTest, FailuresAndFullClustersFeedTheAlerts) {
  Alerts alerts(clock);
  ctx.alerts = &alerts;
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  std::string sid = placedService();
  for (const char* status : {"FAILED", "NODE_SCHEDULED", "DEAD", "RUNNING", "FAILED"}) {
    registry.onMessage(
        key, link::encodeInstanceStatus({sid, 0, status, "", "w1", "worker-1", "", 0, 0}));
  }
  registry.onMessage(
      key, link::encodeInstanceStatus({sid, 0, "NO_WORKER_CAPACITY", "", "", "", "", 0, 0}));
  alerts.evaluate({});
  std::set<std::string> names;
  for (const auto& a : alerts.active()) names.insert(a.name + " " + a.labels.begin()->second);
  auto job = json::getString(memory.get(coll::kServices, sid).value().value(), "job_name");
  EXPECT_EQ(names, (std::set<std::string>{"OakestraInstancesFailingRepeatedly " + job.value(),
                                          "OakestraSchedulingFailures munich"}));
  ctx.alerts = nullptr;
}

TEST_F(ClusterRegistryTest, ReportsOfUnknownInstancesWithdrawThem) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  link::InstanceState ghost{newObjectId(), 3, "RUNNING", "", "w1", "worker-1", "", 0, 0};
  registry.onMessage(key, link::encodeInstanceStatus(ghost));
  auto undeploys = ch->ofType("undeploy");
  ASSERT_EQ(undeploys.size(), 1u);
  auto u = link::undeployFrom(undeploys[0]).value();
  EXPECT_EQ(u.service_id, ghost.service_id);
  EXPECT_EQ(u.instance_number, 3);
}

TEST_F(ClusterRegistryTest, ReconnectReconcilesInBothDirections) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  std::string sid = placedService();
  registry.onClose(key);
  std::string cid = clusterId(*ch);
  EXPECT_FALSE(registry.connected(cid));
  EXPECT_EQ(memory.get(coll::kClusters, cid).value().value().at("connected"), false);

  // A disconnected cluster gets no new placements.
  ASSERT_TRUE(applications.requestInstance(admin, sid));
  ASSERT_TRUE(scheduler.placeNow(sid));
  EXPECT_EQ(memory.get(coll::kServices, sid).value().value().at("status"),
            "NoActiveClusterWithCapacity");

  // The cluster comes back having lost instance 0 (e.g. its disk was wiped) and running an
  // instance the root never asked for.
  auto ch2 = std::make_shared<RecordingChannel>();
  connect(ch2, "munich", {{sid, 7, "RUNNING", "", "w1", "worker-1", "", 0, 0}});
  auto deploys = ch2->ofType("deploy");
  ASSERT_EQ(deploys.size(), 1u) << "the lost instance is sent again";
  EXPECT_EQ(link::deployFrom(deploys[0]).value().instance_number, 0);
  auto undeploys = ch2->ofType("undeploy");
  ASSERT_EQ(undeploys.size(), 1u);
  EXPECT_EQ(link::undeployFrom(undeploys[0]).value().instance_number, 7);

  // A cluster that kept its instance reports it and nothing is sent again.
  auto ch3 = std::make_shared<RecordingChannel>();
  connect(ch3, "munich", {{sid, 0, "RUNNING", "", "w1", "worker-1", "", 0, 0}});
  EXPECT_TRUE(ch3->ofType("deploy").empty());
  EXPECT_TRUE(ch3->ofType("undeploy").empty());
  auto svc = memory.get(coll::kServices, sid).value().value();
  EXPECT_EQ(svc.at("instance_list").at(0).at("status"), "RUNNING");
}

TEST_F(ClusterRegistryTest, AfterARestartNoClusterCountsAsConnectedUntilItReconnects) {
  auto ch = std::make_shared<RecordingChannel>();
  connect(ch, "munich");
  std::string id = clusterId(*ch);
  ASSERT_EQ(memory.get(coll::kClusters, id).value().value().at("connected"), true);
  // A new registry over the same store is what a restarted root builds.
  ClusterRegistry restarted(ctx);
  EXPECT_EQ(memory.get(coll::kClusters, id).value().value().at("connected"), false);
  EXPECT_FALSE(restarted.connected(id));
}

// --- Service logs over the link --------------------------------------------------------------

class ClusterLogsTest : public ClusterRegistryTest {
 protected:
  void SetUp() override {
    ClusterRegistryTest::SetUp();
    ctx.logs = &logs;
    key_ = connect(ch_, "munich");
    cid_ = clusterId(*ch_);
    sid_ = placedService();
  }
  // Starts a follow of instance 0; its end is recorded in `ended`.
  std::string follow() {
    auto id = logs.start({cid_, sid_, 0, "all", 10, true},
                         {[this](std::vector<link::LogLine> l) { lines += l.size(); },
                          [this](Status s) { ended.push_back(s ? "ok" : s.error().message); }});
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : "";
  }

  LogRequests logs{clock, [this](const std::string& c, std::string t) {
                     return registry.send(c, std::move(t));
                   }};
  std::shared_ptr<RecordingChannel> ch_ = std::make_shared<RecordingChannel>();
  uint64_t key_ = 0;
  std::string cid_, sid_;
  size_t lines = 0;
  std::vector<std::string> ended;
};

TEST_F(ClusterLogsTest, RequestsGoDownTheLinkAndChunksComeBack) {
  std::string id = follow();
  auto requests = ch_->ofType("logs_request");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(link::logsRequestFrom(requests[0]).value().request_id, id);
  registry.onMessage(key_, link::encodeLogsChunk({id, {{"t", "stdout", "hi"}}, false, ""}));
  EXPECT_EQ(lines, 1u);
  registry.onMessage(key_, link::encodeLogsChunk({id, {}, true, ""}));
  EXPECT_EQ(ended, std::vector<std::string>{"ok"});
  EXPECT_FALSE(registry.send("not-connected", "x"));
}

TEST_F(ClusterLogsTest, ALostOrReplacedLinkEndsTheRequestsSentOverIt) {
  follow();
  registry.onClose(key_);
  EXPECT_EQ(ended, std::vector<std::string>{"the link to the instance's cluster was lost"});

  auto ch2 = std::make_shared<RecordingChannel>();
  connect(ch2, "munich");
  ch_ = ch2;
  follow();
  connect(std::make_shared<RecordingChannel>(), "munich");  // the same cluster, again
  EXPECT_EQ(ended.size(), 2u);
  EXPECT_EQ(logs.pending(), 0u);
}

TEST_F(ClusterLogsTest, RemovingTheInstanceEndsItsFollows) {
  std::string id = follow();
  ASSERT_TRUE(applications.removeInstances(admin, sid_, "0"));
  EXPECT_EQ(ended, std::vector<std::string>{"the instance was undeployed"});
  auto cancels = ch_->ofType("logs_cancel");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(link::logsCancelFrom(cancels[0]).value(), id);
}

TEST_F(ClusterLogsTest, TheLastLinesOfAnEndedInstanceAreKeptBounded) {
  link::InstanceState st{sid_, 0, "DEAD", "exit 1", "w1", "worker-1", "", 0, 0};
  st.logs = "boom";
  registry.onMessage(key_, link::encodeInstanceStatus(st));
  auto inst = [&] {
    return memory.get(coll::kServices, sid_).value().value().at("instance_list").at(0);
  };
  EXPECT_EQ(inst().at("logs"), "boom");
  st.status = "RUNNING";
  st.logs.clear();
  registry.onMessage(key_, link::encodeInstanceStatus(st));
  EXPECT_EQ(inst().at("logs"), "boom") << "a report without lines keeps the last ones";

  bj::object big = link::toJson(st);
  big["type"] = "instance_status";
  big["logs"] = std::string(5000, 'x') + "end";
  registry.onMessage(key_, bj::serialize(big));
  std::string stored(inst().at("logs").as_string());
  EXPECT_EQ(stored.size(), link::kMaxInstanceLogsBytes);
  EXPECT_TRUE(stored.ends_with("xend"));
}

// --- Metrics ------------------------------------------------------------------------------------

TEST_F(ClusterRegistryTest, MetricsCountLinkMessagesPlacementsAndFailuresAndShowTheCluster) {
  metrics::Registry exported;
  RootMetrics m(exported);
  ctx.metrics = &m;
  addRootCollector(exported, ctx);
  auto value = [&](const std::string& series) {
    return oak::testing::seriesValue(exported.render(), series);
  };

  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "munich");
  registry.onMessage(key, "not json");
  registry.onMessage(key, R"({"type":"bogus"})");
  std::string sid = placedService();
  link::InstanceState st{sid, 0, "FAILED", "exit 1", "w1", "worker-1", "", 0, 0};
  registry.onMessage(key, link::encodeInstanceStatus(st));
  st.status_detail = "exit 2";  // the same status again is no new failure
  registry.onMessage(key, link::encodeInstanceStatus(st));

  EXPECT_EQ(value("oakestra_root_cluster_messages_total{type=\"hello\"}"), 1);
  EXPECT_EQ(value("oakestra_root_cluster_messages_total{type=\"instance_status\"}"), 2);
  EXPECT_EQ(value("oakestra_root_cluster_messages_total{type=\"malformed\"}"), 1);
  EXPECT_EQ(value("oakestra_root_cluster_messages_total{type=\"unknown\"}"), 1);
  EXPECT_EQ(value("oakestra_root_scheduling_decisions_total{result=\"placed\"}"), 1);
  EXPECT_EQ(value("oakestra_root_scheduling_duration_seconds_count"), 1);
  EXPECT_EQ(value("oakestra_root_instance_failures_total{status=\"FAILED\"}"), 1);
  EXPECT_EQ(value("oakestra_root_cluster_connected{cluster=\"munich\"}"), 1);
  EXPECT_EQ(value("oakestra_root_cluster_active{cluster=\"munich\"}"), 1);
  EXPECT_EQ(value("oakestra_root_cluster_workers{cluster=\"munich\"}"), 2);
  EXPECT_EQ(value("oakestra_root_cluster_memory_free_bytes{cluster=\"munich\"}"),
            4096.0 * 1024 * 1024);
  EXPECT_EQ(value("oakestra_root_clusters{state=\"active\"}"), 1);
  EXPECT_EQ(value("oakestra_root_instances{status=\"FAILED\"}"), 1);
  EXPECT_EQ(value("oakestra_root_instances{status=\"RUNNING\"}"), 0);
  EXPECT_EQ(value("oakestra_root_services"), 1);

  registry.onClose(key);
  EXPECT_EQ(value("oakestra_root_cluster_connected{cluster=\"munich\"}"), 0);
  EXPECT_EQ(value("oakestra_root_clusters{state=\"inactive\"}"), 1);
  EXPECT_TRUE(oak::testing::promtoolAccepts(exported.render()));
}

}  // namespace
}  // namespace oak::root
