// Black-box tests of a whole hierarchy: the real `oakestra root`, one `oakestra cluster` with its
// own mosquitto and two `oakestra worker`s, all on 127.0.0.1 with free ports and temporary data
// directories. Every wait polls an API or a log until a condition holds, with a deadline.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "api_client.h"
#include "common/json.h"
#include "process.h"
#include "temp_dir.h"

namespace oak::testing {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using oak::http::Method;

constexpr auto kPollStep = 100ms;
constexpr const char* kClusterName = "edge";

// Polls `cond` until it holds or `timeout` has passed.
template <typename Cond>
::testing::AssertionResult eventually(const std::string& what, std::chrono::milliseconds timeout,
                                      Cond cond) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << what << ": not true after " << timeout.count() << " ms";
    }
    std::this_thread::sleep_for(kPollStep);
  }
  return ::testing::AssertionSuccess();
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

size_t occurrences(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The broker the cluster started last, as its log names it ("mosquitto (pid N) listening").
pid_t brokerPid(const std::string& cluster_log) {
  static const std::regex kLine(R"(mosquitto \(pid (\d+)\) listening)");
  pid_t pid = -1;
  for (std::sregex_iterator it(cluster_log.begin(), cluster_log.end(), kLine), end; it != end;
       ++it) {
    pid = std::stoi((*it)[1].str());
  }
  return pid;
}

// True while `pid` is a mosquitto that has not exited (a zombie counts as exited).
bool brokerAlive(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (readFile(proc + "/cmdline").find("mosquitto") == std::string::npos) return false;
  std::string stat = readFile(proc + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

double num(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : -1;
}

std::string str(const bj::object& o, std::string_view key) {
  return oak::json::getString(o, key).value_or("");
}

std::string oid(const bj::object& o) {
  const auto* id = oak::json::findObject(o, "_id");
  return id ? str(*id, "$oid") : "";
}

const bj::object& resourcesOf(const bj::object& cluster) {
  static const bj::object kNone;
  const auto* r = oak::json::findObject(cluster, "resources");
  return r ? *r : kNone;
}

class HierarchyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_port_ = pickFreePort();
    cluster_port_ = pickFreePort();
    mqtt_port_ = pickFreePort();
    ASSERT_NO_FATAL_FAILURE(startRoot());
    ASSERT_NO_FATAL_FAILURE(startCluster());
    ASSERT_NO_FATAL_FAILURE(startWorker("w1"));
    ASSERT_NO_FATAL_FAILURE(startWorker("w2"));
    ASSERT_TRUE(eventually("both workers active at the cluster", 15s,
                           [&] { return activeWorkers() == 2; }));
  }

  void TearDown() override {
    for (auto& [name, w] : workers_) w->stop();
    if (cluster_ && cluster_->running()) stopCluster();
    if (root_) root_->stop();
    if (!HasFailure()) return;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().extension() != ".log") continue;
      std::cerr << "--- " << entry.path().filename().string() << " ---\n"
                << readFile(entry.path()) << "\n";
    }
  }

  std::unique_ptr<Process> launch(const std::string& log_name, std::vector<std::string> args) {
    return std::make_unique<Process>(binaryPath("oakestra"), std::move(args),
                                     std::map<std::string, std::string>{},
                                     dir_.file(log_name + ".log"));
  }

  void startRoot() {
    root_ =
        launch("root", {"root", "--listen", local(root_port_), "--data-dir", dir_.file("root")});
    ASSERT_TRUE(waitForPort(root_port_, 20s)) << root_->log();
  }

  std::vector<std::string> clusterArgs(const std::string& name, const std::string& token,
                                       const std::string& data_dir, uint16_t port,
                                       uint16_t mqtt_port) const {
    return {"cluster",           "--root",        rootUrl(),        "--name",         name,
            "--token",           token,           "--listen",       local(port),      "--data-dir",
            dir_.file(data_dir), "--mqtt-listen", local(mqtt_port), "--worker-lease", "3"};
  }

  void startCluster() {
    cluster_ = launch("cluster", clusterArgs(kClusterName, rootClusterToken(), "cluster",
                                             cluster_port_, mqtt_port_));
    ASSERT_TRUE(waitForPort(cluster_port_, 20s)) << cluster_->log();
  }

  // SIGTERM; the cluster exits cleanly and takes its broker with it.
  void stopCluster() {
    pid_t broker = brokerPid(cluster_->log());
    EXPECT_GT(broker, 0) << "the cluster logs the pid of its broker";
    EXPECT_EQ(cluster_->stop(), 0);
    EXPECT_TRUE(eventually("mosquitto (pid " + std::to_string(broker) + ") gone", 5s,
                           [&] { return !brokerAlive(broker); }));
  }

  std::unique_ptr<Process> launchWorker(const std::string& name, const std::string& token) {
    return launch(name, {"worker", "--cluster", "http://" + local(cluster_port_), "--name", name,
                         "--data-dir", dir_.file(name), "--token", token, "--metrics-listen",
                         local(pickFreePort()), "--report-interval", "1"});
  }

  void startWorker(const std::string& name) {
    workers_[name] = launchWorker(name, workerToken());
    ASSERT_TRUE(workers_[name]->running()) << workers_[name]->log();
  }

  static std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
  std::string rootUrl() const { return "http://" + local(root_port_); }
  std::string rootClusterToken() const { return readFile(dir_.file("root") + "/cluster-token"); }
  std::string workerToken() const { return readFile(dir_.file("cluster") + "/worker-token"); }
  ApiClient root() const { return ApiClient(root_port_); }
  ApiClient cluster() const { return ApiClient(cluster_port_); }

  std::string adminToken() {
    if (admin_.empty()) admin_ = root().login("Admin", "Admin");
    return admin_;
  }

  // The cluster's view of its workers (GET /api/v1/resources/workers), by name.
  std::map<std::string, bj::object> workers() const {
    auto r = cluster().get("/api/v1/resources/workers", workerToken());
    std::map<std::string, bj::object> out;
    if (r.status != 200 || !r.json.is_array()) return out;
    for (const auto& w : r.json.get_array()) {
      if (w.is_object()) out[str(w.get_object(), "name")] = w.get_object();
    }
    return out;
  }
  size_t activeWorkers() const {
    size_t n = 0;
    for (const auto& [name, w] : workers()) n += w.at("active") == true;
    return n;
  }
  // Whether the cluster lists `name` as active; nullopt if it does not list it.
  std::optional<bool> active(const std::string& name) const {
    auto ws = workers();
    auto it = ws.find(name);
    if (it == ws.end()) return std::nullopt;
    return it->second.at("active") == true;
  }

  // The root's view of a cluster (GET /api/v1/resources/clusters), if it knows it.
  std::optional<bj::object> rootView(const std::string& name = kClusterName) {
    auto r = root().get("/api/v1/resources/clusters", adminToken());
    if (r.status != 200 || !r.json.is_array()) return std::nullopt;
    for (const auto& c : r.json.get_array()) {
      if (c.is_object() && str(c.get_object(), "cluster_name") == name) return c.get_object();
    }
    return std::nullopt;
  }
  // Waits until the root sees the cluster connected with `nodes` active workers; returns its view.
  bj::object waitForRootView(double nodes, std::chrono::milliseconds timeout = 15s) {
    bj::object view;
    EXPECT_TRUE(eventually("root sees '" + std::string(kClusterName) + "' connected with " +
                               std::to_string(static_cast<int>(nodes)) + " nodes",
                           timeout,
                           [&] {
                             auto v = rootView();
                             if (!v) return false;
                             view = *v;
                             return view.at("connected") == true && view.at("active") == true &&
                                    num(resourcesOf(view), "nodes") == nodes;
                           }))
        << (view.empty() ? "never listed" : bj::serialize(view));
    return view;
  }

  TempDir dir_;
  uint16_t root_port_ = 0;
  uint16_t cluster_port_ = 0;
  uint16_t mqtt_port_ = 0;
  std::unique_ptr<Process> root_;
  std::unique_ptr<Process> cluster_;
  std::map<std::string, std::unique_ptr<Process>> workers_;
  std::string admin_;
};

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
