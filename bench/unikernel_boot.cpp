// Unikernel deploy latency through the whole hierarchy, against a bare QEMU boot of the same
// kernel in the same run, with KVM and with software emulation (TCG).
//
// Builds a multiboot kernel that prints a line on the serial port and halts forever, serves it as
// a kernel bundle on loopback, and for each acceleration starts `oakestra root`, `cluster` and a
// `worker --unikernel` (`--unikernel-no-kvm` for emulation) in folders of their own. A first
// instance fills the worker's download cache; then N instances are deployed one at a time and
// timed from the API request to (a) the root reporting RUNNING and (b) the kernel's line in the
// instance's logs (GET .../instance/<n>/logs), each undeployed before the next. The floor is N
// boots of QEMU with the runtime's own command line (qemuCommand) and the console on a pipe,
// timed from fork to the line.
//
//   build/bin/unikernel_boot [--runs 20] [--verbose] [--keep-logs DIR]
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "api_client.h"
#include "bench_util.h"
#include "common/json.h"
#include "process.h"
#include "temp_dir.h"
#include "unikernel_bundles.h"
#include "worker/runtime/unikernel/kernel_store.h"
#include "worker/runtime/unikernel/qemu.h"

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace uk = oak::worker::unikernel;
using namespace std::chrono_literals;
using oak::testing::ApiClient;
using oak::testing::Process;
using Clock = std::chrono::steady_clock;
using oak::bench::local;
using oak::bench::ms;
using oak::bench::pollUntil;
using oak::bench::readTrimmed;
using oak::bench::stats;
using oak::bench::Stats;

constexpr char kLine[] = "unikernel boot bench: guest up";
constexpr auto kBootTimeout = 60s;  // emulation on a loaded machine

struct Series {
  std::vector<double> running;  // API request → RUNNING
  std::vector<double> console;  // API request → the kernel's line in the instance's logs
  std::vector<double> bare;     // fork of QEMU → the kernel's line on the pipe
  std::vector<double> logs;     // one logs request once the line is there (the API's share)
};

struct Options {
  int runs = 20;
  bool verbose = false;
  std::string keep_logs;  // copy the daemons' logs here
};

struct Deployment {
  double running = 0, console = 0, logs = 0;
};

// Root, cluster and one unikernel worker in `dir`, and a service of the kernel at `url`.
class Hierarchy {
 public:
  Hierarchy(const std::string& dir, bool kvm) : dir_(dir) {
    fs::create_directories(dir_);  // for the logs
    root_ = start("root", {"--listen", local(root_port_), "--data-dir", dir_ + "/root"});
    if (!oak::testing::waitForPort(root_port_, 20s)) return;
    cluster_ = start("cluster",
                     {"--root", "http://" + local(root_port_), "--name", "bench", "--token",
                      readTrimmed(dir_ + "/root/cluster-token"), "--listen", local(cluster_port_),
                      "--data-dir", dir_ + "/cluster", "--mqtt-listen", local(mqtt_port_)});
    if (!oak::testing::waitForPort(cluster_port_, 20s)) return;
    worker_ = start("worker",
                    {"--cluster", "http://" + local(cluster_port_), "--name", "w", "--data-dir",
                     dir_ + "/worker", "--token", readTrimmed(dir_ + "/cluster/worker-token"),
                     "--metrics-listen", local(oak::testing::pickFreePort()), "--report-interval",
                     "1", "--unikernel", fmt::format("--unikernel-no-kvm={}", !kvm)});
    token_ = api_.login("Admin", "Admin");
  }

  // The worker joined, and its runtime says it runs guests with the expected acceleration.
  bool ready(bool kvm) {
    std::string note = kvm ? ", KVM)" : ", emulation)";
    return worker_ && pollUntil(30s, 100ms, [&] {
             return worker_->log().find(note) != std::string::npos &&
                    api_.get("/api/v1/resources/clusters", token_).body.find("\"nodes\":1") !=
                        std::string::npos;
           });
  }

  bool createService(const std::string& url) {
    bj::object service{{"microserviceID", ""},
                       {"microservice_name", "guest"},
                       {"microservice_namespace", "bench"},
                       {"virtualization", "unikernel"},
                       {"memory", 32},
                       {"vcpus", 1},
                       {"code", url},
                       {"arch", bj::array{"amd64"}}};
    bj::object sla{{"sla_version", "v2.0"},
                   {"customerID", "Admin"},
                   {"applications", bj::array{bj::object{{"application_name", "bench"},
                                                         {"application_namespace", "bench"},
                                                         {"application_desc", "boot"},
                                                         {"microservices", bj::array{service}}}}}};
    auto created = api_.post("/api/application/", sla, token_);
    if (created.status != 200)
      return spdlog::error("creating the service: {}", created.body), false;
    auto app = oak::json::getString(created.json.as_array().front().as_object(), "applicationID");
    auto services = api_.get("/api/services/" + app.value_or(""), token_).json;
    service_ = oak::json::getString(services.as_array().front().as_object(), "microserviceID")
                   .value_or("");
    return !service_.empty();
  }

  // Deploys instance `n` and times it; undeploys it and waits until its QEMU is gone.
  std::optional<Deployment> deploy(int n) {
    Deployment d;
    auto start = Clock::now();
    auto up =
        api_.call(oak::http::Method::kPost, "/api/service/" + service_ + "/instance", "", token_);
    if (up.status != 200) return spdlog::error("deploying: {}", up.body), std::nullopt;
    if (!pollUntil(kBootTimeout, 2ms, [&] { return status(n) == "RUNNING"; }))
      return spdlog::error("instance {}: not RUNNING ({})", n, status(n)), std::nullopt;
    d.running = ms(Clock::now() - start);
    std::string logs = fmt::format("/api/service/{}/instance/{}/logs?stream=stdout", service_, n);
    if (!pollUntil(kBootTimeout, 5ms,
                   [&] { return api_.get(logs, token_).body.find(kLine) != std::string::npos; }))
      return spdlog::error("instance {}: the kernel's line never reached its logs", n),
             std::nullopt;
    d.console = ms(Clock::now() - start);
    auto again = Clock::now();
    (void)api_.get(logs, token_);
    d.logs = ms(Clock::now() - again);
    auto down = api_.call(oak::http::Method::kDelete,
                          fmt::format("/api/service/{}/instance/{}", service_, n), "", token_);
    if (down.status != 200) return spdlog::error("undeploying: {}", down.body), std::nullopt;
    // The runtime removes an instance's run dir once its QEMU has ended.
    std::string run = dir_ + "/worker/unikernel/run";
    if (!pollUntil(30s, 20ms, [&] {
          std::error_code ec;
          return !fs::exists(run) || fs::is_empty(run, ec);
        }))
      return spdlog::error("instance {}: QEMU still runs after undeploying", n), std::nullopt;
    return d;
  }

  // The daemons' logs into `to` (for their timestamps).
  void keepLogs(const std::string& to, const std::string& prefix) const {
    std::error_code ec;
    fs::create_directories(to, ec);
    for (const char* name : {"root", "cluster", "worker"}) {
      fs::copy_file(dir_ + "/" + name + ".log", fmt::format("{}/{}-{}.log", to, prefix, name),
                    fs::copy_options::overwrite_existing, ec);
    }
  }

 private:
  // `oakestra <daemon> args...`, logging to <dir>/<daemon>.log.
  std::unique_ptr<Process> start(const std::string& daemon, std::vector<std::string> args) {
    args.insert(args.begin(), daemon);
    return std::make_unique<Process>(oak::testing::binaryPath("oakestra"), std::move(args),
                                     std::map<std::string, std::string>{},
                                     dir_ + "/" + daemon + ".log");
  }

  std::string status(int n) {
    auto doc = api_.get("/api/service/" + service_, token_);
    const bj::array* list = doc.json.is_object()
                                ? oak::json::findArray(doc.json.as_object(), "instance_list")
                                : nullptr;
    for (const auto& i : list ? *list : bj::array{}) {
      if (i.is_object() && oak::json::getInt(i.as_object(), "instance_number") == n)
        return oak::json::getString(i.as_object(), "status").value_or("");
    }
    return "";
  }

  std::string dir_;
  uint16_t root_port_ = oak::testing::pickFreePort(), cluster_port_ = oak::testing::pickFreePort(),
           mqtt_port_ = oak::testing::pickFreePort();
  ApiClient api_{root_port_};
  std::unique_ptr<Process> root_, cluster_, worker_;
  std::string token_;
  std::string service_;
};

// One QEMU with the runtime's command line in `dir`, the console on a pipe: ms from fork to the
// kernel's line, then killed. -1 when the line does not come.
double bareBoot(const uk::QemuHost& host, const uk::KernelBundle& bundle, const std::string& dir) {
  fs::create_directories(dir);
  uk::VmConfig vm;
  vm.name = "bare";
  vm.kernel = bundle.kernel;
  vm.memory_mb = 32;
  vm.vcpus = 1;
  vm.shares = bundle.shares;
  vm.console = "/dev/stdout";  // the pipe below
  auto command = uk::qemuCommand(host, vm);
  std::vector<char*> argv;
  for (auto& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(devnull, 2);
    if (::chdir(dir.c_str()) == 0) ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  double took = -1;
  auto deadline = start + kBootTimeout;
  while (took < 0 && Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.find(kLine) != std::string::npos) took = ms(Clock::now() - start);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  return took;
}

// QEMU processes whose command line mentions `dir` (kernels live there), killed; how many.
int killLeftovers(const std::string& dir) {
  int found = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string cmdline = readTrimmed(entry.path().string() + "/cmdline");
    std::string binary = cmdline.substr(0, cmdline.find('\0'));
    if (binary.find("qemu-system") == std::string::npos) continue;
    if (cmdline.find(dir) == std::string::npos) continue;
    ::kill(std::stoi(entry.path().filename().string()), SIGKILL);
    ++found;
  }
  return found;
}

// Local time with milliseconds, as the daemons' logs show it.
std::string wallClock() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return fmt::format("{}.{:03d}", buf, millis.count() % 1000);
}

// Deploys and boots bare `opts.runs` times with one acceleration into `s`; false on a failure.
bool measure(const oak::testing::TempDir& dir, const std::string& url,
             const uk::KernelBundle& bundle, uk::QemuHost host, bool kvm, const Options& opts,
             Series& s) {
  const char* name = kvm ? "kvm" : "emulation";
  Hierarchy h(dir.file(name), kvm);
  if (!h.ready(kvm)) return spdlog::error("{}: the worker did not join", name), false;
  if (!h.createService(url)) return false;
  auto first = h.deploy(0);
  if (!first) return false;
  std::printf("%s: first deployment (downloads the bundle): RUNNING %.1f ms, console %.1f ms\n",
              name, first->running, first->console);
  host.kvm = kvm;
  // Deployments and bare boots take turns, so that both see the same load on the machine.
  for (int n = 1; n <= opts.runs; ++n) {
    std::string wall = wallClock();
    auto t = h.deploy(n);
    if (!t) return false;
    s.running.push_back(t->running);
    s.console.push_back(t->console);
    s.logs.push_back(t->logs);
    double bare = bareBoot(host, bundle, dir.file(fmt::format("bare-{}-{}", name, n)));
    if (bare < 0) return spdlog::error("bare QEMU ({}): no console line", name), false;
    s.bare.push_back(bare);
    if (opts.verbose) {
      std::printf("  %s #%d at %s: RUNNING %.1f ms, console %.1f ms, bare %.1f ms\n", name, n,
                  wall.c_str(), t->running, t->console, bare);
    }
  }
  if (!opts.keep_logs.empty()) h.keepLogs(opts.keep_logs, name);
  return true;
}

void printRow(const char* what, const std::vector<double>& v) {
  auto s = stats(v);
  std::printf("  %-30s %8.1f %8.1f %8.1f %8.1f\n", what, s.min, s.p50, s.p90, s.max);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("unikernel boot benchmark");
  Options opts;
  app.add_option("--runs", opts.runs, "timed deployments and bare boots per acceleration")
      ->check(CLI::Range(1, 1000));
  app.add_flag("--verbose", opts.verbose, "print every deployment with its wall-clock start");
  app.add_option("--keep-logs", opts.keep_logs,
                 "copy the daemons' logs into this folder at the end");
  CLI11_PARSE(app, argc, argv);

  oak::testing::TempDir dir;
  auto kernel =
      oak::testing::buildTestKernel(dir.path().string(), std::string(kLine) + "\\n", std::nullopt);
  if (!kernel) return spdlog::error("{}", kernel.error().message), 1;
  auto server =
      oak::testing::FileServer::start({{"guest.tar.gz", oak::testing::kernelBundle(*kernel)}});
  if (!server) return spdlog::error("{}", server.error().message), 1;
  std::string url = (*server)->url("guest.tar.gz");

  // The floor's kernel and shares, unpacked as the worker unpacks them.
  uk::KernelStore store(dir.file("bare-cache"));
  auto bundle = store.fetch(url);
  if (!bundle) return spdlog::error("{}", bundle.error().message), 1;
  uk::QemuHost qemu = uk::probeQemu(uk::hostArch());
  if (!qemu.available()) return spdlog::error("no qemu-system for {}", qemu.arch), 1;
  std::printf("%s, /dev/kvm %s\n", qemu.version.c_str(), qemu.kvm ? "works" : "does not work");

  std::vector<std::pair<bool, Series>> results;
  bool measured = true;
  for (bool kvm : {true, false}) {
    if (kvm && !qemu.kvm) continue;
    Series& s = results.emplace_back(kvm, Series{}).second;
    measured = measured && measure(dir, url, *bundle, qemu, kvm, opts, s);
  }
  // Also after a failure: a guest may be left when a deployment failed half-way.
  int left = killLeftovers(dir.path().string());
  if (left > 0) spdlog::error("{} QEMU processes were left; killed", left);
  if (!measured) return 1;

  std::printf("\n%d runs each, ms          %8s %8s %8s %8s\n", opts.runs, "min", "p50", "p90",
              "max");
  for (const auto& [kvm, s] : results) {
    std::printf("%s\n", kvm ? "KVM" : "emulation (TCG)");
    printRow("API -> RUNNING", s.running);
    printRow("API -> first console line", s.console);
    printRow("bare QEMU -> first console line", s.bare);
    printRow("one logs request (line there)", s.logs);
    double over = stats(s.console).p50 - stats(s.bare).p50;
    std::printf("  p50 above bare QEMU: %.1f ms (RUNNING: %.1f ms); goal <= 100 ms: %s\n", over,
                stats(s.running).p50 - stats(s.bare).p50, over <= 100 ? "met" : "missed");
  }
  std::printf("QEMU processes left at the end: %d\n", left);
  return left == 0 ? 0 : 1;
}
