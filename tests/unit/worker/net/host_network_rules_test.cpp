// The checks and texts of the host network that need no kernel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/net/host_network.h"
#include "worker/net/nft_port_mapper.h"

namespace oak::worker {
namespace {

using ::testing::HasSubstr;

BridgeConfig bridge() {
  BridgeConfig config;
  config.subnet4 = *net::Ipv4Prefix::parse("10.18.0.0/26");
  config.subnet6 = *net::Ipv6Prefix::parse("fc00::/120");
  return config;
}

TEST(HostNetworkRulesTest, BridgeConfigGateways) {
  EXPECT_EQ(bridge().gateway4().toString(), "10.18.0.1");
  EXPECT_EQ(bridge().gateway6().toString(), "fc00::1");
}

TEST(HostNetworkRulesTest, InterfaceNames) {
  EXPECT_TRUE(validateInterfaceName("oak0", "bridge name"));
  EXPECT_TRUE(validateInterfaceName("a.b-c_d0123456", "x"));
  for (const char* name : {"", "sixteen-chars-xx", "a b", "a/b", "a:b", ".", "..", "a\"b"}) {
    Status status = validateInterfaceName(name, "bridge name");
    ASSERT_FALSE(status) << name;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(validateInterfaceName("a b", "bridge name").error().message,
            "bridge name 'a b' must be 1..15 characters of [A-Za-z0-9._-]");
}

TEST(HostNetworkRulesTest, BridgeNeedsRoomAndAnIpv6Mtu) {
  EXPECT_TRUE(validateBridge(bridge()));
  BridgeConfig config = bridge();
  config.mtu = 1279;
  EXPECT_EQ(validateBridge(config).error().message, "bridge oak0 mtu 1279 must be 1280..65535");
  config = bridge();
  config.subnet4 = *net::Ipv4Prefix::parse("10.18.0.0/31");
  EXPECT_FALSE(validateBridge(config));
  config = bridge();
  config.subnet6 = *net::Ipv6Prefix::parse("fc00::/127");
  EXPECT_FALSE(validateBridge(config));
}

TEST(HostNetworkRulesTest, InstanceAddressesMustBeHostsOfTheSubnets) {
  InstanceLink link;
  link.netns_path = "/run/x";
  link.host_ifname = "oak12345678";
  for (const char* ok : {"10.18.0.2", "10.18.0.62"}) {
    link.nsip = *net::Ipv4Address::parse(ok);
    EXPECT_TRUE(validateInstanceLink(bridge(), link)) << ok;
  }
  for (const char* bad : {"10.18.0.0", "10.18.0.1", "10.18.0.63", "10.18.0.64", "10.19.0.2"}) {
    link.nsip = *net::Ipv4Address::parse(bad);
    EXPECT_FALSE(validateInstanceLink(bridge(), link)) << bad;
  }
  link.nsip = *net::Ipv4Address::parse("10.18.0.2");
  for (const char* bad : {"fc00::", "fc00::1", "fc00::100"}) {
    link.nsip6 = *net::Ipv6Address::parse(bad);
    EXPECT_FALSE(validateInstanceLink(bridge(), link)) << bad;
  }
  link.nsip6 = *net::Ipv6Address::parse("fc00::ff");
  EXPECT_TRUE(validateInstanceLink(bridge(), link));
  link.netns_path.clear();
  EXPECT_FALSE(validateInstanceLink(bridge(), link));
}

TEST(HostNetworkRulesTest, InstanceLinkNamesAreStable) {
  // Interfaces outlive worker restarts, so the name must not change between builds.
  EXPECT_EQ(instanceLinkName("app.instance.0"), "oak6b41e1de");
  EXPECT_NE(instanceLinkName("app.instance.1"), "oak6b41e1de");
}

TEST(NftRulesetTest, MapsOnlyTrafficToTheHostAndMasqueradesEgress) {
  const std::string script = NftPortMapper().rulesetScript(bridge().subnet4, bridge().subnet6);
  EXPECT_THAT(script, HasSubstr("table inet oakestra {"));
  EXPECT_THAT(script, HasSubstr("map dnat4 { type inet_proto . inet_service : ipv4_addr . "
                                "inet_service; }"));
  EXPECT_THAT(script,
              HasSubstr("fib daddr type local dnat ip to meta l4proto . th dport map @dnat4"));
  EXPECT_THAT(script, HasSubstr("ip saddr 10.18.0.0/26 ip daddr != 10.16.0.0/12 oifname != "
                                "\"oak0\" masquerade"));
  EXPECT_THAT(script, HasSubstr("ip6 saddr fc00::/120 ip6 daddr != fc00::/7 oifname != \"oak0\" "
                                "masquerade"));
  EXPECT_THAT(script, HasSubstr("iifname { \"oak0\", \"oaktun0\" } accept"));
}

TEST(NftRulesetTest, NamesThatWouldBreakTheScriptAreRefused) {
  NftPortMapper mapper(NftOptions{"oak table", "oak0", "oaktun0"});
  Status reset = mapper.reset(bridge().subnet4, bridge().subnet6);
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace oak::worker
