// Black-box tests of the hierarchy's control plane (see hierarchy_fixture.h): clusters and
// workers joining, leaving, restarting; tokens; services no worker can run.
#include <gtest/gtest.h>

#include "hierarchy_fixture.h"

namespace oak::testing {
namespace {

TEST_F(HierarchyTest, ClusterAppearsAtTheRootWithTheCapacityOfItsWorkers) {
  bj::object view = waitForRootView(2);
  auto ws = workers();
  ASSERT_EQ(ws.size(), 2u);
  double cores = 0, memory = 0;
  for (const auto& [name, w] : ws) {
    EXPECT_EQ(w.at("active"), true) << name;
    EXPECT_EQ(str(w, "id").size(), 24u) << name;
    EXPECT_GT(num(w, "cores_total"), 0) << name;
    EXPECT_GT(num(w, "memory_total_mb"), 0) << name;
    cores += num(w, "cores_total");
    memory += num(w, "memory_total_mb");
  }
  const auto& res = resourcesOf(view);
  EXPECT_EQ(num(res, "cores_total"), cores);
  EXPECT_EQ(num(res, "memory_total_mb"), memory);
  EXPECT_EQ(res.contains("runtimes") ? res.at("runtimes") : bj::value(), bj::array{})
      << "no container runtime on these workers yet";

  auto list = root().get("/api/clusters/", adminToken());
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_TRUE(list.json.is_array()) << list.body;
  ASSERT_EQ(list.json.get_array().size(), 1u) << list.body;
  const auto& doc = list.json.get_array().front().as_object();
  EXPECT_EQ(doc.at("cluster_name"), kClusterName);
  EXPECT_EQ(oid(doc), oid(view));
  EXPECT_EQ(doc.at("connected"), true);
  EXPECT_EQ(num(doc, "active_nodes"), 2);
  EXPECT_EQ(num(doc, "total_cpu_cores"), cores);
  EXPECT_EQ(num(resourcesOf(doc), "nodes"), 2);

  auto token = root().get("/api/clusters/token", adminToken());
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(str(token.json.as_object(), "token"), rootClusterToken());

  auto reg = root().post("/api/auth/register",
                         bj::object{{"name", "bob"},
                                    {"password", "pw"},
                                    {"email", "b@x"},
                                    {"roles", bj::array{"Application_Provider"}}},
                         adminToken());
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(root().get("/api/clusters/token", root().login("bob", "pw")).status, 403);

  // The worker API wants the worker token.
  EXPECT_EQ(cluster().get("/api/v1/resources/workers").status, 401);
  EXPECT_EQ(cluster().get("/api/v1/resources/workers", rootClusterToken()).status, 401);
}

TEST_F(HierarchyTest, WrongTokensAreRefused) {
  uint16_t port = pickFreePort();
  auto intruder = launch("intruder", clusterArgs("intruder", "not-the-cluster-token", "intruder",
                                                 port, pickFreePort()));
  ASSERT_TRUE(eventually("the root refuses the intruder twice", 15s, [&] {
    return occurrences(readFile(dir_.file("root.log")), "invalid cluster token") >= 2;
  }));
  EXPECT_TRUE(intruder->running()) << "a refused cluster keeps retrying";
  EXPECT_GE(occurrences(intruder->log(), "401 Unauthorized: invalid cluster token"), 2u)
      << intruder->log();
  EXPECT_FALSE(rootView("intruder").has_value());
  auto list = root().get("/api/clusters/", adminToken());
  ASSERT_TRUE(list.json.is_array()) << list.body;
  EXPECT_EQ(list.json.get_array().size(), 1u) << list.body;
  pid_t broker = brokerPid(intruder->log());
  EXPECT_EQ(intruder->stop(), 0);
  EXPECT_TRUE(
      eventually("the intruder's broker is gone", 5s, [&] { return !brokerAlive(broker); }));

  auto stranger = launchWorker("stranger", "not-the-worker-token");
  ASSERT_TRUE(
      eventually("a worker with a wrong token exits", 15s, [&] { return !stranger->running(); }));
  int code = stranger->stop();
  EXPECT_GT(code, 0) << "a non-zero exit code, not a signal";
  EXPECT_NE(stranger->log().find("invalid worker token"), std::string::npos) << stranger->log();
  EXPECT_EQ(workers().count("stranger"), 0u);
}

TEST_F(HierarchyTest, ServicesNoWorkerCanRunReportNoCapacity) {
  waitForRootView(2);
  auto service = [](const std::string& name, int64_t memory) {
    return bj::object{{"microserviceID", ""},
                      {"microservice_name", name},
                      {"microservice_namespace", "test"},
                      {"virtualization", "container"},
                      {"memory", memory},
                      {"vcpus", 1},
                      {"code", "docker.io/library/nginx:latest"}};
  };
  bj::object sla{{"sla_version", "v2.0"},
                 {"customerID", "Admin"},
                 {"applications",
                  bj::array{bj::object{{"application_name", "shop"},
                                       {"application_namespace", "test"},
                                       {"application_desc", "needs a container runtime"},
                                       {"microservices", bj::array{service("web", 100),
                                                                   service("huge", 100000000)}}}}}};
  auto created = root().post("/api/application/", sla, adminToken());
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_TRUE(created.json.is_array()) << created.body;
  std::string app_id = str(created.json.get_array().front().as_object(), "applicationID");
  auto services = root().get("/api/services/" + app_id, adminToken());
  ASSERT_EQ(services.status, 200) << services.body;
  ASSERT_EQ(services.json.as_array().size(), 2u) << services.body;

  for (const auto& s : services.json.get_array()) {
    std::string name = str(s.as_object(), "microservice_name");
    std::string id = str(s.as_object(), "microserviceID");
    auto up = root().call(Method::kPost, "/api/service/" + id + "/instance", "", adminToken());
    ASSERT_EQ(up.status, 200) << name << ": " << up.body;
    bj::object doc;
    EXPECT_TRUE(eventually(name + " ends in NoActiveClusterWithCapacity", 10s, [&] {
      auto r = root().get("/api/service/" + id, adminToken());
      if (r.json.is_object()) doc = r.json.get_object();
      return str(doc, "status") == "NoActiveClusterWithCapacity";
    })) << bj::serialize(doc);
    std::string detail = str(doc, "status_detail");
    EXPECT_FALSE(detail.empty()) << name;
    EXPECT_NE(detail, "no cluster is registered") << name << ": the cluster was considered";
    EXPECT_EQ(doc.at("instance_list"), bj::array{}) << name;
  }
  auto held = cluster().get("/api/v1/instances", workerToken());
  EXPECT_EQ(held.json, bj::array{}) << "nothing was delegated to the cluster";
}

TEST_F(HierarchyTest, LostWorkerLeavesTheAggregateAndReturnsUnderItsId) {
  waitForRootView(2);
  auto before = workers();
  std::string w1_id = str(before["w1"], "id");
  double w2_cores = num(before["w2"], "cores_total");

  EXPECT_EQ(workers_["w1"]->stop(SIGKILL), -SIGKILL);
  EXPECT_TRUE(
      eventually("w1 inactive after the lease", 10s, [&] { return active("w1") == false; }));
  EXPECT_EQ(active("w2"), true);
  bj::object view = waitForRootView(1);
  EXPECT_EQ(num(resourcesOf(view), "cores_total"), w2_cores);

  ASSERT_NO_FATAL_FAILURE(startWorker("w1"));
  EXPECT_TRUE(eventually("w1 active again", 10s, [&] { return active("w1") == true; }));
  auto after = workers();
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(str(after["w1"], "id"), w1_id);
  waitForRootView(2);
}

TEST_F(HierarchyTest, RestartedClusterKeepsItsIdAndItsWorkers) {
  std::string cluster_id = oid(waitForRootView(2));
  auto before = workers();

  ASSERT_NO_FATAL_FAILURE(stopCluster());
  EXPECT_TRUE(eventually("the root sees the cluster disconnected", 10s, [&] {
    auto v = rootView();
    return v && v->at("connected") == false && v->at("active") == false;
  }));

  ASSERT_NO_FATAL_FAILURE(startCluster());
  EXPECT_EQ(oid(waitForRootView(2)), cluster_id);
  auto list = root().get("/api/clusters/", adminToken());
  EXPECT_EQ(list.json.as_array().size(), 1u) << list.body;
  auto after = workers();
  ASSERT_EQ(after.size(), 2u);
  for (const auto& name : {"w1", "w2"}) {
    EXPECT_EQ(str(after[name], "id"), str(before[name], "id")) << name;
    EXPECT_EQ(after[name].at("active"), true) << name;
    // Back on the broker with the credentials it had: no second registration.
    EXPECT_EQ(occurrences(workers_[name]->log(), "registered with"), 1u) << name;
    EXPECT_TRUE(workers_[name]->running()) << name;
  }
}

TEST_F(HierarchyTest, ClusterRejoinsARestartedRootByItself) {
  std::string cluster_id = oid(waitForRootView(2));
  ASSERT_EQ(root_->stop(), 0);
  size_t refused = occurrences(cluster_->log(), "cannot connect to");
  ASSERT_TRUE(eventually("the cluster retries twice", 15s, [&] {
    return occurrences(cluster_->log(), "cannot connect to") >= refused + 2;
  }));
  EXPECT_TRUE(cluster_->running());

  // Frozen, the cluster cannot rejoin before the restarted root has been asked about it.
  ASSERT_EQ(::kill(cluster_->pid(), SIGSTOP), 0);
  startRoot();
  auto stale = rootView();
  ::kill(cluster_->pid(), SIGCONT);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->at("connected"), false) << "no link survives a restart of the root";
  EXPECT_EQ(stale->at("active"), false);

  EXPECT_EQ(oid(waitForRootView(2, 30s)), cluster_id);
  EXPECT_EQ(occurrences(cluster_->log(), "registered at the root as cluster " + cluster_id), 2u);
}

}  // namespace
}  // namespace oak::testing
