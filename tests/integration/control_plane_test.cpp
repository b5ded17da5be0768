// Control-plane logs and alerts across real processes: every daemon's records reach the root's
// GET /api/logs with working filters, and a killed worker shows in GET /api/alerts and
// GET /api/workers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hierarchy_fixture.h"
#include "sse_client.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

class ControlPlaneTest : public HierarchyTest {
 protected:
  // The records GET /api/logs?<query> answers (empty on an error).
  std::vector<bj::object> records(const std::string& query) {
    auto r = root().get("/api/logs?" + query, adminToken());
    std::vector<bj::object> out;
    if (r.status != 200) return out;
    for (const auto& l : r.json.at("lines").as_array()) out.push_back(l.as_object());
    return out;
  }
  bool anyContains(const std::vector<bj::object>& rs, const std::string& text) {
    for (const auto& r : rs) {
      if (str(r, "msg").find(text) != std::string::npos) return true;
    }
    return false;
  }
  // GET /api/workers: active by worker name (all in this fixture's one cluster).
  std::map<std::string, bool> rootWorkers() {
    auto r = root().get("/api/workers", adminToken());
    std::map<std::string, bool> out;
    if (r.status != 200 || !r.json.is_array()) return out;
    for (const auto& w : r.json.as_array()) {
      const auto& o = w.as_object();
      EXPECT_EQ(str(o, "cluster_name"), kClusterName);
      // What it is made of, as its reports said.
      if (o.at("active").as_bool()) {
        EXPECT_GT(o.at("cores_total").to_number<double>(), 0) << bj::serialize(o);
        EXPECT_FALSE(o.at("archs").as_array().empty()) << bj::serialize(o);
      }
      out[str(w.as_object(), "name")] = w.as_object().at("active").as_bool();
    }
    return out;
  }
  // "name worker state" of each alert.
  std::vector<std::string> alerts() {
    auto r = root().get("/api/alerts", adminToken());
    std::vector<std::string> out;
    if (r.status != 200 || !r.json.is_array()) return out;
    for (const auto& a : r.json.as_array()) {
      const auto& o = a.as_object();
      const auto& labels = o.at("labels").as_object();
      out.push_back(str(o, "name") + " " +
                    (labels.contains("worker") ? str(labels, "worker") : "-") + " " +
                    str(o, "state"));
    }
    return out;
  }
};

TEST_F(ControlPlaneTest, RecordsOfRootClusterAndWorkersReachTheRootAndFiltersWork) {
  EXPECT_TRUE(eventually("a worker's own records at the root", 15s, [&] {
    return anyContains(records("component=worker&node=w1"), "registered with");
  }));
  auto root_records = records("component=root");
  EXPECT_TRUE(anyContains(root_records, "root orchestrator listening"));
  for (const auto& r : root_records) EXPECT_EQ(str(r, "component"), "root");
  EXPECT_TRUE(eventually("the cluster's own records at the root", 15s, [&] {
    return anyContains(records(std::string("component=cluster&node=") + kClusterName),
                       "connected to the root");
  }));
  for (const auto& r : records(std::string("cluster=") + kClusterName)) {
    EXPECT_NE(str(r, "component"), "root");
    EXPECT_EQ(str(r, "cluster"), kClusterName);
  }
  for (const auto& r : records("level=warn")) {
    EXPECT_THAT((std::vector<std::string>{"warn", "error", "critical"}),
                ::testing::Contains(str(r, "level")));
  }
  EXPECT_EQ(records("limit=1").size(), 1u);
  EXPECT_FALSE(records("since=1h").empty());
  EXPECT_TRUE(records("since=2099-01-01T00:00:00Z").empty());
}

TEST_F(ControlPlaneTest, BadLogQueriesAreRefusedNamingTheParameter) {
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"component=scheduler", "component"},
                                                        {"level=loud", "level"},
                                                        {"since=yesterday", "since"},
                                                        {"limit=0", "limit"},
                                                        {"limit=100000", "limit"},
                                                        {"follow=maybe", "follow"}}) {
    auto r = root().get("/api/logs?" + query, adminToken());
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_THAT(r.body, HasSubstr(field)) << query;
  }
  EXPECT_EQ(root().get("/api/logs").status, 401);
  EXPECT_EQ(root().get("/api/alerts").status, 401);
}

TEST_F(ControlPlaneTest, AFollowStreamsNewRecordsAsTheyAreLogged) {
  SseClient::Options o;
  o.token = adminToken();
  auto stream = SseClient::open(root_port_, "/api/logs?follow=true&component=root&limit=1", o);
  ASSERT_TRUE(stream);
  ASSERT_EQ(stream->status(), 200);
  ASSERT_TRUE(stream->next());  // the newest record first
  // The root logs every placement it cannot make.
  std::string id = createService({{"microservice_name", "toobig"},
                                  {"memory", 100000000},
                                  {"code", "docker.io/library/nginx:latest"}});
  auto deployed = root().call(Method::kPost, "/api/service/" + id + "/instance", "", adminToken());
  ASSERT_EQ(deployed.status, 200) << deployed.body;
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    auto event = stream->next(std::chrono::seconds(10));
    ASSERT_TRUE(event) << "no record arrived";
    seen = event->find(id) != std::string::npos;
  }
  EXPECT_TRUE(seen);
}

TEST_F(ControlPlaneTest, AKilledWorkerShowsAsLostInTheAlertsAndClearsWhenItReturns) {
  waitForRootView(2);
  EXPECT_TRUE(eventually("the root lists both workers", 10s, [&] {
    return rootWorkers() == std::map<std::string, bool>{{"w1", true}, {"w2", true}};
  }));
  EXPECT_THAT(alerts(), ::testing::Not(::testing::Contains(HasSubstr("OakestraWorkerLost"))));
  EXPECT_EQ(workers_["w1"]->stop(SIGKILL), -SIGKILL);
  // Lease (3 s) + the cluster's report + the root's evaluation (2 s).
  EXPECT_TRUE(eventually("the worker-lost alert", 15s, [&] {
    auto a = alerts();
    return std::find(a.begin(), a.end(), "OakestraWorkerLost w1 firing") != a.end();
  })) << ::testing::PrintToString(alerts());
  EXPECT_THAT(alerts(), ::testing::Not(::testing::Contains(HasSubstr(" w2 "))));
  EXPECT_EQ(rootWorkers(), (std::map<std::string, bool>{{"w1", false}, {"w2", true}}));

  ASSERT_NO_FATAL_FAILURE(startWorker("w1"));
  EXPECT_TRUE(eventually("the alert resolved", 15s, [&] {
    auto a = alerts();
    return std::none_of(a.begin(), a.end(), [](const std::string& s) {
      return s.find("OakestraWorkerLost") != std::string::npos;
    });
  })) << ::testing::PrintToString(alerts());
}

}  // namespace
}  // namespace oak::testing
