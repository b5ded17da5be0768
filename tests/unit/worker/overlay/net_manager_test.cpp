// The worker's network manager on in-memory kernel fakes, an in-memory broker and a simulated
// clock: subnets, instance attachments, table queries and pushed changes, restarts. Namespaces
// are real (created under a temporary directory), so this runs as root.

#include "worker/overlay/net_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <filesystem>

#include "common/json.h"
#include "mqtt/memory_bus.h"
#include "temp_dir.h"
#include "worker/net/fake_host_network.h"
#include "worker/net/fake_port_mapper.h"
#include "worker/net/netns.h"

namespace oak::worker {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Blocking work runs at once, on the calling thread.
struct InlineRunner : TaskRunner {
  void post(std::function<void()> fn) override { fn(); }
  void runBlocking(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
};

constexpr const char* kJob = "app.ns.web.ns";

bj::object routes(std::string_view nsip) {
  return bj::object{{"job_name", "app.ns.db.ns"},
                    {"service_ip_list", bj::array{bj::object{{"IpType", "RR"},
                                                             {"Address", "10.30.0.9"},
                                                             {"Address_v6", "fdff:2000::9"}}}},
                    {"instance_list", bj::array{bj::object{{"instance_number", 0},
                                                           {"worker_id", "w2"},
                                                           {"instance_ip", "10.30.0.10"},
                                                           {"instance_ip_v6", "fdff::10"},
                                                           {"namespace_ip", nsip},
                                                           {"namespace_ip_v6", "fc00::102"},
                                                           {"host_ip", "172.31.0.3"},
                                                           {"host_port", 50103}}}}};
}

InstanceSpec spec(int n, std::string port = "") {
  InstanceSpec s;
  s.job_name = kJob;
  s.instance = n;
  s.virtualization = "docker";
  s.image = "busybox";
  s.port = std::move(port);
  s.instance_ip = fmt::format("10.30.1.{}", n + 1);
  s.instance_ip_v6 = fmt::format("fdff::1:{}", n + 1);
  return s;
}

class NetManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "network namespaces need root";
    cluster_->subscribe("nodes/w1/net/#", 1);
    cluster_->onMessage([this](const mqtt::Message& m) { to_cluster_.push_back(m); });
    manager_ = make();
  }
  void TearDown() override {
    for (const auto& t : {0, 1, 2}) manager_->detach(spec(t).taskId());
    // createNetns made the folder a (shared) mount point; it would outlive the test.
    ::umount2(dir_.file("netns").c_str(), MNT_DETACH);
  }
  std::unique_ptr<NetManager> make() {
    NetManagerOptions o;
    o.worker_id = "w1";
    o.state_dir = dir_.file("state");
    o.netns_dir = dir_.file("netns");
    o.advertise_ip = "172.31.0.2";
    auto m =
        std::make_unique<NetManager>(NetManager::Deps{runner_, clock_, *bus_, host_, ports_}, o);
    m->setHooks({[this](std::shared_ptr<const overlay::ServiceTable> t) { table_ = std::move(t); },
                 [this](const std::string& k, bool found) { answers_.emplace_back(k, found); },
                 [this](UniqueFd) { ++ready_calls_; }});
    bus_->onMessage([raw = m.get()](const mqtt::Message& msg) { raw->handle(msg); });
    return m;
  }
  void fromCluster(std::string_view what, const bj::object& o) {
    cluster_->publish(fmt::format("nodes/w1/net/{}", what), bj::serialize(o), 1);
    broker_.deliverAll();
  }
  void giveSubnets() {
    fromCluster("subnet/result", {{"subnet", "10.18.0.64/26"}, {"subnet_v6", "fc00::100/120"}});
  }
  std::vector<std::string> sent() {
    broker_.deliverAll();
    std::vector<std::string> out;
    for (const auto& m : to_cluster_) {
      std::string what = m.topic.substr(9);  // after "nodes/w1/"
      bool from_worker =
          what == "net/subnet" || what == "net/tablequery/request" || what == "net/interest/remove";
      if (from_worker) out.push_back(what + " " + m.payload);
    }
    return out;
  }
  Result<NetworkAttachment> attach(const InstanceSpec& s) {
    Result<NetworkAttachment> got = makeError(ErrorCode::kInternal, "not completed");
    manager_->attach(s, [&](Result<NetworkAttachment> r) { got = std::move(r); });
    return got;
  }

  oak::testing::TempDir dir_;
  SimulatedClock clock_;
  InlineRunner runner_;
  FakeHostNetwork host_;
  FakePortMapper ports_;
  mqtt::InMemoryBroker broker_;
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("w1-ne");
  std::unique_ptr<mqtt::MessageBus> cluster_ = broker_.connect("cluster");
  std::vector<mqtt::Message> to_cluster_;
  std::shared_ptr<const overlay::ServiceTable> table_;
  std::vector<std::pair<std::string, bool>> answers_;
  int ready_calls_ = 0;
  std::unique_ptr<NetManager> manager_;
};

TEST_F(NetManagerTest, SetsUpTheHostOnceSubnetsAndRecoveryAreThere) {
  manager_->start();
  EXPECT_THAT(sent(), ElementsAre("net/subnet {}"));
  // Asked again while the cluster has none to give.
  fromCluster("subnet/result", {{"error", "the cluster is not connected to the root"}});
  clock_.advance(5s);
  manager_->tick();
  EXPECT_EQ(sent().size(), 2u);
  giveSubnets();
  EXPECT_FALSE(manager_->ready());  // recovery first: leftovers are judged against it
  manager_->recovered(true);
  ASSERT_TRUE(manager_->ready());
  EXPECT_EQ(ready_calls_, 1);
  EXPECT_THAT(host_.calls(),
              ElementsAre("ensureBridge oak0", "instanceLinks oak0", "openTun oaktun0"));
  EXPECT_EQ(host_.bridges().at("oak0").gateway4().toString(), "10.18.0.65");
  EXPECT_TRUE(ports_.active());
}

TEST_F(NetManagerTest, InstancesGetTheirOwnNamespaceAndAddressesInBothFamilies) {
  manager_->start();
  manager_->recovered(true);
  // An attach before the subnets waits for them.
  Result<NetworkAttachment> first = makeError(ErrorCode::kInternal, "not completed");
  manager_->attach(spec(0, "8080:80"), [&](Result<NetworkAttachment> r) { first = std::move(r); });
  EXPECT_FALSE(first);
  giveSubnets();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(isNetns(first->netns_path));
  EXPECT_EQ(first->netns_path, dir_.file("netns") + "/" + spec(0).taskId());
  EXPECT_EQ(first->nsip, "10.18.0.66/26");
  EXPECT_EQ(first->gateway, "10.18.0.65");
  EXPECT_EQ(first->mtu, 1450);
  EXPECT_THAT(host_.calls(),
              ::testing::Contains("attachInstance " + instanceLinkName(spec(0).taskId())));
  auto d = manager_->describe(spec(0).taskId());
  EXPECT_EQ(d.at("namespace_ip"), "10.18.0.66");
  EXPECT_EQ(d.at("namespace_ip_v6"), "fc00::102");
  EXPECT_EQ(d.at("host_ip"), "172.31.0.2");
  EXPECT_EQ(d.at("host_port"), 50103);
  EXPECT_EQ(ports_.mappings().size(), 1u);
  // The local instance is a known sender in the table.
  ASSERT_TRUE(table_);
  auto* local = table_->localSender(*net::Ipv4Address::parse("10.18.0.66"));
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->instance_ip.toString(), "10.30.1.1");

  // A freed address is not handed out again at once.
  manager_->detach(spec(0).taskId());
  EXPECT_FALSE(isNetns(first->netns_path));
  EXPECT_TRUE(manager_->describe(spec(0).taskId()).empty());
  EXPECT_TRUE(ports_.mappings().empty());
  ASSERT_TRUE(attach(spec(1)));
  EXPECT_EQ(manager_->describe(spec(1).taskId()).at("namespace_ip"), "10.18.0.67");
}

TEST_F(NetManagerTest, AUnikernelsNamespaceIsAPathToItsGuest) {
  manager_->start();
  manager_->recovered(true);
  giveSubnets();
  InstanceSpec guest = spec(0, "8080:80");
  guest.virtualization = "unikernel";
  auto attached = attach(guest);
  ASSERT_TRUE(attached) << attached.error().message;
  const std::string link = instanceLinkName(guest.taskId());
  EXPECT_THAT(host_.calls(), ::testing::Contains("attachGuest " + link));
  EXPECT_THAT(host_.calls(), ::testing::Not(::testing::Contains("attachInstance " + link)));
  ASSERT_EQ(host_.links().count(link), 1u);
  EXPECT_TRUE(host_.links().at(link).guest);
  // The guest gets what a container's eth0 gets; routes and port mappings are the same.
  EXPECT_EQ(attached->nsip, "10.18.0.66/26");
  EXPECT_EQ(attached->gateway, "10.18.0.65");
  EXPECT_EQ(manager_->describe(guest.taskId()).at("namespace_ip"), "10.18.0.66");
  EXPECT_EQ(manager_->describe(guest.taskId()).at("namespace_ip_v6"), "fc00::102");
  EXPECT_EQ(ports_.mappings().size(), 1u);
  ASSERT_NE(table_->localSender(*net::Ipv4Address::parse("10.18.0.66")), nullptr);

  manager_->detach(guest.taskId());
  EXPECT_EQ(host_.calls().back(), "detachInstance " + link);
  EXPECT_TRUE(host_.links().empty());
  EXPECT_FALSE(isNetns(attached->netns_path));

  // A failure of the guest path leaves nothing either.
  host_.failNext("attachGuest", makeError(ErrorCode::kConflict, "interface tap0 is not a TAP"));
  auto failed = attach(guest);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "interface tap0 is not a TAP");
  EXPECT_FALSE(isNetns(attached->netns_path));
  EXPECT_TRUE(manager_->describe(guest.taskId()).empty());
}

TEST_F(NetManagerTest, FailuresLeaveNothingBehindAndSayWhy) {
  manager_->start();
  manager_->recovered(true);
  giveSubnets();
  auto bad_port = attach(spec(0, "80:80-80"));
  ASSERT_FALSE(bad_port);
  EXPECT_THAT(bad_port.error().message, HasSubstr("80:80-80"));
  host_.failNext("attachInstance", makeError(ErrorCode::kUnavailable, "create veth: Busy"));
  auto failed = attach(spec(0));
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message, HasSubstr("create veth: Busy"));
  EXPECT_FALSE(isNetns(dir_.file("netns") + "/" + spec(0).taskId()));
  EXPECT_TRUE(host_.links().empty());
  EXPECT_TRUE(manager_->describe(spec(0).taskId()).empty());
  // Nothing of the failed attempt is in the way of the next.
  ASSERT_TRUE(attach(spec(0)));
  EXPECT_EQ(host_.links().size(), 1u);
}

TEST_F(NetManagerTest, AttachesFailWhenTheSubnetsNeverCome) {
  manager_->start();
  manager_->recovered(true);
  Result<NetworkAttachment> got = makeError(ErrorCode::kInternal, "not completed");
  manager_->attach(spec(0), [&](Result<NetworkAttachment> r) { got = std::move(r); });
  clock_.advance(61s);
  manager_->tick();
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message, HasSubstr("not ready"));
}

TEST_F(NetManagerTest, QueriesAreAskedOnceAnsweredAndRetriableAfterATimeout) {
  manager_->start();
  manager_->recovered(true);
  giveSubnets();
  to_cluster_.clear();
  manager_->query("10.30.0.9");
  manager_->query("10.30.0.9");
  EXPECT_THAT(sent(), ElementsAre(R"(net/tablequery/request {"key":"10.30.0.9"})"));
  fromCluster("tablequery/result", {{"key", "10.30.0.9"}, {"routes", routes("10.18.1.2")}});
  EXPECT_THAT(answers_, ElementsAre(std::pair<std::string, bool>{"10.30.0.9", true}));
  auto* r = table_->resolve(*net::Ipv4Address::parse("10.30.0.9"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->instances[0].nsip.toString(), "10.18.1.2");
  // Pushed changes replace the routes; a deleted service removes them.
  fromCluster("table", {{"key", "app.ns.db.ns"}, {"routes", routes("10.18.1.9")}});
  EXPECT_EQ(table_->resolve(*net::Ipv4Address::parse("10.30.0.9"))->instances[0].nsip.toString(),
            "10.18.1.9");
  fromCluster("table", {{"key", "app.ns.db.ns"}, {"routes", nullptr}});
  EXPECT_EQ(table_->resolve(*net::Ipv4Address::parse("10.30.0.9")), nullptr);

  to_cluster_.clear();
  manager_->query("10.30.0.77");
  clock_.advance(5s);
  manager_->tick();
  EXPECT_EQ(answers_.back(), (std::pair<std::string, bool>{"10.30.0.77", false}));
  manager_->query("10.30.0.77");
  EXPECT_EQ(sent().size(), 2u);
}

TEST_F(NetManagerTest, UnusedRemoteRoutesAreDroppedAndTheClusterTold) {
  manager_->start();
  manager_->recovered(true);
  giveSubnets();
  manager_->query("10.30.0.9");
  fromCluster("tablequery/result", {{"key", "10.30.0.9"}, {"routes", routes("10.18.1.2")}});
  to_cluster_.clear();
  clock_.advance(599s);
  manager_->used("app.ns.db.ns");
  clock_.advance(599s);
  manager_->tick();
  EXPECT_TRUE(sent().empty());
  clock_.advance(2s);
  manager_->tick();
  EXPECT_THAT(sent(), ElementsAre(R"(net/interest/remove {"job_name":"app.ns.db.ns"})"));
  EXPECT_EQ(table_->resolve(*net::Ipv4Address::parse("10.30.0.9")), nullptr);
}

TEST_F(NetManagerTest, ARestartedWorkerKeepsAdoptedNetworksAndRemovesLeftovers) {
  manager_->start();
  manager_->recovered(true);
  giveSubnets();
  ASSERT_TRUE(attach(spec(0, "8080:80")));
  ASSERT_TRUE(attach(spec(1)));
  // The worker restarts; instance 0 survived, instance 1 did not.
  manager_ = make();
  manager_->start();
  manager_->adopt(spec(0));
  manager_->recovered(true);
  giveSubnets();
  ASSERT_TRUE(manager_->ready());
  EXPECT_EQ(manager_->describe(spec(0).taskId()).at("namespace_ip"), "10.18.0.66");
  EXPECT_TRUE(isNetns(dir_.file("netns") + "/" + spec(0).taskId()));
  EXPECT_FALSE(isNetns(dir_.file("netns") + "/" + spec(1).taskId()));
  EXPECT_EQ(host_.links().count(instanceLinkName(spec(1).taskId())), 0u);
  EXPECT_EQ(host_.links().count(instanceLinkName(spec(0).taskId())), 1u);
  EXPECT_EQ(ports_.mappings().size(), 1u);  // re-added after the reset
  // The next instance does not collide with the adopted one.
  ASSERT_TRUE(attach(spec(2)));
  EXPECT_NE(manager_->describe(spec(2).taskId()).at("namespace_ip"), "10.18.0.66");
}

}  // namespace
}  // namespace oak::worker
