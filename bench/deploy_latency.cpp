// Deploy latency through the whole hierarchy, against a bare `ctr run` of the same image in the
// same run, and the worker's memory with many containers running.
//
// Starts a private containerd and registry, `oakestra root`, `cluster` and `worker`; pushes a
// busybox image; deploys one instance to pull it; then times N instance deployments from the
// API request to the root reporting RUNNING (the image is present), and N `ctr run -d` of the
// same image. Finally scales to --containers instances and reads the worker agent's RSS. Also
// reports the control plane's CPU and log lines per deployment (for bench/log_cost).
//
//   build/bin/deploy_latency [--runs 30] [--containers 50]
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_client.h"
#include "bench_util.h"
#include "common/json.h"
#include "containerd_daemon.h"
#include "process.h"
#include "registry.h"
#include "temp_dir.h"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using oak::testing::ApiClient;
using Clock = std::chrono::steady_clock;
using oak::bench::ms;
using oak::bench::stats;

std::string str(const bj::object& o, std::string_view key) {
  return oak::json::getString(o, key).value_or("");
}

int run(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A field of /proc/<pid>/status in kB ("VmRSS", "RssAnon", "RssFile").
long statusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Proportional set size of every log driver (memory really used, shared pages split).
double logDriversPssMb(int* count) {
  double kb = 0;
  *count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string cmdline = oak::bench::readTrimmed(entry.path().string() + "/cmdline");
    if (cmdline.find("--log-driver") == std::string::npos) continue;
    std::ifstream in(entry.path().string() + "/smaps_rollup");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Pss:", 0) == 0) kb += std::stod(line.substr(4));
    }
    ++*count;
  }
  return kb / 1024;
}

std::string memory(pid_t pid) {
  return fmt::format("RSS {:.1f} MB (anonymous {:.1f}, file {:.1f})",
                     statusKb(pid, "VmRSS") / 1024.0, statusKb(pid, "RssAnon") / 1024.0,
                     statusKb(pid, "RssFile") / 1024.0);
}

}  // namespace

// One value of the Prometheus text `body`: the sum of the samples of `name` (any labels).
double metricSum(const std::string& body, const std::string& name) {
  double sum = 0;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name) || (line[name.size()] != ' ' && line[name.size()] != '{')) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

struct ControlPlane {
  double cpu_s = 0;
  double lines = 0;  // logged at the daemons' level (info)
};

// Summed over the daemons listening on `ports` (their /metrics).
ControlPlane controlPlane(const std::vector<uint16_t>& ports) {
  ControlPlane c;
  for (uint16_t p : ports) {
    auto body = ApiClient(p).get("/metrics").body;
    c.cpu_s += metricSum(body, "process_cpu_seconds_total");
    c.lines += metricSum(body, "oakestra_log_messages_total");
  }
  return c;
}

int main(int argc, char** argv) {
  CLI::App app("deploy latency benchmark");
  int runs = 30;
  int containers = 50;
  app.add_option("--runs", runs, "timed deployments of each kind");
  app.add_option("--containers", containers, "instances running for the RSS reading");
  CLI11_PARSE(app, argc, argv);

  oak::testing::TempDir dir;
  oak::testing::ContainerdDaemon containerd;
  if (!containerd.waitReady(30s)) return 1;
  auto registry = oak::testing::LocalRegistry::start();
  if (!registry) return spdlog::error("{}", registry.error().message), 1;
  auto image = oak::testing::pushBusyboxImage(**registry, "busybox", "v1");
  if (!image) return spdlog::error("{}", image.error().message), 1;

  auto port = [] { return oak::testing::pickFreePort(); };
  uint16_t root_port = port(), cluster_port = port(), mqtt_port = port(), worker_port = port();
  auto local = [](uint16_t p) { return "127.0.0.1:" + std::to_string(p); };
  std::string bin = oak::testing::binaryPath("oakestra");
  oak::testing::Process root(bin,
                             {"root", "--listen", local(root_port), "--data-dir", dir.file("root")},
                             {}, dir.file("root.log"));
  if (!oak::testing::waitForPort(root_port, 20s)) return 1;
  oak::testing::Process cluster(
      bin,
      {"cluster", "--root", "http://" + local(root_port), "--name", "bench", "--token",
       oak::bench::readTrimmed(dir.file("root") + "/cluster-token"), "--listen",
       local(cluster_port), "--data-dir", dir.file("cluster"), "--mqtt-listen", local(mqtt_port)},
      {}, dir.file("cluster.log"));
  if (!oak::testing::waitForPort(cluster_port, 20s)) return 1;
  oak::testing::Process worker(
      bin,
      {"worker", "--cluster", "http://" + local(cluster_port), "--name", "w", "--data-dir",
       dir.file("worker"), "--token",
       oak::bench::readTrimmed(dir.file("cluster") + "/worker-token"), "--metrics-listen",
       local(worker_port), "--report-interval", "1", "--containerd-socket", containerd.socket(),
       "--containerd-namespace", "bench-" + std::to_string(::getpid())},
      {}, dir.file("worker.log"));

  ApiClient api(root_port);
  std::string token = api.login("Admin", "Admin");
  bj::object service{{"microserviceID", ""},
                     {"microservice_name", "sleeper"},
                     {"microservice_namespace", "bench"},
                     {"virtualization", "container"},
                     {"memory", 8},
                     {"vcpus", 0},
                     {"code", image->reference},
                     {"cmd", bj::array{"sleep", "3600"}}};
  bj::object sla{{"sla_version", "v2.0"},
                 {"customerID", "Admin"},
                 {"applications", bj::array{bj::object{{"application_name", "bench"},
                                                       {"application_namespace", "bench"},
                                                       {"application_desc", "latency"},
                                                       {"microservices", bj::array{service}}}}}};
  auto created = api.post("/api/application/", sla, token);
  if (created.status != 200) return spdlog::error("creating the service: {}", created.body), 1;
  std::string app_id = str(created.json.as_array().front().as_object(), "applicationID");
  std::string id =
      str(api.get("/api/services/" + app_id, token).json.as_array().front().as_object(),
          "microserviceID");
  auto running = [&](int n) {
    auto doc = api.get("/api/service/" + id, token);
    if (!doc.json.is_object()) return false;
    for (const auto& i : doc.json.as_object().at("instance_list").as_array()) {
      if (i.at("instance_number").to_number<int64_t>() == n)
        return str(i.as_object(), "status") == "RUNNING";
    }
    return false;
  };
  auto deploy = [&](int n, std::chrono::milliseconds step) -> double {
    auto start = Clock::now();
    auto up = api.call(oak::http::Method::kPost, "/api/service/" + id + "/instance", "", token);
    if (up.status != 200) return -1;
    if (!oak::bench::pollUntil(120s, step, [&] { return running(n); })) return -1;
    return ms(Clock::now() - start);
  };

  // Let the worker join, then pull the image with a first instance.
  if (!oak::bench::pollUntil(30s, 100ms, [&] {
        return api.get("/api/v1/resources/clusters", token).body.find("\"nodes\":1") !=
               std::string::npos;
      }))
    return spdlog::error("worker did not join"), 1;
  double first = deploy(0, 20ms);
  std::printf("first deployment (pulls the image): %.1f ms\n", first);
  std::printf("worker agent with 1 container: %s\n", memory(worker.pid()).c_str());

  // CPU and log lines of the three daemons over the timed deployments, from their /metrics.
  std::vector<uint16_t> daemons{root_port, cluster_port, worker_port};
  auto before = controlPlane(daemons);
  std::vector<double> ours;
  for (int n = 1; n <= runs; ++n) {
    double t = deploy(n, 2ms);
    if (t < 0) return spdlog::error("deployment {} failed", n), 1;
    ours.push_back(t);
  }
  auto after = controlPlane(daemons);

  // The floor: `ctr run -d` of the same image in another namespace (pulled beforehand).
  std::string sock = containerd.socket();
  std::string bare_ns = "bare-" + std::to_string(::getpid());
  if (run({"ctr", "-a", sock, "-n", bare_ns, "images", "pull", "--plain-http", image->reference}) !=
      0)
    return spdlog::error("ctr pull failed"), 1;
  std::vector<double> bare;
  for (int n = 0; n < runs; ++n) {
    auto start = Clock::now();
    if (run({"ctr", "-a", sock, "-n", bare_ns, "run", "-d", "--null-io", image->reference,
             "bare-" + std::to_string(n), "sleep", "3600"}) != 0)
      return spdlog::error("ctr run failed"), 1;
    bare.push_back(ms(Clock::now() - start));
  }

  for (int n = runs + 1; n < containers; ++n) {
    if (deploy(n, 20ms) < 0) return spdlog::error("deployment {} failed", n), 1;
  }
  std::this_thread::sleep_for(3s);  // a few report cycles with everything running
  std::string worker_memory = memory(worker.pid());
  int drivers = 0;
  double drivers_pss = logDriversPssMb(&drivers);

  auto o = stats(ours), b = stats(bare);
  std::printf("%-28s %8s %8s %8s %8s\n", "", "min", "p50", "p90", "max");
  std::printf("%-28s %8.1f %8.1f %8.1f %8.1f\n", "API -> RUNNING (ms)", o.min, o.p50, o.p90, o.max);
  std::printf("%-28s %8.1f %8.1f %8.1f %8.1f\n", "bare ctr run -d (ms)", b.min, b.p50, b.p90,
              b.max);
  std::printf("p50 difference: %.1f ms\n", o.p50 - b.p50);
  std::printf("worker agent with %d containers: %s\n", containers, worker_memory.c_str());
  std::printf("log drivers: %d, PSS %.1f MB in all\n", drivers, drivers_pss);
  std::printf("per deployment, root + cluster + worker: %.2f ms CPU, %.1f log lines\n",
              (after.cpu_s - before.cpu_s) * 1000 / runs, (after.lines - before.lines) / runs);

  worker.stop();
  return 0;
}
