// The harness of the overlay's black-box tests: lab hosts (network namespaces on a bridge) reach
// each other and the gateway in both families, nettool answers across them, leftovers of crashed
// runs go away, and a worker inside a lab host joins the cluster through the gateway and runs a
// container pulled from the registry on the gateway.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "containerd_daemon.h"
#include "hierarchy_fixture.h"
#include "network_lab.h"
#include "registry.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

// The inode of a network namespace file (/proc/PID/ns/net, /run/netns/NAME).
ino_t netnsInode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool netnsExists(const std::string& name) {
  return std::filesystem::exists("/run/netns/" + name);
}

bool linkExists(const std::string& name) {
  return std::filesystem::exists("/sys/class/net/" + name);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Whether one of `all` matches `pattern` (ECMAScript) as a whole.
bool anyMatches(const std::vector<std::string>& all, const std::string& pattern) {
  std::regex re(pattern);
  return std::any_of(all.begin(), all.end(),
                     [&](const std::string& l) { return std::regex_match(l, re); });
}

std::string hostName() {
  char name[256] = "";
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

TEST(NetworkLab, HostsReachEachOtherAndTheGatewayInBothFamilies) {
  auto created = NetworkLab::create(3);
  ASSERT_TRUE(created) << created.error().message;
  const auto& lab = **created;
  ASSERT_EQ(lab.size(), 3u);
  EXPECT_TRUE(anyMatches({lab.gateway()}, R"(172\.31\.\d+\.1)")) << lab.gateway();
  for (size_t i = 0; i < lab.size(); ++i) {
    std::vector<std::string> targets{lab.gateway(), lab.gateway6()};
    for (size_t j = 0; j < lab.size(); ++j) {
      if (j == i) continue;
      targets.push_back(lab.host(j).address);
      targets.push_back(lab.host(j).address6);
    }
    for (const auto& target : targets) {
      auto ping = lab.ping(i, target);
      EXPECT_EQ(ping.exit_code, 0) << "host " << i << " → " << target << ": " << ping.output;
    }
  }
  // Inside a host: its own addresses on eth0, default routes through the gateway.
  auto addresses = lab.run(0, {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_THAT(addresses.output, HasSubstr(lab.host(0).address + "/24"));
  EXPECT_THAT(addresses.output, HasSubstr(lab.host(0).address6 + "/64"));
  EXPECT_THAT(lab.run(0, {"ip", "route"}).output, HasSubstr("default via " + lab.gateway()));
  EXPECT_THAT(lab.run(0, {"ip", "-6", "route"}).output, HasSubstr("default via " + lab.gateway6()));
  EXPECT_THAT(lab.run(0, {"ip", "-o", "link", "show", "lo"}).output, HasSubstr("UP"));
  // A host cannot see the test namespace's interfaces.
  EXPECT_THAT(lab.run(0, {"ip", "-o", "link"}).output, ::testing::Not(HasSubstr(lab.bridge())));
}

TEST(NetworkLab, RemovesEverythingAndLeftoversOfACrashedRun) {
  // A test process whose lab is alive when it gets killed.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto lab = NetworkLab::create(2);
    std::string names =
        lab ? (*lab)->bridge() + " " + (*lab)->host(0).netns + " " + (*lab)->host(1).link + "\n"
            : "\n";
    (void)!::write(pipe_fds[1], names.data(), names.size());
    while (true) ::pause();
  }
  ::close(pipe_fds[1]);
  char buffer[256] = "";
  ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer) - 1);
  ::close(pipe_fds[0]);
  std::string bridge, netns, link;
  std::stringstream(std::string(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0)))) >> bridge >>
      netns >> link;
  // Alive, its lab is safe from others' clean-ups.
  EXPECT_TRUE(!bridge.empty() && linkExists(bridge) && netnsExists(netns))
      << "the child's lab: '" << buffer << "'";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_FALSE(bridge.empty());

  auto lab = NetworkLab::create(1);
  ASSERT_TRUE(lab) << lab.error().message;
  EXPECT_FALSE(linkExists(bridge)) << "the crashed run's bridge is removed";
  EXPECT_FALSE(linkExists(link)) << "and its veths";
  EXPECT_FALSE(netnsExists(netns)) << "and its namespaces";
  EXPECT_NE((*lab)->bridge(), bridge);

  std::string mine = (*lab)->bridge(), my_netns = (*lab)->host(0).netns;
  ASSERT_TRUE(linkExists(mine));
  lab->reset();
  EXPECT_FALSE(linkExists(mine));
  EXPECT_FALSE(linkExists(mine + "h0"));
  EXPECT_FALSE(netnsExists(my_netns));
}

TEST(NetworkLab, TwoLabsOfOneProcessGetDifferentSubnets) {
  auto a = NetworkLab::create(1);
  auto b = NetworkLab::create(1);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_NE((*a)->subnet(), (*b)->subnet());
  EXPECT_NE((*a)->bridge(), (*b)->bridge());
  EXPECT_EQ((*a)->ping(0, (*a)->gateway()).exit_code, 0);
  EXPECT_EQ((*b)->ping(0, (*b)->gateway()).exit_code, 0);
}

TEST(NetworkLab, NettoolServedInOneHostAnswersAnotherOverBothFamilies) {
  auto created = NetworkLab::create(2);
  ASSERT_TRUE(created) << created.error().message;
  const auto& lab = **created;
  TempDir dir;
  std::string nettool = binaryPath("oak-nettool");
  uint16_t port = 7000;
  Process tcp(nettool, {"serve", "tcp", std::to_string(port)}, {}, dir.file("tcp.log"),
              lab.host(0).netns);
  Process udp(nettool, {"serve", "udp", std::to_string(port)}, {}, dir.file("udp.log"),
              lab.host(0).netns);
  ASSERT_TRUE(waitUntil("both servers listening", 5s,
                        [&] {
                          return tcp.log().find("serving tcp") != std::string::npos &&
                                 udp.log().find("serving udp") != std::string::npos;
                        }))
      << tcp.log() << udp.log();
  // The PID is the tool's own, inside the host's namespace.
  EXPECT_EQ(netnsInode("/proc/" + std::to_string(tcp.pid()) + "/ns/net"),
            netnsInode("/run/netns/" + lab.host(0).netns));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(tcp.pid()) + "/exe"),
            std::filesystem::path(nettool));

  const auto& client = lab.host(1);
  for (const std::string proto : {"tcp", "udp"}) {
    for (const auto& [server, me] : {std::pair{lab.host(0).address, client.address},
                                     std::pair{lab.host(0).address6, client.address6}}) {
      auto asked = lab.run(1, {nettool, "ask", proto, server, std::to_string(port), "3"});
      EXPECT_EQ(asked.exit_code, 0) << proto << " " << server << ": " << asked.output;
      auto answers = lines(asked.output);
      ASSERT_EQ(answers.size(), 3u) << asked.output;
      std::regex expected(hostName() + " " + me + R"(:(\d+))");
      std::set<std::string> ports;
      for (const auto& a : answers) {
        std::smatch m;
        EXPECT_TRUE(std::regex_match(a, m, expected)) << a;
        if (m.size() == 2) ports.insert(m[1].str());
      }
      EXPECT_EQ(ports.size(), 3u) << "a new source port per exchange: " << asked.output;
    }
    // A fixed source port, twice in a row.
    auto fixed = lab.run(1, {nettool, "ask", proto, lab.host(0).address6, std::to_string(port), "2",
                             "--src-port", "40123"});
    EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
    EXPECT_THAT(lines(fixed.output), ::testing::Each(::testing::EndsWith(":40123")))
        << fixed.output;
  }
  EXPECT_EQ(occurrences(tcp.log(), client.address + ":"), 3u) << tcp.log();

  // Nobody serves: each exchange fails with a reason, and so does the tool.
  for (const std::string proto : {"tcp", "udp"}) {
    auto refused = lab.run(
        1, {nettool, "ask", proto, lab.host(0).address, "7001", "2", "--timeout-ms", "500"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_THAT(lines(refused.output), ::testing::Each(::testing::StartsWith("ERROR ")))
        << refused.output;
  }
  // SIGTERM reaches the tool itself.
  EXPECT_EQ(tcp.stop(SIGTERM), -SIGTERM);
}

// One registry per test (it listens on that test's lab gateway).
class LabHierarchyTest : public HierarchyTest {
 protected:
  void SetUp() override {
    auto lab = NetworkLab::create(2);
    ASSERT_TRUE(lab) << lab.error().message;
    lab_ = std::move(*lab);
    auto registry = LocalRegistry::start({lab_->gateway()});
    ASSERT_TRUE(registry) << registry.error().message;
    registry_ = std::move(*registry);
    BusyboxImageOptions options;
    options.extra_files = {{binaryPath("oak-nettool"), "/bin/nettool"}};
    auto image = pushBusyboxImage(*registry_, "nettool", "v1", options);
    ASSERT_TRUE(image) << image.error().message;
    default_code_ = image->reference;
    ASSERT_TRUE(containerd_.waitReady(30s));
    HierarchyTest::SetUp();
    waitForRootView(2);
  }

  std::string clusterAddress() const override { return lab_->gateway(); }
  std::string workerNetns(const std::string& name) const override {
    return lab_->host(name == "w1" ? 0 : 1).netns;
  }
  std::vector<std::string> workerArgs(const std::string& name) const override {
    return {"--containerd-socket", containerd_.socket(),  "--containerd-namespace",
            namespaceOf(name),     "--insecure-registry", registry_->host()};
  }
  std::string namespaceOf(const std::string& worker) const {
    return worker + "-lab-" + std::to_string(::getpid());
  }

  std::unique_ptr<NetworkLab> lab_;  // outlives everything below
  ContainerdDaemon containerd_;      // removes the containers when it goes
  std::unique_ptr<LocalRegistry> registry_;
};

TEST_F(LabHierarchyTest, WorkerInALabHostRunsAContainerFromTheLabRegistry) {
  for (const auto& [name, host] : {std::pair{"w1", 0}, std::pair{"w2", 1}}) {
    EXPECT_EQ(netnsInode("/proc/" + std::to_string(workers_[name]->pid()) + "/ns/net"),
              netnsInode("/run/netns/" + lab_->host(host).netns))
        << name << " runs in its lab host";
  }
  // A server in host 1 for the container to ask.
  TempDir dir;
  Process server(binaryPath("oak-nettool"), {"serve", "tcp", "7100"}, {}, dir.file("serve.log"),
                 lab_->host(1).netns);
  ASSERT_TRUE(waitUntil("server listening", 5s, [&] {
    return server.log().find("serving tcp") != std::string::npos;
  })) << server.log();

  std::string ask = "nettool ask tcp " + lab_->host(1).address + " 7100 1; nettool ask tcp " +
                    lab_->host(1).address6 + " 7100 1; sleep 600";
  auto id = deploy(
      {{"microservice_name", "asker"},
       {"cmd", bj::array{"sh", "-c", ask}},
       {"constraints",
        bj::array{bj::object{{"type", "direct"}, {"node", "w1"}, {"cluster", kClusterName}}}}});
  auto running = waitForStatus(id, "RUNNING");
  EXPECT_EQ(str(running, "worker_name"), "w1");
  std::vector<std::string> out;
  EXPECT_TRUE(eventually("both answers in the container's log", 20s, [&] {
    out = logLines(id, "stdout");
    return out.size() >= 2;
  })) << ::testing::PrintToString(out);
  // Without --overlay a container shares containerd's network (the test namespace here, not
  // the worker's lab host), so it reaches host 1 through the bridge, from the gateway's address.
  EXPECT_TRUE(anyMatches(out, "\\S+ " + lab_->gateway() + R"(:\d+)"))
      << ::testing::PrintToString(out);
  EXPECT_TRUE(anyMatches(out, "\\S+ " + lab_->gateway6() + R"(:\d+)"))
      << ::testing::PrintToString(out);
  EXPECT_THAT(out, ::testing::Not(::testing::Contains(::testing::StartsWith("ERROR"))));
  // SIGTERM reaches the worker itself, which shuts down cleanly.
  EXPECT_EQ(workers_["w2"]->stop(SIGTERM), 0) << workers_["w2"]->log();
}

}  // namespace
}  // namespace oak::testing
