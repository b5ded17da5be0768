#include "up/up_main.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "common/child_process.h"
#include "common/files.h"
#include "common/host_port.h"
#include "common/unique_fd.h"
#include "doctor/checks.h"
#include "http/client.h"
#include "worker/host/host_probe.h"

namespace oak::up {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopGrace = std::chrono::seconds(15);

struct Child {
  std::string name;
  pid_t pid;
};

// A token file the daemons wrote; "" when missing, and the daemon then refuses it by name.
std::string readTrimmed(const std::string& path) {
  auto text = files::read(path);
  std::string s = text ? *text : std::string();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool acceptsConnections(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// True once the root counts a worker in a cluster that is connected now (not one remembered from
// the last run): from then on it can place services, so `oak apply` right after the banner
// works. A root whose /metrics wants a token cannot tell: true.
bool rootHasWorker(uint16_t port) {
  http::ClientRequest req{http::Method::kGet, "/metrics", {}, ""};
  auto res = http::fetch("127.0.0.1", port, req, std::chrono::seconds(2));
  if (!res) return false;
  if (res->status != 200) return true;
  // Samples "NAME{cluster=\"...\"} VALUE" of the two gauges, by their labels.
  std::map<std::string, double> connected, workers;
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    auto brace = line.find('{'), close = line.find('}'), space = line.rfind(' ');
    if (brace == std::string::npos || close == std::string::npos || space == std::string::npos ||
        space < close) {
      continue;
    }
    std::string name = line.substr(0, brace), labels = line.substr(brace, close - brace);
    double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (name == "oakestra_root_cluster_connected") connected[labels] = value;
    if (name == "oakestra_root_cluster_workers") workers[labels] = value;
  }
  for (const auto& [labels, n] : workers) {
    if (n >= 1 && connected[labels] >= 1) return true;
  }
  return false;
}

class Deployment {
 public:
  explicit Deployment(UpOptions o) : o_(std::move(o)) {}
  ~Deployment() { stopAll(); }

  Status start();
  void printBanner() const;
  // Waits for Ctrl-C (0) or for a child to die (1).
  int wait();

 private:
  Result<Child> spawn(const std::string& name, std::vector<std::string> args);
  Result<std::vector<std::string>> containerdArgs() const;
  // Bounded wait until `ready` holds; fails early when any child died (its log says why).
  Status waitUntilReady(const Child& c, const std::function<bool()>& ready);
  // "NAME exited (HOW); see LOG" for the first child that has exited, which is reaped and no
  // longer ours to stop; nullopt while all run.
  std::optional<std::string> reapExited();
  void stopAll();
  std::string log(const std::string& name) const { return o_.data_dir + "/" + name + ".log"; }

  UpOptions o_;
  std::string self_;
  std::string advertise_;
  bool fresh_ = false;
  std::vector<Child> children_;  // in start order
};

Result<Child> Deployment::spawn(const std::string& name, std::vector<std::string> args) {
  OAK_ASSIGN_OR_RETURN(pid_t pid, process::spawnDaemon(args, log(name)));
  children_.push_back({name, pid});
  spdlog::info("{} started (pid {}), log in {}", name, pid, log(name));
  return children_.back();
}

// The containerd `up` starts keeps everything under the data directory (its own config, root,
// state and ttrpc socket next to the API socket), so it shares nothing with a system containerd
// that is installed but stopped, and the images it pulled are there on the next run.
Result<std::vector<std::string>> Deployment::containerdArgs() const {
  std::string dir = fs::absolute(o_.data_dir + "/containerd").string();
  OAK_TRY(files::ensureDirectory(dir, 0700));
  // No CRI plugin: it would want CNI and a Kubernetes node, and workers do not use it.
  std::string config = fmt::format(
      "version = 2\n"
      "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
      "[ttrpc]\n  address = \"{}.ttrpc\"\n"
      "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{}/opt\"\n",
      o_.containerd_socket, dir);
  OAK_TRY(files::writeAtomic(dir + "/config.toml", config));
  return std::vector<std::string>{
      "/usr/bin/containerd", "--config",  dir + "/config.toml", "--root", dir + "/root", "--state",
      dir + "/state",        "--address", o_.containerd_socket};
}

std::optional<std::string> Deployment::reapExited() {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if (auto st = process::reapIfExited(it->pid)) {
      auto what = fmt::format("{} exited ({}); see {}", it->name, process::describeExit(*st),
                              log(it->name));
      children_.erase(it);
      return what;
    }
  }
  return std::nullopt;
}

Status Deployment::waitUntilReady(const Child& c, const std::function<bool()>& ready) {
  auto deadline = Clock::now() + kStartTimeout;
  while (!ready()) {
    if (auto exited = reapExited()) return makeError(ErrorCode::kUnavailable, *exited);
    if (Clock::now() >= deadline) {
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("{} not ready after {} s; see {}", c.name,
                                   std::chrono::seconds(kStartTimeout).count(), log(c.name)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

Status Deployment::start() {
  OAK_TRY(files::ensureDirectory(o_.data_dir, 0700));
  self_ = fs::read_symlink("/proc/self/exe").string();
  advertise_ = o_.advertise.empty() ? worker::firstNonLoopbackIpv4() : o_.advertise;
  if (advertise_.empty()) advertise_ = "127.0.0.1";
  OAK_ASSIGN_OR_RETURN(auto root_addr, parseHostPort(o_.root_listen, "--root-listen"));
  OAK_ASSIGN_OR_RETURN(auto cluster_addr, parseHostPort(o_.cluster_listen, "--cluster-listen"));
  OAK_ASSIGN_OR_RETURN(auto metrics_addr, parseHostPort(o_.metrics_listen, "--metrics-listen"));
  fresh_ = !fs::exists(o_.data_dir + "/root");

  if (o_.start_containerd && !fs::is_socket(o_.containerd_socket)) {
    if (::access("/usr/bin/containerd", X_OK) != 0) {
      spdlog::warn(
          "containerd is not installed: this worker will not run containers "
          "(apt-get install containerd runc)");
    } else {
      OAK_ASSIGN_OR_RETURN(auto args, containerdArgs());
      OAK_ASSIGN_OR_RETURN(auto c, spawn("containerd", std::move(args)));
      OAK_TRY(waitUntilReady(c, [&] { return fs::is_socket(o_.containerd_socket); }));
    }
  }

  std::vector<std::string> root_args{self_,          "root",       "--listen",
                                     o_.root_listen, "--data-dir", o_.data_dir + "/root"};
  OAK_ASSIGN_OR_RETURN(auto root, spawn("root", std::move(root_args)));
  OAK_TRY(waitUntilReady(root, [&] { return acceptsConnections(root_addr.second); }));

  std::vector<std::string> cluster_args{
      self_,           "cluster",
      "--root",        fmt::format("http://127.0.0.1:{}", root_addr.second),
      "--name",        o_.cluster_name,
      "--token",       readTrimmed(o_.data_dir + "/root/cluster-token"),
      "--listen",      o_.cluster_listen,
      "--mqtt-listen", o_.mqtt_listen,
      "--data-dir",    o_.data_dir + "/cluster"};
  OAK_ASSIGN_OR_RETURN(auto cluster, spawn("cluster", std::move(cluster_args)));
  OAK_TRY(waitUntilReady(cluster, [&] { return acceptsConnections(cluster_addr.second); }));

  std::vector<std::string> worker_args{
      self_, "worker", "--cluster", fmt::format("http://127.0.0.1:{}", cluster_addr.second),
      "--token", readTrimmed(o_.data_dir + "/cluster/worker-token"), "--data-dir",
      o_.data_dir + "/worker", "--metrics-listen", o_.metrics_listen, "--containerd-socket",
      o_.containerd_socket, "--containerd-namespace", o_.containerd_namespace,
      // Ctrl-C leaves nothing running; the next run resumes.
      "--leave-on-exit"};
  if (o_.unikernel) worker_args.push_back("--unikernel");
  if (o_.overlay) {
    auto tun = doctor::checkTun("/dev");
    if (::geteuid() == 0 && tun.outcome == doctor::Outcome::kOk) {
      // Workers that join later reach this one's tunnel where they reach the cluster, not at the
      // loopback address the local worker talks to its cluster on.
      worker_args.insert(worker_args.end(), {"--overlay", "--advertise-address", advertise_});
    } else {
      std::printf("note: instances share this machine's network (no overlay): %s\n",
                  ::geteuid() != 0 ? "not running as root" : tun.detail.c_str());
    }
  }
  OAK_ASSIGN_OR_RETURN(auto worker, spawn("worker", std::move(worker_args)));
  // The worker serves its local endpoint once it has registered; its first report then reaches
  // the root through the cluster.
  OAK_TRY(waitUntilReady(worker, [&] { return acceptsConnections(metrics_addr.second); }));
  return waitUntilReady(worker, [&] { return rootHasWorker(root_addr.second); });
}

void Deployment::printBanner() const {
  auto port = [](const std::string& listen) {
    return parseHostPort(listen, "listen").value().second;
  };
  std::string token = readTrimmed(o_.data_dir + "/cluster/worker-token");
  std::printf(
      "\nOakestra is up.\n"
      "  Dashboard    http://%s:%u/\n"
      "  API          http://%s:%u  (OpenAPI: /api/docs/openapi.json)\n"
      "  Login        %s\n"
      "  CLI          oak --url http://%s:%u login\n"
      "  Join another worker to this cluster:\n"
      "    oakestra worker --cluster http://%s:%u --token %s --name <worker-name> --overlay\n"
      "  State and logs in %s. Ctrl-C stops everything; running it again resumes.\n\n",
      advertise_.c_str(), port(o_.root_listen), advertise_.c_str(), port(o_.root_listen),
      fresh_ ? "Admin / Admin (first start: change the password now)"
             : "your accounts (user Admin on a fresh start)",
      advertise_.c_str(), port(o_.root_listen), advertise_.c_str(), port(o_.cluster_listen),
      token.c_str(), o_.data_dir.c_str());
  std::fflush(stdout);
}

int Deployment::wait() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGTERM);
  for (;;) {
    timespec tick{0, 200'000'000};
    int sig = ::sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {}: stopping", sig);
      return 0;
    }
    if (auto exited = reapExited()) {
      spdlog::error("{}; stopping the rest", *exited);
      return 1;
    }
  }
}

void Deployment::stopAll() {
  // Reverse order: the worker leaves before its cluster, the cluster before the root.
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    int st = process::terminate(it->pid, kStopGrace);
    spdlog::info("{} stopped ({})", it->name, process::describeExit(st));
  }
  children_.clear();
}

}  // namespace

int runUp(UpOptions options) {
  // Signals are taken synchronously in `wait`; children get them unblocked (spawnDaemon).
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Deployment d(std::move(options));
  if (auto s = d.start(); !s) {
    spdlog::critical("oakestra up: {}", s.error().message);
    return 1;
  }
  d.printBanner();
  return d.wait();
}

}  // namespace oak::up
