// `oakestra up` as a user runs it: everything comes up from one command, the API answers with the
// worker joined, Ctrl-C stops every process it started, and a second run resumes the same state.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "hierarchy_fixture.h"

namespace oak::testing {
namespace {

class UpTest : public ::testing::Test {
 protected:
  std::unique_ptr<Process> up(const std::string& log) {
    return std::make_unique<Process>(
        binaryPath("oakestra"),
        std::vector<std::string>{"up", "--data-dir", dir_.file("state"), "--root-listen",
                                 local(root_port_), "--cluster-listen", local(cluster_port_),
                                 "--mqtt-listen", local(mqtt_port_), "--metrics-listen",
                                 local(metrics_port_), "--no-containerd", "--containerd-socket",
                                 dir_.file("none.sock"), "--advertise", "127.0.0.1",
                                 // Tests run in parallel on one host: no shared bridge or TUN.
                                 "--no-overlay"},
        std::map<std::string, std::string>{}, dir_.file(log));
  }
  static std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

  // The pids of the daemons it started, from its log.
  static std::vector<pid_t> children(const std::string& log) {
    static const std::regex kStarted(R"((root|cluster|worker) started \(pid (\d+)\))");
    std::vector<pid_t> out;
    for (std::sregex_iterator it(log.begin(), log.end(), kStarted), end; it != end; ++it) {
      out.push_back(std::stoi((*it)[2].str()));
    }
    return out;
  }

  std::string clusterId(const std::string& token) {
    auto r = ApiClient(root_port_).get("/api/v1/resources/clusters", token);
    if (r.status != 200 || !r.json.is_array() || r.json.as_array().empty()) return "";
    const auto& c = r.json.as_array().front().as_object();
    if (num(resourcesOf(c), "nodes") != 1) return "";
    return oid(c);
  }

  TempDir dir_;
  uint16_t root_port_ = pickFreePort(), cluster_port_ = pickFreePort(), mqtt_port_ = pickFreePort(),
           metrics_port_ = pickFreePort();
};

TEST_F(UpTest, OneCommandStartsEverythingAndCtrlCStopsIt) {
  auto first = up("up1.log");
  ASSERT_TRUE(waitUntil("the banner", 60s, [&] {
    return first->log().find("Oakestra is up.") != std::string::npos || !first->running();
  }));
  ASSERT_TRUE(first->running()) << first->log();
  std::string log = first->log();
  EXPECT_THAT(log, ::testing::HasSubstr("Admin / Admin"));
  EXPECT_THAT(log, ::testing::HasSubstr("oakestra worker --cluster http://127.0.0.1:" +
                                        std::to_string(cluster_port_) + " --token "));
  auto pids = children(log);
  ASSERT_EQ(pids.size(), 3u) << log;

  std::string token = ApiClient(root_port_).login("Admin", "Admin");
  std::string id;
  EXPECT_TRUE(waitUntil("the cluster with its worker at the root", 20s, [&] {
    id = clusterId(token);
    return !id.empty();
  }));

  EXPECT_EQ(first->stop(SIGINT, 30s), 0) << first->log();
  for (pid_t pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still runs";

  // Again: same state, no first-start login hint.
  auto second = up("up2.log");
  ASSERT_TRUE(waitUntil("the banner again", 60s, [&] {
    return second->log().find("Oakestra is up.") != std::string::npos || !second->running();
  }));
  EXPECT_THAT(second->log(), ::testing::Not(::testing::HasSubstr("Admin / Admin")));
  EXPECT_TRUE(waitUntil("the same cluster back", 20s, [&] { return clusterId(token) == id; }))
      << "tokens and the cluster's id survive";
  EXPECT_EQ(second->stop(SIGTERM, 30s), 0) << second->log();
}

TEST_F(UpTest, ADaemonThatCannotStartStopsTheRestWithTheReason) {
  // The root's port is taken.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(root_port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  auto p = up("up.log");
  EXPECT_TRUE(waitUntil("up gives up", 60s, [&] { return !p->running(); }));
  ::close(fd);
  EXPECT_THAT(p->log(), ::testing::HasSubstr("root exited"));
  EXPECT_THAT(p->log(), ::testing::HasSubstr("root.log"));
}

}  // namespace
}  // namespace oak::testing
