// The quick start's two waits, timed as users meet them:
//   (a) `oakestra up` started → the root's API answers (GET /healthz), and → the banner (root,
//       cluster and worker ready), on a fresh data directory each run;
//   (b) `oak apply -f examples/nginx.json` → the command returns with the instance RUNNING, the
//       image already present (a first apply pulls it, untimed), `oak app rm` between runs.
// containerd runs already (a private one, as on a host where it is a service); with
// --own-containerd `up` starts its own for (a) instead. The image is a busybox httpd from a
// registry on loopback standing in for nginx (no Internet needed).
//
//   build/bin/quickstart_bench [--runs 10] [--own-containerd]
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "bench_util.h"
#include "containerd_daemon.h"
#include "http/client.h"
#include "oak_runner.h"
#include "process.h"
#include "registry.h"
#include "temp_dir.h"
#include "wait.h"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using namespace oak::testing;
using Clock = std::chrono::steady_clock;
using oak::bench::local;
using oak::bench::ms;

// Polls every 5 ms (waitUntil's 50 ms would blur the numbers); false at the deadline.
template <typename Cond>
bool pollUntil(std::chrono::milliseconds timeout, Cond cond) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void report(const char* what, std::vector<double> v, double goal_ms) {
  std::sort(v.begin(), v.end());
  double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  std::printf("%-34s runs %2zu  min %7.1f  median %7.1f  worst %7.1f ms", what, v.size(), v.front(),
              median, v.back());
  if (goal_ms > 0)
    std::printf("  (goal %.0f ms: %s)", goal_ms, v.back() <= goal_ms ? "met" : "missed");
  std::printf("\n");
}

// One `oakestra up` on fresh ports in `data_dir`.
struct Up {
  uint16_t root = pickFreePort(), cluster = pickFreePort(), mqtt = pickFreePort(),
           metrics = pickFreePort();
  std::unique_ptr<Process> process;

  Up(const TempDir& dir, const std::string& data_dir, const std::string& socket) {
    process = std::make_unique<Process>(
        binaryPath("oakestra"),
        std::vector<std::string>{"up", "--data-dir", dir.file(data_dir), "--root-listen",
                                 local(root), "--cluster-listen", local(cluster), "--mqtt-listen",
                                 local(mqtt), "--metrics-listen", local(metrics),
                                 "--containerd-socket", socket, "--containerd-namespace",
                                 "quickstart-bench-" + std::to_string(::getpid()), "--advertise",
                                 "127.0.0.1", "--no-overlay"},
        std::map<std::string, std::string>{}, dir.file(data_dir + ".log"));
  }
  bool healthy() const {
    auto r = oak::http::fetch("127.0.0.1", root, {oak::http::Method::kGet, "/healthz", {}, ""}, 1s);
    return r && r->status == 200;
  }
  bool ready() const { return process->log().find("Oakestra is up.") != std::string::npos; }
};

// (a): start → healthy and start → banner, each run on a fresh data directory.
bool timeStartUps(const TempDir& dir, const std::string& socket, bool own_containerd, int runs) {
  std::vector<double> healthy, ready;
  for (int n = 0; n < runs; ++n) {
    std::string sock = own_containerd ? dir.file("own" + std::to_string(n) + ".sock") : socket;
    auto start = Clock::now();
    Up up(dir, "up" + std::to_string(n), sock);
    if (!pollUntil(60s, [&] { return up.healthy() || !up.process->running(); }) ||
        !up.process->running()) {
      return spdlog::error("up did not come up:\n{}", up.process->log()), false;
    }
    healthy.push_back(ms(Clock::now() - start));
    if (!pollUntil(60s, [&] { return up.ready() || !up.process->running(); }) ||
        !up.process->running()) {
      return spdlog::error("up did not get ready:\n{}", up.process->log()), false;
    }
    ready.push_back(ms(Clock::now() - start));
    if (up.process->stop(SIGINT, 60s) != 0) return spdlog::error("up did not stop"), false;
  }
  report("up -> API healthy", healthy, 2000);
  report("up -> banner (worker joined)", ready, 0);
  return true;
}

// (b): `oak apply` of the nginx example until it returns, the image present.
bool timeApplies(const TempDir& dir, const std::string& socket, const std::string& image,
                 uint16_t http_port, int runs) {
  Up up(dir, "apply", socket);
  if (!waitUntil("banner", 60s, [&] { return up.ready() || !up.process->running(); }) ||
      !up.process->running()) {
    return spdlog::error("up did not get ready:\n{}", up.process->log()), false;
  }
  OakRunner oak(dir);
  auto login = oak.run({"--url", "http://" + local(up.root), "login", "-p", "Admin"});
  if (login.exit_code != 0) return spdlog::error("login: {}", describe(login)), false;
  auto sla = bj::parse(OakRunner::readAll(std::string(OAK_SOURCE_DIR) + "/examples/nginx.json"));
  sla.at("applications").at(0).at("microservices").at(0).as_object()["code"] = image;
  std::ofstream(dir.file("nginx.json")) << bj::serialize(sla);

  std::vector<double> applies;
  for (int n = 0; n <= runs; ++n) {
    auto start = Clock::now();
    auto applied = oak.run({"apply", "-f", dir.file("nginx.json"), "--timeout", "60s"});
    double took = ms(Clock::now() - start);
    if (applied.exit_code != 0) return spdlog::error("apply: {}", describe(applied)), false;
    if (n > 0) applies.push_back(took);  // the first one pulls the image
    if (n == 0) std::printf("first apply (pulls the image): %.1f ms\n", took);
    auto removed = oak.run({"app", "rm", "clientsrvr"});
    if (removed.exit_code != 0) return spdlog::error("app rm: {}", describe(removed)), false;
    // The next instance binds the same port: wait until this one is gone.
    if (!waitUntil("the instance gone", 30s, [&] { return !waitForPort(http_port, 30ms); })) {
      return spdlog::error("the instance did not go away"), false;
    }
  }
  report("oak apply -> RUNNING (image present)", applies, 1000);
  return up.process->stop(SIGINT, 60s) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("quick start benchmark");
  int runs = 10;
  bool own_containerd = false;
  app.add_option("--runs", runs, "timed runs of each kind");
  app.add_flag("--own-containerd", own_containerd, "let `up` start containerd for (a)");
  CLI11_PARSE(app, argc, argv);

  TempDir dir;
  ContainerdDaemon containerd;
  if (!containerd.waitReady(30s)) return 1;
  auto registry = LocalRegistry::start();
  if (!registry) return spdlog::error("{}", registry.error().message), 1;
  uint16_t http_port = pickFreePort();
  BusyboxImageOptions httpd;
  httpd.cmd = {"sh", "-c",
               fmt::format("mkdir -p /www && echo hello > /www/index.html && echo serving && "
                           "httpd -f -p {} -h /www & trap 'kill $!; exit 0' TERM; wait",
                           http_port)};
  auto image = pushBusyboxImage(**registry, "nginx", "alpine", httpd);
  if (!image) return spdlog::error("{}", image.error().message), 1;

  if (!timeStartUps(dir, containerd.socket(), own_containerd, runs)) return 1;
  if (!timeApplies(dir, containerd.socket(), image->reference, http_port, runs)) return 1;
  return 0;
}
