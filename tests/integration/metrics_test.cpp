// GET /metrics of the real daemons: root, cluster and workers of a hierarchy, checked by
// promtool and for the series dashboards and alerts use.

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <fstream>
#include <optional>

#include "hierarchy_fixture.h"
#include "promtool.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

class MetricsTest : public HierarchyTest {
 protected:
  std::string scrape(const ApiClient& client) {
    auto r = client.get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  std::string rootMetrics() { return scrape(root()); }
  std::string clusterMetrics() { return scrape(cluster()); }
  std::string workerMetrics(const std::string& name) {
    return scrape(ApiClient(worker_ports_.at(name)));
  }
  // Waits until `series` has `expected` in the output of `get`.
  template <typename Get>
  void waitFor(Get get, const std::string& series, double expected) {
    std::string text;
    EXPECT_TRUE(eventually(series + " == " + std::to_string(expected), 15s, [&] {
      text = get();
      return seriesValue(text, series) == expected;
    })) << text;
  }
};

TEST_F(MetricsTest, EveryDaemonExportsWhatPromtoolAccepts) {
  waitForRootView(2);
  for (auto [name, text] : {std::pair{"root", rootMetrics()},
                            {"cluster", clusterMetrics()},
                            {"w1", workerMetrics("w1")}}) {
    EXPECT_TRUE(promtoolAccepts(text)) << name;
    EXPECT_THAT(text, HasSubstr("oakestra_build_info{component=\"" +
                                std::string(name == std::string("w1") ? "worker" : name) + "\""))
        << name;
    EXPECT_GT(seriesValue(text, "process_resident_memory_bytes").value_or(0), 1e6) << name;
    EXPECT_GT(seriesValue(text, "process_open_fds").value_or(0), 3) << name;
    EXPECT_TRUE(seriesValue(text, "oakestra_log_messages_total{level=\"info\"}")) << name;
  }
}

TEST_F(MetricsTest, RootSeesItsClusterAndCountsRequestsAndPlacements) {
  waitForRootView(2);
  auto root_text = [&] { return rootMetrics(); };
  waitFor(root_text, "oakestra_root_cluster_connected{cluster=\"edge\"}", 1);
  waitFor(root_text, "oakestra_root_cluster_active{cluster=\"edge\"}", 1);
  waitFor(root_text, "oakestra_root_cluster_workers{cluster=\"edge\"}", 2);
  waitFor(root_text, "oakestra_root_clusters{state=\"active\"}", 1);
  // Workers without containerd cannot take a container: no cluster qualifies.
  std::string id =
      createService({{"microservice_name", "web"}, {"code", "docker.io/library/nginx:latest"}});
  auto up = root().call(Method::kPost, "/api/service/" + id + "/instance", "", adminToken());
  ASSERT_EQ(up.status, 200) << up.body;
  waitFor(root_text,
          "oakestra_root_scheduling_decisions_total{result=\"NoActiveClusterWithCapacity\"}", 1);
  std::string text = rootMetrics();
  EXPECT_EQ(seriesValue(text, "oakestra_root_scheduling_duration_seconds_count"), 1);
  EXPECT_EQ(seriesValue(text, "oakestra_root_services"), 1);
  EXPECT_GE(seriesValue(text, "oakestra_root_cluster_messages_total{type=\"hello\"}").value_or(0),
            1);
  EXPECT_EQ(seriesValue(text,
                        "oakestra_http_requests_total{route=\"/api/auth/login\",method=\"POST\","
                        "code=\"200\"}"),
            1);
  EXPECT_EQ(seriesValue(text,
                        "oakestra_http_requests_total{route=\"/api/service/{service_id}/"
                        "instance\",method=\"POST\",code=\"200\"}"),
            1);
  EXPECT_TRUE(promtoolAccepts(text));
}

TEST_F(MetricsTest, ClusterCountsWorkersTrafficAndLosses) {
  auto cluster_text = [&] { return clusterMetrics(); };
  waitFor(cluster_text, "oakestra_cluster_workers{state=\"active\"}", 2);
  waitFor(cluster_text, "oakestra_cluster_root_connected", 1);
  std::string text = clusterMetrics();
  EXPECT_EQ(seriesValue(text, "oakestra_cluster_worker_active{worker=\"w1\"}"), 1);
  EXPECT_GT(seriesValue(text, "oakestra_cluster_worker_last_seen_timestamp_seconds{worker=\"w2\"}")
                .value_or(0),
            1.6e9);
  EXPECT_EQ(seriesValue(text, "oakestra_cluster_worker_registrations_total"), 2);
  EXPECT_GT(seriesValue(text, "oakestra_cluster_cpu_cores").value_or(0), 0);
  EXPECT_EQ(seriesValue(text, "oakestra_mqtt_connected"), 1);
  EXPECT_GE(seriesValue(text,
                        "oakestra_mqtt_messages_total{direction=\"in\",topic=\"nodes/+/"
                        "information\"}")
                .value_or(0),
            2);
  EXPECT_GE(seriesValue(text,
                        "oakestra_http_requests_total{route=\"/api/v1/workers/register\","
                        "method=\"POST\",code=\"200\"}")
                .value_or(0),
            2);

  workers_["w2"]->stop();
  waitFor(cluster_text, "oakestra_cluster_worker_active{worker=\"w2\"}", 0);
  text = clusterMetrics();
  EXPECT_EQ(seriesValue(text, "oakestra_cluster_workers{state=\"inactive\"}"), 1);
  EXPECT_EQ(seriesValue(text, "oakestra_cluster_workers_lost_total"), 1);
  EXPECT_TRUE(promtoolAccepts(text));
}

TEST_F(MetricsTest, WorkerCountsItsTraffic) {
  std::string text;
  EXPECT_TRUE(eventually("w1 has reported", 15s, [&] {
    text = workerMetrics("w1");
    return seriesValue(text,
                       "oakestra_mqtt_messages_total{direction=\"out\",topic=\"nodes/+/"
                       "information\"}")
               .value_or(0) >= 1;
  })) << text;
  EXPECT_EQ(seriesValue(text, "oakestra_mqtt_connected"), 1);
  EXPECT_EQ(seriesValue(text, "oakestra_worker_instances_running"), 0);
  EXPECT_THAT(text, HasSubstr("# TYPE oakestra_worker_image_pulls_total counter\n"));
  EXPECT_TRUE(promtoolAccepts(text));
}

std::string urlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Prometheus itself scrapes the three daemons with the rules of deploy/prometheus, and every
// query of the Grafana dashboards runs against it.
TEST_F(MetricsTest, PrometheusScrapesEveryDaemonAndRunsTheDashboardQueries) {
  std::string binary = findOnPath("prometheus");
  ASSERT_FALSE(binary.empty()) << "prometheus is not installed (make deps)";
  waitForRootView(2);
  uint16_t port = pickFreePort();
  std::string deploy = std::string(OAK_SOURCE_DIR) + "/deploy";
  std::ofstream(dir_.file("prometheus.yml"))
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
      << "rule_files: ['" << deploy << "/prometheus/alerts.yml']\n"
      << "scrape_configs:\n"
      << "  - {job_name: oakestra-root, static_configs: [{targets: ['" << local(root_port_)
      << "']}]}\n"
      << "  - {job_name: oakestra-cluster, static_configs: [{targets: ['" << local(cluster_port_)
      << "']}]}\n"
      << "  - {job_name: oakestra-worker, static_configs: [{targets: ['"
      << local(worker_ports_["w1"]) << "', '" << local(worker_ports_["w2"]) << "']}]}\n";
  Process prometheus(
      binary,
      {"--config.file=" + dir_.file("prometheus.yml"), "--storage.tsdb.path=" + dir_.file("tsdb"),
       "--web.listen-address=" + local(port)},
      {}, dir_.file("prometheus.log"));
  ASSERT_TRUE(waitForPort(port, 30s)) << prometheus.log();
  ApiClient api(port);
  auto query = [&](const std::string& expr) {
    return api.get("/api/v1/query?query=" + urlEncode(expr));
  };
  auto results = [](const ApiResponse& r) -> size_t {
    if (r.status != 200 || !r.json.is_object()) return 0;
    const auto* data = oak::json::findObject(r.json.get_object(), "data");
    const auto* list = data ? oak::json::findArray(*data, "result") : nullptr;
    return list ? list->size() : 0;
  };
  EXPECT_TRUE(eventually("every target is up", 30s, [&] { return results(query("up == 1")) == 4; }))
      << query("up").body << prometheus.log();
  // A few scrapes, so that rates have two samples.
  EXPECT_TRUE(eventually(
      "rates", 30s, [&] { return results(query("rate(process_cpu_seconds_total[10s])")) == 4; }));

  auto rules = api.get("/api/v1/rules");
  EXPECT_EQ(occurrences(rules.body, "\"health\":\"ok\""), 7u) << rules.body;

  for (const char* file : {"oakestra-root.json", "oakestra-cluster.json"}) {
    auto dashboard = oak::json::parse(readFile(deploy + "/grafana/dashboards/" + file));
    ASSERT_TRUE(dashboard && dashboard->is_object()) << file;
    size_t checked = 0;
    for (const auto& panel : dashboard->at("panels").as_array()) {
      const auto* targets = oak::json::findArray(panel.as_object(), "targets");
      if (targets == nullptr) continue;
      std::string title = str(panel.as_object(), "title");
      for (const auto& target : *targets) {
        std::string expr = str(target.as_object(), "expr");
        for (auto [var, value] : {std::pair{"$__rate_interval", "10s"},
                                  {"$instance", ".+"},
                                  {"$cluster", ".+"},
                                  {"$worker_job", "oakestra-worker"}}) {
          for (size_t at = expr.find(var); at != std::string::npos; at = expr.find(var)) {
            expr.replace(at, std::string_view(var).size(), value);
          }
        }
        auto r = query(expr);
        EXPECT_EQ(r.status, 200) << file << " '" << title << "': " << expr << "\n" << r.body;
        // Status panels show the present state: they always have a value.
        if (str(panel.as_object(), "type") == "stat") {
          EXPECT_GT(results(r), 0u) << file << " '" << title << "': " << expr;
        }
        ++checked;
      }
    }
    EXPECT_GT(checked, 20u) << file;
  }
}

// The root's API port is public; --metrics-token closes /metrics to anyone without it.
TEST(MetricsTokenTest, RootRefusesScrapesWithoutTheToken) {
  TempDir dir;
  uint16_t port = pickFreePort();
  Process root(
      binaryPath("oakestra"),
      {"root", "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", dir.file("root")},
      {{"OAKESTRA_METRICS_TOKEN", "scrape-secret"}}, dir.file("root.log"));
  ASSERT_TRUE(waitForPort(port, 20s)) << root.log();
  ApiClient api(port);
  EXPECT_EQ(api.get("/metrics").status, 401);
  EXPECT_EQ(api.get("/metrics", "wrong").status, 401);
  auto ok = api.get("/metrics", "scrape-secret");
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, HasSubstr("oakestra_build_info{component=\"root\""));
}

}  // namespace
}  // namespace oak::testing
