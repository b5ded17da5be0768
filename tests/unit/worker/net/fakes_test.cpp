// The fakes behave like the real implementations where callers can tell.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker/net/fake_host_network.h"
#include "worker/net/fake_port_mapper.h"

namespace oak::worker {
namespace {

using ::testing::ElementsAre;
using Protocol = net::PortMapping::Protocol;

class FakeHostNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bridge_.subnet4 = *net::Ipv4Prefix::parse("10.18.0.0/26");
    bridge_.subnet6 = *net::Ipv6Prefix::parse("fc00::/120");
    link_.netns_path = "/run/oakestra/w/netns/app.instance.0";
    link_.host_ifname = instanceLinkName("app.instance.0");
    link_.nsip = *net::Ipv4Address::parse("10.18.0.2");
    link_.nsip6 = *net::Ipv6Address::parse("fc00::2");
  }

  FakeHostNetwork host_;
  BridgeConfig bridge_;
  InstanceLink link_;
};

TEST_F(FakeHostNetworkTest, KeepsTheStateAndRecordsCalls) {
  EXPECT_FALSE(host_.attachInstance(bridge_, link_)) << "no bridge yet";
  ASSERT_TRUE(host_.ensureBridge(bridge_));
  ASSERT_TRUE(host_.attachInstance(bridge_, link_));
  ASSERT_TRUE(host_.attachInstance(bridge_, link_)) << "identical again";
  EXPECT_EQ(host_.links().size(), 1u);
  EXPECT_EQ(*host_.instanceLinks("oak0"), std::vector<std::string>{link_.host_ifname});
  ASSERT_TRUE(host_.detachInstance(link_));
  ASSERT_TRUE(host_.detachInstance(link_));
  EXPECT_TRUE(host_.links().empty());
  const std::string attach = "attachInstance " + link_.host_ifname;
  const std::string detach = "detachInstance " + link_.host_ifname;
  EXPECT_THAT(host_.calls(), ElementsAre(attach, "ensureBridge oak0", attach, attach,
                                         "instanceLinks oak0", detach, detach));
}

TEST_F(FakeHostNetworkTest, GuestLinksAreMarkedAndDetachedLikeOthers) {
  ASSERT_TRUE(host_.ensureBridge(bridge_));
  ASSERT_TRUE(host_.attachGuest(bridge_, link_));
  ASSERT_TRUE(host_.attachGuest(bridge_, link_)) << "identical again";
  EXPECT_TRUE(host_.links().at(link_.host_ifname).guest);
  ASSERT_TRUE(host_.detachInstance(link_));
  EXPECT_TRUE(host_.links().empty());
  link_.nsip = *net::Ipv4Address::parse("10.18.0.63");  // broadcast
  EXPECT_EQ(host_.attachGuest(bridge_, link_).error().code, ErrorCode::kInvalidArgument);
  const std::string guest = "attachGuest " + link_.host_ifname;
  EXPECT_THAT(host_.calls(), ElementsAre("ensureBridge oak0", guest, guest,
                                         "detachInstance " + link_.host_ifname, guest));
}

TEST_F(FakeHostNetworkTest, ValidatesLikeTheRealOne) {
  ASSERT_TRUE(host_.ensureBridge(bridge_));
  link_.nsip = *net::Ipv4Address::parse("10.18.0.1");
  Status attached = host_.attachInstance(bridge_, link_);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kInvalidArgument);
  bridge_.mtu = 100;
  EXPECT_FALSE(host_.ensureBridge(bridge_));
}

TEST_F(FakeHostNetworkTest, ASecondLinkOfTheSameNameConflicts) {
  ASSERT_TRUE(host_.ensureBridge(bridge_));
  ASSERT_TRUE(host_.attachInstance(bridge_, link_));
  link_.netns_path = "/elsewhere";
  Status attached = host_.attachInstance(bridge_, link_);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kConflict);
}

TEST_F(FakeHostNetworkTest, InjectedFailuresHitTheNextCallOnly) {
  host_.failNext("ensureBridge", makeError(ErrorCode::kInternal, "boom"));
  Status ensured = host_.ensureBridge(bridge_);
  ASSERT_FALSE(ensured);
  EXPECT_EQ(ensured.error().message, "boom");
  EXPECT_TRUE(host_.bridges().empty());
  EXPECT_TRUE(host_.ensureBridge(bridge_));
  EXPECT_EQ(host_.bridges().count("oak0"), 1u);
}

TEST_F(FakeHostNetworkTest, LeftoversAreListedAndRemovable) {
  host_.addLeftover("oak0", "oakdeadbeef");
  EXPECT_EQ(*host_.instanceLinks("oak0"), std::vector<std::string>{"oakdeadbeef"});
  InstanceLink leftover;
  leftover.host_ifname = "oakdeadbeef";
  ASSERT_TRUE(host_.detachInstance(leftover));
  EXPECT_TRUE(host_.instanceLinks("oak0")->empty());
}

TEST_F(FakeHostNetworkTest, TheTunIsAPacketPipe) {
  Result<UniqueFd> tun = host_.openTun("oaktun0", 1450);
  ASSERT_TRUE(tun) << tun.error().message;
  const int peer = host_.tunPeer("oaktun0");
  ASSERT_GE(peer, 0);
  ASSERT_EQ(::write(peer, "one", 3), 3);
  ASSERT_EQ(::write(peer, "two", 3), 3);
  char buffer[16];
  EXPECT_EQ(::read(tun->get(), buffer, sizeof(buffer)), 3) << "one packet per read";
  EXPECT_EQ(::write(tun->get(), "reply", 5), 5);
  EXPECT_EQ(::read(peer, buffer, sizeof(buffer)), 5);
  EXPECT_EQ(host_.tunPeer("other"), -1);
}

TEST(FakePortMapperTest, KeepsMappingsWithTheRealConflictRules) {
  FakePortMapper mapper;
  const auto nsip = *net::Ipv4Address::parse("10.18.0.2");
  ASSERT_TRUE(
      mapper.reset(*net::Ipv4Prefix::parse("10.18.0.0/26"), *net::Ipv6Prefix::parse("fc00::/120")));
  EXPECT_TRUE(mapper.active());
  ASSERT_TRUE(mapper.add("a", nsip, std::nullopt, {{8080, 80, Protocol::kTcp}}));
  Status conflict = mapper.add("b", nsip, std::nullopt, {{8080, 80, Protocol::kTcp}});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().message, "host port tcp/8080 is already mapped by a");
  mapper.failNext("remove", makeError(ErrorCode::kInternal, "boom"));
  EXPECT_FALSE(mapper.remove("a"));
  EXPECT_EQ(mapper.mappings().count("a"), 1u);
  EXPECT_TRUE(mapper.remove("a"));
  EXPECT_TRUE(mapper.mappings().empty());
  ASSERT_TRUE(mapper.teardown());
  EXPECT_FALSE(mapper.active());
  EXPECT_THAT(mapper.calls(), ElementsAre("reset 10.18.0.0/26 fc00::/120", "add a", "add b",
                                          "remove a", "remove a", "teardown"));
}

}  // namespace
}  // namespace oak::worker
