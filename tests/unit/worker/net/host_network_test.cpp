// NetlinkHostNetwork against the kernel: bridge, instance veths, leftovers.
#include "worker/net/netlink_host_network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "kernel_fixture.h"
#include "net_probe.h"
#include "worker/net/multicast.h"
#include "worker/net/netns.h"
#include "worker/net/sysctl.h"

namespace oak::worker::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

net::Ipv4Address v4(const char* text) {
  return *net::Ipv4Address::parse(text);
}
net::Ipv6Address v6(const char* text) {
  return *net::Ipv6Address::parse(text);
}

class HostNetworkTest : public KernelTest {
 protected:
  void attach(const InstanceLink& link) {
    Status attached = host_.attachInstance(bridge_, link);
    ASSERT_TRUE(attached) << attached.error().message;
  }

  void ensureBridge() {
    Status ensured = host_.ensureBridge(bridge_);
    ASSERT_TRUE(ensured) << ensured.error().message;
  }

  static std::string inside(const InstanceLink& link, const std::string& command) {
    return sh("nsenter --net=" + link.netns_path + " " + command);
  }

  NetlinkHostNetwork host_;
  BridgeConfig bridge_ = workerBridge();
};

TEST_F(HostNetworkTest, BridgeGetsGatewayAddressesMtuAndForwarding) {
  ensureBridge();
  const std::string link = sh("ip -d link show oak0");
  EXPECT_THAT(link, HasSubstr("mtu 1450"));
  EXPECT_THAT(link, ContainsRegex("[<,]UP[,>]"));  // administratively; no carrier without ports
  EXPECT_THAT(link, HasSubstr("bridge"));
  EXPECT_THAT(link, HasSubstr("link/ether 02:6f:0a:12:00:01"));
  EXPECT_THAT(sh("ip -4 -br addr show oak0"), HasSubstr("10.18.0.1/26"));
  const std::string v6_addresses = sh("ip -6 -br addr show oak0");
  EXPECT_THAT(v6_addresses, HasSubstr("fc00::1/120"));
  EXPECT_THAT(sh("ip -6 addr show oak0"), Not(HasSubstr("tentative")));
  EXPECT_EQ(*readSysctl("net/ipv4/ip_forward"), "1");
  EXPECT_EQ(*readSysctl("net/ipv6/conf/all/forwarding"), "1");
  EXPECT_EQ(*readSysctl("net/ipv6/conf/oak0/accept_ra"), "0");
}

TEST_F(HostNetworkTest, EnsureBridgeKeepsTheBridgeAndMovesToANewSubnet) {
  ensureBridge();
  const std::string index = sh("cat /sys/class/net/oak0/ifindex");
  ensureBridge();
  bridge_.subnet4 = *net::Ipv4Prefix::parse("10.18.0.64/26");
  bridge_.subnet6 = *net::Ipv6Prefix::parse("fc00::100/120");
  bridge_.mtu = 1400;
  ensureBridge();
  EXPECT_EQ(sh("cat /sys/class/net/oak0/ifindex"), index);
  EXPECT_EQ(sh("ip -4 -o addr show oak0 | awk '{print $4}'"), "10.18.0.65/26\n");
  EXPECT_EQ(sh("ip -6 -o addr show oak0 scope global | awk '{print $4}'"), "fc00::101/120\n");
  EXPECT_THAT(sh("ip link show oak0"), HasSubstr("mtu 1400"));
}

TEST_F(HostNetworkTest, EnsureBridgeRefusesAnotherKindOfInterface) {
  ASSERT_EQ(sh("ip link add oak0 type veth peer name oak0peer"), "");
  Status ensured = host_.ensureBridge(bridge_);
  ASSERT_FALSE(ensured);
  EXPECT_EQ(ensured.error().code, ErrorCode::kConflict);
  EXPECT_EQ(ensured.error().message, "interface oak0 is not a bridge");
}

TEST_F(HostNetworkTest, ForwardingSwitchesSlaacInterfacesToAcceptRaTwo) {
  ASSERT_EQ(sh("ip link add uplink type veth peer name uplinkpeer"), "");
  ASSERT_TRUE(writeSysctl("net/ipv6/conf/uplink/accept_ra", "1"));
  ensureBridge();
  EXPECT_EQ(*readSysctl("net/ipv6/conf/uplink/accept_ra"), "2");
}

TEST_F(HostNetworkTest, InstancesReachEachOtherAndTheGatewayOverIpv4AndIpv6) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  const InstanceLink b = makeInstance("b", "10.18.0.3", "fc00::3");
  attach(a);
  attach(b);

  EXPECT_THAT(inside(a, "ip -br addr show eth0"), HasSubstr("10.18.0.2/26"));
  EXPECT_THAT(inside(a, "ip -br addr show eth0"), HasSubstr("fc00::2/120"));
  EXPECT_THAT(inside(a, "ip -br link show lo"), HasSubstr("UNKNOWN"));  // lo is up
  EXPECT_THAT(inside(a, "ip route show default"), HasSubstr("default via 10.18.0.1 dev eth0"));
  EXPECT_THAT(inside(a, "ip -6 route show default"), HasSubstr("default via fc00::1 dev eth0"));
  EXPECT_THAT(sh("ip link show " + a.host_ifname), HasSubstr("master oak0"));
  EXPECT_THAT(sh("ip link show " + a.host_ifname), HasSubstr("mtu 1450"));

  for (const char* target : {"10.18.0.3", "fc00::3", "10.18.0.1", "fc00::1"}) {
    Status pinged = runInNetns(a.netns_path, [&] { return ping(target); });
    EXPECT_TRUE(pinged) << target << ": " << pinged.error().message;
  }
  EXPECT_TRUE(ping("10.18.0.2")) << "the host reaches instances";
  // Attached means reachable at once: the instance answers neighbour solicitations already, and
  // the host needs none, its entry for the instance is pinned to eth0's address.
  EXPECT_THAT(inside(a, "cat /proc/net/igmp6"), HasSubstr(solicitedNodeGroup(v6("fc00::2"))));
  const std::string mac = inside(a, "ip -br link show eth0 | awk '{print $3}'");
  EXPECT_THAT(sh("ip -6 neigh show fc00::2 dev oak0"),
              ContainsRegex("lladdr " + mac.substr(0, mac.size() - 1) + " PERMANENT"));
}

TEST_F(HostNetworkTest, AttachingTheSameLinkAgainIsHarmless) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  attach(a);
  const std::string index = sh("cat /sys/class/net/" + a.host_ifname + "/ifindex");
  attach(a);
  EXPECT_EQ(sh("cat /sys/class/net/" + a.host_ifname + "/ifindex"), index);
  EXPECT_EQ(inside(a, "ip -4 -o addr show eth0 | awk '{print $4}'"), "10.18.0.2/26\n");
  EXPECT_TRUE(ping("10.18.0.2"));
}

TEST_F(HostNetworkTest, TheSameNameIntoAnotherNamespaceIsAConflict) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  attach(a);
  InstanceLink other = makeInstance("b", "10.18.0.3", "fc00::3");
  other.host_ifname = a.host_ifname;
  Status attached = host_.attachInstance(bridge_, other);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kConflict);
  EXPECT_THAT(attached.error().message,
              HasSubstr("create veth " + a.host_ifname + " in bridge oak0: File exists"));
  EXPECT_TRUE(ping("10.18.0.2")) << "the existing link is untouched";
}

TEST_F(HostNetworkTest, AttachIntoAMissingNamespaceLeavesNothing) {
  ensureBridge();
  InstanceLink link;
  link.netns_path = netnsPath("missing");
  link.host_ifname = "oakmissing";
  link.nsip = v4("10.18.0.2");
  Status attached = host_.attachInstance(bridge_, link);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(attached.error().message, HasSubstr(link.netns_path));
  EXPECT_THAT(sh("ip link show oakmissing 2>/dev/null"), HasSubstr("exit"));
  EXPECT_THAT(*host_.instanceLinks("oak0"), IsEmpty());
}

TEST_F(HostNetworkTest, AFailureInsideTheNamespaceRemovesTheVeth) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  // eth0 will be born with IPv6 disabled, so its IPv6 address cannot be added.
  Status disabled = runInNetns(
      a.netns_path, [] { return writeSysctl("net/ipv6/conf/default/disable_ipv6", "1"); });
  ASSERT_TRUE(disabled) << disabled.error().message;
  Status attached = host_.attachInstance(bridge_, a);
  ASSERT_FALSE(attached);
  EXPECT_THAT(attached.error().message, HasSubstr("add address fc00::2/120 to eth0"));
  EXPECT_THAT(sh("ip link show " + a.host_ifname + " 2>/dev/null"), HasSubstr("exit"));
  EXPECT_THAT(inside(a, "ip link show eth0 2>/dev/null"), HasSubstr("exit"));
}

TEST_F(HostNetworkTest, AnInstanceWithoutIpv6GetsOnlyIpv4) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", nullptr);
  attach(a);
  EXPECT_EQ(inside(a, "ip -6 -o addr show eth0 scope global"), "");
  EXPECT_EQ(inside(a, "ip -6 route show default"), "");
  EXPECT_TRUE(ping("10.18.0.2"));
}

TEST_F(HostNetworkTest, InvalidAddressesAreRejectedBeforeAnythingIsCreated) {
  ensureBridge();
  InstanceLink link = makeInstance("a", "10.18.0.64", "fc00::2");
  Status attached = host_.attachInstance(bridge_, link);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(attached.error().message, "instance " + link.host_ifname +
                                          ": nsip 10.18.0.64 is not an instance address of "
                                          "10.18.0.0/26");
  link.nsip = v4("10.18.0.1");  // the gateway
  EXPECT_FALSE(host_.attachInstance(bridge_, link));
  link.nsip = v4("10.18.0.2");
  link.nsip6 = v6("fc00::1");
  EXPECT_FALSE(host_.attachInstance(bridge_, link));
  EXPECT_THAT(*host_.instanceLinks("oak0"), IsEmpty());
}

TEST_F(HostNetworkTest, AttachNeedsTheBridge) {
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  Status attached = host_.attachInstance(bridge_, a);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(attached.error().message, "bridge oak0 does not exist");
}

TEST_F(HostNetworkTest, DetachRemovesBothEndsAndIsIdempotent) {
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  attach(a);
  ASSERT_THAT(sh("ip -6 neigh show fc00::2 dev oak0"), HasSubstr("PERMANENT"));
  ASSERT_TRUE(host_.detachInstance(a));
  EXPECT_THAT(sh("ip link show " + a.host_ifname + " 2>/dev/null"), HasSubstr("exit"));
  EXPECT_THAT(sh("ip -6 neigh show fc00::2 dev oak0"), Not(HasSubstr("PERMANENT")));
  EXPECT_THAT(inside(a, "ip link show eth0 2>/dev/null"), HasSubstr("exit"));
  EXPECT_TRUE(host_.detachInstance(a));
}

TEST_F(HostNetworkTest, DetachRefusesAnInterfaceThatIsNoVeth) {
  ASSERT_EQ(sh("ip link add oakother type bridge"), "");
  InstanceLink link;
  link.host_ifname = "oakother";
  Status detached = host_.detachInstance(link);
  ASSERT_FALSE(detached);
  EXPECT_EQ(detached.error().message, "delete veth oakother: it is not a veth");
}

TEST_F(HostNetworkTest, InstanceLinksListsTheVethsOnTheBridge) {
  EXPECT_THAT(*host_.instanceLinks("oak0"), IsEmpty()) << "no bridge yet";
  ensureBridge();
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  const InstanceLink b = makeInstance("b", "10.18.0.3", "fc00::3");
  attach(b);
  attach(a);
  ASSERT_EQ(sh("ip link add stray0 type veth peer name stray1"), "");  // not on the bridge
  ASSERT_EQ(sh("ip tuntap add oaktap mode tap && ip link set oaktap master oak0"), "");
  std::vector<std::string> expected{a.host_ifname, b.host_ifname};
  std::sort(expected.begin(), expected.end());
  Result<std::vector<std::string>> links = host_.instanceLinks("oak0");
  ASSERT_TRUE(links) << links.error().message;
  EXPECT_EQ(*links, expected);
}

TEST_F(HostNetworkTest, TheBridgeMacStaysWhenPortsJoin) {
  ensureBridge();
  const std::string mac = sh("cat /sys/class/net/oak0/address");
  EXPECT_EQ(mac, "02:6f:0a:12:00:01\n");
  const InstanceLink a = makeInstance("a", "10.18.0.2", "fc00::2");
  attach(a);
  EXPECT_EQ(sh("cat /sys/class/net/oak0/address"), mac);
}

}  // namespace
}  // namespace oak::worker::testing
