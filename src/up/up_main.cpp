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
#include <thread>
#include <vector>

#include "common/child_process.h"
#include "common/files.h"
#include "common/host_port.h"
#include "common/unique_fd.h"
#include "doctor/checks.h"
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

// Bounded wait until `ready` holds; fails early when the child died (its log says why).
Status waitUntilReady(const Child& c, const std::string& log, const std::function<bool()>& ready) {
  auto deadline = Clock::now() + kStartTimeout;
  while (!ready()) {
    if (auto st = process::reapIfExited(c.pid)) {
      return makeError(ErrorCode::kUnavailable, fmt::format("{} exited ({}); see {}", c.name,
                                                            process::describeExit(*st), log));
    }
    if (Clock::now() >= deadline) {
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("{} not ready after {} s; see {}", c.name,
                                   std::chrono::seconds(kStartTimeout).count(), log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
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
      std::vector<std::string> args{"/usr/bin/containerd", "--address", o_.containerd_socket};
      OAK_ASSIGN_OR_RETURN(auto c, spawn("containerd", std::move(args)));
      OAK_TRY(waitUntilReady(c, log("containerd"),
                             [&] { return fs::is_socket(o_.containerd_socket); }));
    }
  }

  std::vector<std::string> root_args{self_,          "root",       "--listen",
                                     o_.root_listen, "--data-dir", o_.data_dir + "/root"};
  OAK_ASSIGN_OR_RETURN(auto root, spawn("root", std::move(root_args)));
  OAK_TRY(waitUntilReady(root, log("root"), [&] { return acceptsConnections(root_addr.second); }));

  std::vector<std::string> cluster_args{
      self_,           "cluster",
      "--root",        fmt::format("http://127.0.0.1:{}", root_addr.second),
      "--name",        o_.cluster_name,
      "--token",       readTrimmed(o_.data_dir + "/root/cluster-token"),
      "--listen",      o_.cluster_listen,
      "--mqtt-listen", o_.mqtt_listen,
      "--data-dir",    o_.data_dir + "/cluster"};
  OAK_ASSIGN_OR_RETURN(auto cluster, spawn("cluster", std::move(cluster_args)));
  OAK_TRY(waitUntilReady(cluster, log("cluster"),
                         [&] { return acceptsConnections(cluster_addr.second); }));

  std::vector<std::string> worker_args{self_,
                                       "worker",
                                       "--cluster",
                                       fmt::format("http://127.0.0.1:{}", cluster_addr.second),
                                       "--token",
                                       readTrimmed(o_.data_dir + "/cluster/worker-token"),
                                       "--data-dir",
                                       o_.data_dir + "/worker",
                                       "--metrics-listen",
                                       o_.metrics_listen,
                                       "--containerd-socket",
                                       o_.containerd_socket};
  if (o_.unikernel) worker_args.push_back("--unikernel");
  if (o_.overlay) {
    auto tun = doctor::checkTun("/dev");
    if (::geteuid() == 0 && tun.outcome == doctor::Outcome::kOk) {
      worker_args.push_back("--overlay");
    } else {
      std::printf("note: instances share this machine's network (no overlay): %s\n",
                  ::geteuid() != 0 ? "not running as root" : tun.detail.c_str());
    }
  }
  OAK_ASSIGN_OR_RETURN(auto worker, spawn("worker", std::move(worker_args)));
  // The worker serves its local endpoint once it has registered.
  return waitUntilReady(worker, log("worker"),
                        [&] { return acceptsConnections(metrics_addr.second); });
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
    for (const auto& c : children_) {
      if (auto st = process::reapIfExited(c.pid)) {
        spdlog::error("{} exited ({}); stopping the rest. See {}", c.name,
                      process::describeExit(*st), log(c.name));
        // Already reaped: nothing left to stop for this one.
        std::erase_if(children_, [&](const Child& x) { return x.pid == c.pid; });
        return 1;
      }
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
