// The README's quick start as a user runs it: `oakestra up` (starting its own containerd), then
// the real `oak`: login, apply the nginx example until it is RUNNING, logs, the service answers,
// service rm; Ctrl-C to `up` leaves nothing it started running: no daemon, broker, containerd,
// shim or container. The example is used as it is, except its image: the machine has no
// Internet, so a busybox httpd stands in for nginx, from a registry on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <regex>

#include "containerd_cleanup.h"
#include "hierarchy_fixture.h"
#include "oak_runner.h"
#include "registry.h"
#include "worker/runtime/containerd/client.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

// True while `pid` exists and is not a zombie.
bool alive(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

class QuickstartTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // A test that failed half-way: containers of deployed services outlive `up` by design.
    if (up_ && up_->running()) {
      removeContainers(socket(), namespace_);
      up_->stop(SIGINT, 60s);
    }
    // After a failure: nothing may outlive the test, whatever `up` left behind.
    std::vector<pid_t> left = started();
    for (pid_t pid : processesWith({"containerd-shim", socket()})) left.push_back(pid);
    for (pid_t pid : left) {
      if (alive(pid)) ::kill(pid, SIGKILL);
    }
    std::error_code ignored;  // runc's folder of the namespace, empty by now
    std::filesystem::remove("/run/containerd/runc/" + namespace_, ignored);
    if (HasFailure()) {
      for (const auto& name : {"up", "root", "cluster", "worker", "containerd"}) {
        std::cerr << "--- " << name << ".log ---\n" << readFile(log(name)) << "\n";
      }
    }
  }

  std::string state() const { return dir_.file("state"); }
  std::string socket() const { return dir_.file("containerd.sock"); }
  std::string log(const std::string& name) const {
    return name == "up" ? dir_.file(up_log_) : state() + "/" + name + ".log";
  }
  static std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

  // Runs `oakestra up` until its banner (`log_name`: its output, one file per run).
  void startUp(const std::string& log_name = "up.log") {
    up_log_ = log_name;
    up_ = std::make_unique<Process>(
        binaryPath("oakestra"),
        std::vector<std::string>{"up", "--data-dir", state(), "--root-listen", local(root_port_),
                                 "--cluster-listen", local(cluster_port_), "--mqtt-listen",
                                 local(mqtt_port_), "--metrics-listen", local(metrics_port_),
                                 // A socket of its own: `up` starts the containerd it stops.
                                 "--containerd-socket", socket(), "--advertise", "127.0.0.1",
                                 // runc's state and cgroups are per namespace, host-wide.
                                 "--containerd-namespace", namespace_,
                                 // Tests run in parallel on one host: no shared bridge or TUN.
                                 "--no-overlay"},
        std::map<std::string, std::string>{}, log("up"));
    ASSERT_TRUE(waitUntil("the banner", 90s, [&] {
      return up_->log().find("Oakestra is up.") != std::string::npos || !up_->running();
    }));
    ASSERT_TRUE(up_->running()) << up_->log();
  }

  // The httpd image standing in for nginx, in a registry on loopback; returns its reference.
  std::string pushHttpdImage() {
    registry_ = LocalRegistry::start().value();
    // nginx's part: serve a page, say so on stdout, and stop on SIGTERM (as PID 1 httpd would
    // not).
    std::string port = std::to_string(http_port_);
    BusyboxImageOptions httpd;
    httpd.cmd = {"sh", "-c",
                 "mkdir -p /www && echo 'hello from the quick start' > /www/index.html && "
                 "echo \"httpd serving on port " +
                     port + "\" && httpd -f -v -p " + port +
                     " -h /www & trap 'kill $!; exit 0' TERM; wait"};
    auto image = pushBusyboxImage(*registry_, "nginx", "alpine", httpd);
    EXPECT_TRUE(image) << image.error().message;
    return image ? image->reference : "";
  }

  // Whether `up` stopped everything it started: daemons, shims, the service's process, runc's
  // state of the containers `ids`.
  void expectNothingLeft(const std::vector<pid_t>& daemons, const std::vector<std::string>& ids) {
    for (pid_t pid : daemons) EXPECT_FALSE(alive(pid)) << "pid " << pid << " still runs";
    EXPECT_THAT(processesWith({"containerd-shim", socket()}), ::testing::IsEmpty());
    EXPECT_THAT(processesWith({"httpd", std::string("-p") + '\0' + std::to_string(http_port_)}),
                ::testing::IsEmpty());
    for (const auto& id : ids) {
      EXPECT_FALSE(std::filesystem::exists("/run/containerd/runc/" + namespace_ + "/" + id))
          << "runc state of " << id << " left";
    }
    EXPECT_FALSE(waitForPort(http_port_, 100ms)) << "nothing serves the page any more";
  }

  // The daemons `up` started (root, cluster, worker, containerd) and the cluster's broker.
  std::vector<pid_t> started() const {
    static const std::regex kStarted(R"((\w+) started \(pid (\d+)\))");
    std::string text = readFile(log("up"));
    std::vector<pid_t> out;
    for (std::sregex_iterator it(text.begin(), text.end(), kStarted), end; it != end; ++it) {
      out.push_back(std::stoi((*it)[2].str()));
    }
    if (pid_t broker = brokerPid(readFile(log("cluster"))); broker > 0) out.push_back(broker);
    return out;
  }

  // examples/nginx.json with `image` as its code; everything else as users get it.
  std::string nginxExample(const std::string& image) const {
    auto sla = bj::parse(readFile(std::string(OAK_SOURCE_DIR) + "/examples/nginx.json"));
    auto& service = sla.at("applications").at(0).at("microservices").at(0).as_object();
    service["code"] = image;
    std::string path = dir_.file("nginx.json");
    std::ofstream(path) << bj::serialize(sla);
    return path;
  }

  // The ids of the containers in the worker's namespace; nullopt when containerd does not answer.
  std::optional<std::vector<std::string>> containers() const {
    auto client = worker::containerd::ContainerdClient::connect(socket(), namespace_);
    if (!client) return std::nullopt;
    auto listed = (*client)->listContainers();
    if (!listed) return std::nullopt;
    std::vector<std::string> ids;
    for (const auto& c : *listed) ids.push_back(c.id);
    return ids;
  }

  TempDir dir_;
  OakRunner oak_{dir_};
  uint16_t root_port_ = pickFreePort(), cluster_port_ = pickFreePort(), mqtt_port_ = pickFreePort(),
           metrics_port_ = pickFreePort(), http_port_ = pickFreePort();
  const std::string namespace_ = "quickstart-" + std::to_string(::getpid());
  std::string up_log_ = "up.log";
  std::unique_ptr<LocalRegistry> registry_;
  std::unique_ptr<Process> up_;
};

TEST_F(QuickstartTest, UpLoginApplyLogsRemoveAndCtrlCLeavesNothingRunning) {
  ASSERT_FALSE(findOnPath("containerd").empty()) << "containerd is not installed (make deps)";
  std::string image = pushHttpdImage();
  ASSERT_FALSE(image.empty());
  std::string port = std::to_string(http_port_);
  ASSERT_NO_FATAL_FAILURE(startUp());
  ASSERT_THAT(up_->log(), HasSubstr("containerd started (pid "));
  auto daemons = started();
  ASSERT_EQ(daemons.size(), 5u) << "root, cluster, worker, containerd, mosquitto";

  std::string url = "http://" + local(root_port_);
  auto login = oak_.run({"--url", url, "login", "-p", "Admin"});
  ASSERT_EQ(login.exit_code, 0) << describe(login);

  auto applied = oak_.run({"apply", "-f", nginxExample(image), "--timeout", "120s"});
  ASSERT_EQ(applied.exit_code, 0) << describe(applied);
  EXPECT_THAT(applied.out, HasSubstr("clientsrvr.test.nginx.test/0  RUNNING"));
  auto inspect = oak_.run({"service", "inspect", "nginx", "-o", "json"});
  ASSERT_EQ(inspect.exit_code, 0) << describe(inspect);
  auto service = bj::parse(inspect.out).as_object();
  EXPECT_EQ(str(service, "RR_ip"), "10.30.55.55");
  EXPECT_EQ(str(service, "RR_ip_v6"), "fdff:2000::55:55");
  auto ids = containers().value_or(std::vector<std::string>{});
  EXPECT_EQ(ids.size(), 1u);

  OakRun logs;
  EXPECT_TRUE(eventually("oak logs shows what the service printed", 30s, [&] {
    logs = oak_.run({"logs", "nginx"});
    return logs.out.find("httpd serving on port " + port + "\n") != std::string::npos;
  })) << describe(logs);
  // Without the overlay the instance shares this machine's network. It says it serves just
  // before it listens.
  EXPECT_TRUE(waitForPort(http_port_, 30s));
  auto page = ApiClient(http_port_).get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "hello from the quick start\n");

  auto removed = oak_.run({"service", "rm", "nginx"});
  EXPECT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_TRUE(eventually("its container removed", 60s, [&] {
    auto now = containers();
    return now && now->empty();
  }));

  EXPECT_EQ(up_->stop(SIGINT, 60s), 0) << up_->log();
  expectNothingLeft(daemons, ids);
}

TEST_F(QuickstartTest, CtrlCWithAServiceDeployedStopsItAndTheNextRunResumesIt) {
  std::string image = pushHttpdImage();
  ASSERT_FALSE(image.empty());
  ASSERT_NO_FATAL_FAILURE(startUp("up1.log"));
  auto daemons = started();
  ASSERT_EQ(oak_.run({"--url", "http://" + local(root_port_), "login", "-p", "Admin"}).exit_code,
            0);
  auto applied = oak_.run({"apply", "-f", nginxExample(image), "--timeout", "120s"});
  ASSERT_EQ(applied.exit_code, 0) << describe(applied);
  auto ids = containers().value_or(std::vector<std::string>{});
  ASSERT_EQ(ids.size(), 1u);

  // The worker removes its instance before it stops, and tells the cluster.
  EXPECT_EQ(up_->stop(SIGINT, 60s), 0) << up_->log();
  expectNothingLeft(daemons, ids);

  // The next run places it again as soon as the worker is back.
  ASSERT_NO_FATAL_FAILURE(startUp("up2.log"));
  OakRun inspect;
  EXPECT_TRUE(eventually("the service running again", 60s, [&] {
    inspect = oak_.run({"service", "inspect", "nginx", "-o", "json"});
    if (inspect.exit_code != 0) return false;
    auto doc = bj::parse(inspect.out);
    const auto& list = doc.as_object().at("instance_list").as_array();
    return list.size() == 1 && str(list[0].as_object(), "status") == "RUNNING";
  })) << describe(inspect);
  EXPECT_TRUE(waitForPort(http_port_, 30s));
  EXPECT_EQ(ApiClient(http_port_).get("/").body, "hello from the quick start\n");

  ASSERT_EQ(oak_.run({"service", "rm", "nginx"}).exit_code, 0);
  auto second = started();
  EXPECT_EQ(up_->stop(SIGINT, 60s), 0) << up_->log();
  expectNothingLeft(second, containers().value_or(std::vector<std::string>{}));
}

}  // namespace
}  // namespace oak::testing
