// The overlay network end to end: root and cluster in the test's namespace, two workers with
// `--overlay` as hosts of a NetworkLab (each its own network namespace and underlay address),
// containers pulled from a registry on the lab's gateway with oak-nettool inside. Clients reach
// servers on both workers through the service's round-robin addresses (IPv4 and IPv6, TCP and
// UDP), see answers from the right instance, survive the death of one, and a port mapping makes
// an instance reachable from outside its worker. A unikernel (a small UDP echo guest under QEMU)
// is reached through its service address like a container.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "containerd_cleanup.h"
#include "containerd_daemon.h"
#include "hierarchy_fixture.h"
#include "network_lab.h"
#include "registry.h"
#include "unikernel_bundles.h"
#include "worker/net/netns.h"
#include "worker/runtime/containerd/client.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kPort = 8080;

// Services reserve no cores (`vcpus: 0`): these tests are about the network, and clients that
// follow each other on a 2-core worker must not wait for capacity reports.
class OverlayTest : public HierarchyTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the overlay needs root (CI runs as root)";
    auto lab = NetworkLab::create(2);
    ASSERT_TRUE(lab) << lab.error().message;
    lab_ = std::move(*lab);
    LocalRegistryOptions ro;
    ro.address = lab_->gateway();
    auto registry = LocalRegistry::start(ro);
    ASSERT_TRUE(registry) << registry.error().message;
    registry_ = std::move(*registry);
    BusyboxImageOptions o;
    o.extra_files = {{binaryPath("oak-nettool"), "/bin/nettool"}};
    auto image = pushBusyboxImage(*registry_, "nettool", "v1", o);
    ASSERT_TRUE(image) << image.error().message;
    default_code_ = image->reference;
    ASSERT_TRUE(containerd_.waitReady(30s));
    HierarchyTest::SetUp();
    waitForRootView(2);
  }

  void TearDown() override {
    HierarchyTest::TearDown();
    for (const auto& name : {"w1", "w2"}) {
      removeContainers(containerd_.socket(), namespaceOf(name));
      // Instance namespaces outlive their worker by design; the test removes them.
      std::error_code ec;
      std::string dir = "/run/oakestra/" + namespaceOf(name) + "/netns";
      for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        (void)worker::removeNetns(e.path().string());
      }
      std::filesystem::remove_all("/run/oakestra/" + namespaceOf(name), ec);
    }
    // Guests outlive their worker by design too (a restarted worker re-attaches to them).
    for (pid_t pid : processesWith({"qemu-system", dir_.path()})) ::kill(pid, SIGKILL);
  }

  std::string clusterAddress() const override { return lab_->gateway(); }
  std::string workerNetns(const std::string& name) const override {
    return lab_->host(name == "w1" ? 0 : 1).netns;
  }
  std::vector<std::string> workerArgs(const std::string& name) const override {
    return {"--containerd-socket", containerd_.socket(),  "--containerd-namespace",
            namespaceOf(name),     "--insecure-registry", registry_->host(),
            "--overlay",           "--unikernel"};
  }
  std::string namespaceOf(const std::string& worker) const {
    return worker + "-" + std::to_string(::getpid());
  }

  static bj::array pinnedTo(const std::string& worker) {
    return bj::array{bj::object{{"type", "direct"}, {"node", worker}, {"cluster", kClusterName}}};
  }

  // A server service with instance 0 on w2 and instance 1 on w1; returns its id.
  std::string twoServers(const std::string& name, const std::string& port = "") {
    bj::object server{
        {"microservice_name", name},
        {"cmd", bj::array{"sh", "-c", "nettool serve tcp 8080 & nettool serve udp 8080 & wait"}},
        {"constraints", pinnedTo("w2")},
        {"vcpus", 0}};
    if (!port.empty()) server["port"] = port;
    std::string id = deploy(server);
    waitForStatus(id, "RUNNING");
    // The second instance on the other worker: same service, new constraint.
    auto doc = root().get("/api/service/" + id, adminToken()).json.as_object();
    doc["constraints"] = pinnedTo("w1");
    bj::object sla{
        {"applications", bj::array{bj::object{{"microservices", bj::array{std::move(doc)}}}}}};
    auto updated =
        root().call(Method::kPut, "/api/service/" + id, bj::serialize(sla), adminToken());
    EXPECT_EQ(updated.status, 200) << updated.body;
    auto up = root().call(Method::kPost, "/api/service/" + id + "/instance", "", adminToken());
    EXPECT_EQ(up.status, 200) << up.body;
    EXPECT_TRUE(eventually("both server instances running", 60s, [&] {
      return runningWorkers(id) == std::set<std::string>{"w1", "w2"};
    })) << root().get("/api/service/" + id, adminToken()).body;
    return id;
  }

  std::set<std::string> runningWorkers(const std::string& service_id) {
    std::set<std::string> out;
    auto r = root().get("/api/service/" + service_id, adminToken());
    if (!r.json.is_object()) return out;
    for (const auto& i : r.json.get_object().at("instance_list").as_array()) {
      if (str(i.as_object(), "status") == "RUNNING") out.insert(str(i.as_object(), "worker_name"));
    }
    return out;
  }

  // Packets `worker`'s VXLAN device sent (the kernel data plane's tunnel), from `ip -s -j`.
  uint64_t vxlanPacketsSent(const std::string& worker) const {
    const std::string command = "ip -n " + workerNetns(worker) + " -s -j link show oakvx0";
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
      ::pclose(p);
    }
    boost::system::error_code ec;
    auto doc = bj::parse(out, ec);
    if (ec || !doc.is_array() || doc.as_array().empty()) return 0;
    const auto* packets = doc.as_array()[0].as_object().if_contains("stats64");
    if (!packets) return 0;
    return packets->as_object().at("tx").as_object().at("packets").to_number<uint64_t>();
  }

  // The service's round-robin address (v4 or v6).
  std::string rrAddress(const std::string& service_id, bool v6) {
    auto doc = root().get("/api/service/" + service_id, adminToken()).json.as_object();
    return str(doc, v6 ? "RR_ip_v6" : "RR_ip");
  }

  // A one-shot client on `worker` running `script`; waits for it to complete and returns its
  // stdout lines.
  std::vector<std::string> runClient(const std::string& name, const std::string& worker,
                                     const std::string& script) {
    std::string id = deploy({{"microservice_name", name},
                             {"one_shot", true},
                             {"vcpus", 0},
                             {"cmd", bj::array{"sh", "-c", script}},
                             {"constraints", pinnedTo(worker)}});
    waitForStatus(id, "COMPLETED", "", 120s);
    return logLines(id, "stdout");
  }

  std::unique_ptr<NetworkLab> lab_;  // first: destroyed last
  ContainerdDaemon containerd_;
  std::unique_ptr<LocalRegistry> registry_;
};

// "<hostname> <peer>:<port>" → hostname.
std::map<std::string, int> countByServer(const std::vector<std::string>& lines) {
  std::map<std::string, int> n;
  for (const auto& l : lines) ++n[l.substr(0, l.find(' '))];
  return n;
}

TEST_F(OverlayTest, RoundRobinReachesInstancesOnBothWorkersInBothFamiliesAndProtocols) {
  std::string server = twoServers("srv");
  const uint64_t tunnelled_before = vxlanPacketsSent("w1");
  for (bool v6 : {false, true}) {
    for (const std::string proto : {"tcp", "udp"}) {
      std::string address = rrAddress(server, v6);
      auto lines = runClient(
          fmt::format("cli{}{}", v6 ? 6 : 4, proto), "w1",
          fmt::format("nettool ask {} {} {} 100 --timeout-ms 5000", proto, address, kPort));
      ASSERT_EQ(lines.size(), 100u) << proto << " " << address;
      auto counts = countByServer(lines);
      ASSERT_EQ(counts.size(), 2u) << "answers from both instances: " << lines.front();
      for (const auto& [host, n] : counts) {
        EXPECT_GE(n, 45) << host << " via " << proto << " " << address;
        EXPECT_LE(n, 55) << host << " via " << proto << " " << address;
        EXPECT_NE(host, "ERROR") << proto << " " << address;
      }
    }
  }
  // The workers run the kernel data plane (the default): the requests to w2 left w1 through its
  // VXLAN device, at least one packet for each.
  EXPECT_GE(vxlanPacketsSent("w1") - tunnelled_before, 4u * 45);
}

TEST_F(OverlayTest, RepliesReachTheRightClientWhenTwoClientsUseTheSamePort) {
  std::string server = twoServers("srv");
  std::string address = rrAddress(server, false);
  // The first datagram waits for the route (a query through cluster and root): a long timeout.
  std::string script =
      fmt::format("nettool ask udp {} {} 5 --src-port 40000 --timeout-ms 5000", address, kPort);
  auto a = runClient("clia", "w1", script);
  auto b = runClient("clib", "w1", script);
  // The servers see each client as its own instance address.
  auto peerOf = [](const std::vector<std::string>& lines) {
    std::set<std::string> peers;
    for (const auto& l : lines)
      peers.insert(l.substr(l.find(' ') + 1, l.rfind(':') - l.find(' ') - 1));
    return peers;
  };
  ASSERT_EQ(a.size(), 5u) << ::testing::PrintToString(a);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(peerOf(a).size(), 1u);
  EXPECT_EQ(peerOf(b).size(), 1u);
  EXPECT_NE(peerOf(a), peerOf(b));
}

TEST_F(OverlayTest, TrafficMovesToTheSurvivorWhenAnInstanceDies) {
  std::string server = twoServers("srv");
  std::string address = rrAddress(server, false);
  // A client that keeps asking, one new connection every 100 ms.
  std::string client = deploy(
      {{"microservice_name", "asker"},
       {"cmd", bj::array{"sh", "-c",
                         fmt::format("while true; do nettool ask tcp {} {} 1 --timeout-ms 300; "
                                     "sleep 0.1; done",
                                     address, kPort)}},
       {"constraints", pinnedTo("w1")},
       {"vcpus", 0}});
  waitForStatus(client, "RUNNING");
  ASSERT_TRUE(eventually("the client reaches both servers", 20s,
                         [&] { return countByServer(logLines(client, "stdout")).size() >= 2; }));
  // Kill the instance on w2 (instance 0) under the worker's feet.
  auto w2 = worker::containerd::ContainerdClient::connect(containerd_.socket(), namespaceOf("w2"));
  ASSERT_TRUE(w2);
  auto listed = (*w2)->listContainers();
  ASSERT_TRUE(listed && listed->size() == 1u);
  std::string victim = listed->front().id;
  ASSERT_TRUE((*w2)->killTask(victim, SIGKILL));
  auto killed_at = std::chrono::steady_clock::now();
  size_t seen = logLines(client, "stdout").size();
  // From 5 s after the kill on, every answer comes from a live instance.
  std::this_thread::sleep_until(killed_at + 5s);
  size_t from = logLines(client, "stdout").size();
  ASSERT_TRUE(eventually("20 more answers", 30s,
                         [&] { return logLines(client, "stdout").size() >= from + 20; }));
  auto lines = logLines(client, "stdout");
  for (size_t i = from; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], ::testing::Not(HasSubstr("ERROR"))) << "line " << i;
  }
  (void)seen;
}

TEST_F(OverlayTest, APortMappingPublishesAnInstanceOnItsWorkersAddress) {
  std::string id = deploy({{"microservice_name", "web"},
                           {"cmd", bj::array{"nettool", "serve", "tcp", "8080"}},
                           {"port", "9090:8080/tcp"},
                           {"vcpus", 0},
                           {"constraints", pinnedTo("w2")}});
  waitForStatus(id, "RUNNING");
  // From the test's namespace (outside the worker) to the worker's underlay address.
  CommandResult asked;
  EXPECT_TRUE(eventually("the mapped port answers", 10s, [&] {
    asked = runCommand({binaryPath("oak-nettool"), "ask", "tcp", lab_->host(1).address, "9090", "1",
                        "--timeout-ms", "500"},
                       5s, "");
    return asked.exit_code == 0;
  })) << asked.output;
  EXPECT_THAT(asked.output, HasSubstr(lab_->gateway()));
  // Removing the instance removes the mapping.
  root().call(Method::kDelete, "/api/service/" + id + "/instance/0", "", adminToken());
  EXPECT_TRUE(eventually("the mapped port is closed", 20s, [&] {
    return runCommand({binaryPath("oak-nettool"), "ask", "tcp", lab_->host(1).address, "9090", "1",
                       "--timeout-ms", "300"},
                      5s, "")
               .exit_code != 0;
  }));
}

TEST_F(OverlayTest, AUnikernelIsReachedThroughItsServiceAddressFromAContainerOnAnotherWorker) {
  auto kernel = buildEchoKernel(dir_.path());
  ASSERT_TRUE(kernel) << kernel.error().message;
  // Served on the lab's gateway: the workers download from inside their namespaces.
  auto bundles = FileServer::start({{"echo.tar.gz", kernelBundle(*kernel)}}, lab_->gateway());
  ASSERT_TRUE(bundles) << bundles.error().message;
  std::string id = deploy({{"microservice_name", "echo"},
                           {"virtualization", "unikernel"},
                           {"arch", bj::array{"amd64"}},
                           {"code", (*bundles)->url("echo.tar.gz")},
                           {"cmd", bj::array{std::to_string(kPort)}},
                           {"memory", 32},
                           {"vcpus", 0},
                           {"constraints", pinnedTo("w2")}});
  waitForStatus(id, "RUNNING");
  ASSERT_TRUE(eventually("the guest listens", 30s, [&] {
    for (const auto& l : logLines(id, "stdout")) {
      if (l.find("udp-echo: listening on") != std::string::npos) return true;
    }
    return false;
  }));
  std::string address = rrAddress(id, false);
  auto lines = runClient("echocli", "w1",
                         fmt::format("nettool ask udp {} {} 20 --timeout-ms 5000", address, kPort));
  ASSERT_EQ(lines.size(), 20u);
  std::string instance_ip = str(instance(id), "namespace_ip");
  for (const auto& l : lines) {
    // "unikernel <its own address> <the client's instance address>:<port>"
    EXPECT_THAT(l, ::testing::StartsWith("unikernel " + instance_ip + " ")) << address;
  }
}

}  // namespace
}  // namespace oak::testing
