#pragma once
// A whole hierarchy for black-box tests: the real `oakestra root`, one `oakestra cluster` with its
// own mosquitto and two `oakestra worker`s, all on 127.0.0.1 with free ports and temporary data
// directories. Every wait polls an API or a log until a condition holds, with a deadline.
// Fixtures whose workers run as hosts of a NetworkLab override clusterAddress() (the lab's
// gateway) and workerNetns() (the host's namespace).

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
#include "wait.h"

namespace oak::testing {

namespace bj = boost::json;
using namespace std::chrono_literals;
using oak::http::Method;

constexpr const char* kClusterName = "edge";

// Polls `cond` until it holds or `timeout` has passed.
template <typename Cond>
::testing::AssertionResult eventually(const std::string& what, std::chrono::milliseconds timeout,
                                      Cond cond) {
  return waitUntil(what, timeout, std::move(cond));
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

inline size_t occurrences(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The broker the cluster started last, as its log names it ("mosquitto (pid N) listening").
inline pid_t brokerPid(const std::string& cluster_log) {
  static const std::regex kLine(R"(mosquitto \(pid (\d+)\) listening)");
  pid_t pid = -1;
  for (std::sregex_iterator it(cluster_log.begin(), cluster_log.end(), kLine), end; it != end;
       ++it) {
    pid = std::stoi((*it)[1].str());
  }
  return pid;
}

// True while `pid` is a mosquitto that has not exited (a zombie counts as exited).
inline bool brokerAlive(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (readFile(proc + "/cmdline").find("mosquitto") == std::string::npos) return false;
  std::string stat = readFile(proc + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

inline double num(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : -1;
}

inline std::string str(const bj::object& o, std::string_view key) {
  return oak::json::getString(o, key).value_or("");
}

inline std::string oid(const bj::object& o) {
  const auto* id = oak::json::findObject(o, "_id");
  return id ? str(*id, "$oid") : "";
}

inline const bj::object& resourcesOf(const bj::object& cluster) {
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

  // `netns`: run in that network namespace (see Process); empty: the test's own.
  std::unique_ptr<Process> launch(const std::string& log_name, std::vector<std::string> args,
                                  const std::string& netns = {}) {
    return std::make_unique<Process>(binaryPath("oakestra"), std::move(args),
                                     std::map<std::string, std::string>{},
                                     dir_.file(log_name + ".log"), netns);
  }

  void startRoot() {
    root_ =
        launch("root", {"root", "--listen", local(root_port_), "--data-dir", dir_.file("root")});
    ASSERT_TRUE(waitForPort(root_port_, 20s)) << root_->log();
  }

  std::vector<std::string> clusterArgs(const std::string& name, const std::string& token,
                                       const std::string& data_dir, uint16_t port,
                                       uint16_t mqtt_port) const {
    return {"cluster",
            "--root",
            rootUrl(),
            "--name",
            name,
            "--token",
            token,
            "--listen",
            clusterEndpoint(port),
            "--data-dir",
            dir_.file(data_dir),
            "--mqtt-listen",
            clusterEndpoint(mqtt_port),
            "--worker-lease",
            "3"};
  }

  void startCluster() {
    cluster_ = launch("cluster", clusterArgs(kClusterName, rootClusterToken(), "cluster",
                                             cluster_port_, mqtt_port_));
    ASSERT_TRUE(waitForPort(clusterAddress(), cluster_port_, 20s)) << cluster_->log();
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
    worker_ports_[name] = pickFreePort();
    std::vector<std::string> args{"worker",
                                  "--cluster",
                                  "http://" + clusterEndpoint(cluster_port_),
                                  "--name",
                                  name,
                                  "--data-dir",
                                  dir_.file(name),
                                  "--token",
                                  token,
                                  "--metrics-listen",
                                  local(worker_ports_[name]),
                                  "--report-interval",
                                  "1"};
    auto extra = workerArgs(name);
    args.insert(args.end(), extra.begin(), extra.end());
    return launch(name, std::move(args), workerNetns(name));
  }
  // Extra arguments of a worker, for fixtures that give workers more to work with.
  virtual std::vector<std::string> workerArgs(const std::string& name) const {
    (void)name;
    return {"--containerd-socket", dir_.file("no-containerd.sock")};
  }
  // The network namespace a worker runs in (a NetworkLab host's); empty: the test's own.
  virtual std::string workerNetns(const std::string& name) const {
    (void)name;
    return {};
  }
  // The IPv4 address the cluster's worker API and broker listen on, which workers are given (the
  // broker's address reaches them as the host they registered with).
  virtual std::string clusterAddress() const { return "127.0.0.1"; }
  std::string clusterEndpoint(uint16_t port) const {
    return clusterAddress() + ":" + std::to_string(port);
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
  ApiClient cluster() const { return ApiClient(cluster_port_, clusterAddress()); }

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

  // Creates an application holding `service` (defaults: namespace "test", a container of 64 MB
  // and 1 vcpu running `default_code_`) and returns the service's id.
  std::string createService(bj::object service) {
    service.emplace("microserviceID", "");
    service.emplace("microservice_namespace", "test");
    service.emplace("virtualization", "container");
    service.emplace("memory", 64);
    service.emplace("vcpus", 1);
    service.emplace("code", default_code_);
    std::string app_name = "app" + next();
    bj::object sla{{"sla_version", "v2.0"},
                   {"customerID", "Admin"},
                   {"applications", bj::array{bj::object{{"application_name", app_name},
                                                         {"application_namespace", "test"},
                                                         {"application_desc", "e2e"},
                                                         {"microservices", bj::array{service}}}}}};
    auto created = root().post("/api/application/", sla, adminToken());
    EXPECT_EQ(created.status, 200) << created.body;
    // The answer lists all of the user's applications.
    std::string app_id;
    for (const auto& app : created.json.get_array()) {
      if (str(app.as_object(), "application_name") == app_name) {
        app_id = str(app.as_object(), "applicationID");
      }
    }
    auto services = root().get("/api/services/" + app_id, adminToken());
    return str(services.json.get_array().front().as_object(), "microserviceID");
  }

  // createService, then one instance of it.
  std::string deploy(bj::object service) {
    std::string id = createService(std::move(service));
    auto up = root().call(Method::kPost, "/api/service/" + id + "/instance", "", adminToken());
    EXPECT_EQ(up.status, 200) << up.body;
    return id;
  }

  // Instance 0 of the service as the root shows it (empty when there is none).
  bj::object instance(const std::string& service_id) {
    auto r = root().get("/api/service/" + service_id, adminToken());
    if (!r.json.is_object()) return {};
    const auto* list = oak::json::findArray(r.json.get_object(), "instance_list");
    if (list == nullptr || list->empty() || !list->front().is_object()) return {};
    return list->front().get_object();
  }

  // Waits for instance 0 to reach `status` with `detail` in its status_detail.
  bj::object waitForStatus(const std::string& service_id, const std::string& status,
                           const std::string& detail = "",
                           std::chrono::milliseconds timeout = 60s) {
    bj::object last;
    EXPECT_TRUE(eventually("instance " + status, timeout, [&] {
      last = instance(service_id);
      return str(last, "status") == status &&
             str(last, "status_detail").find(detail) != std::string::npos;
    })) << bj::serialize(last);
    return last;
  }

  std::vector<std::string> logLines(const std::string& service_id, const std::string& stream) {
    auto r = root().get("/api/service/" + service_id + "/instance/0/logs?stream=" + stream,
                        adminToken());
    std::vector<std::string> out;
    if (r.status != 200 || !r.json.is_object()) return out;
    for (const auto& l : r.json.get_object().at("lines").as_array()) {
      out.push_back(str(l.as_object(), "line"));
    }
    return out;
  }

  std::string next() { return std::to_string(++counter_); }

  TempDir dir_;
  uint16_t root_port_ = 0;
  uint16_t cluster_port_ = 0;
  uint16_t mqtt_port_ = 0;
  std::unique_ptr<Process> root_;
  std::unique_ptr<Process> cluster_;
  std::map<std::string, std::unique_ptr<Process>> workers_;
  std::map<std::string, uint16_t> worker_ports_;  // each worker's local endpoint (/metrics)
  std::string admin_;
  std::string default_code_;  // the image or kernel URL services get when they name none
  int counter_ = 0;
};

}  // namespace oak::testing
