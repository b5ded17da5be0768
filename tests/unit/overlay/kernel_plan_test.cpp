// The kernel data path's plan (what to translate, where peers are) and its nftables scripts.
#include "overlay/kernel_plan.h"

#include <gtest/gtest.h>

#include "net/address_plan.h"
#include "overlay/kernel_rules.h"
#include "testing_packets.h"

namespace oak::overlay {
namespace {

using namespace std::chrono_literals;
using testing::v4;
using testing::v6;

// This worker: 10.18.0.0/26 and fc00::/120; W2: 10.18.0.64/26; W3: 10.18.0.128/26.
const TunnelEndpoint kSelf{v4("172.31.0.1"), 50103};
const TunnelEndpoint kW2{v4("172.31.0.2"), 50103};
const TunnelEndpoint kW3{v4("172.31.0.3"), 50103};

InstanceRoute instance(int64_t number, uint32_t subnet_index, const TunnelEndpoint& host,
                       bool with_v6 = true) {
  InstanceRoute r;
  r.instance_number = number;
  r.worker_id = "w";
  r.instance_ip = v4("10.30.1.0") + static_cast<uint32_t>(number);
  r.instance_ip6 = v6("fdff::100") + static_cast<net::Uint128>(number);
  r.nsip = v4("10.18.0.2") + 64 * subnet_index + static_cast<uint32_t>(number);
  if (with_v6) r.nsip6 = v6("fc00::2") + (net::Uint128{256} * subnet_index + number);
  r.host = host;
  return r;
}

JobRoutes job(std::vector<InstanceRoute> instances) {
  return JobRoutes{.job_name = "app.ns.svc.ns",
                   .service_ips = {{net::kRoundRobinPolicy, v4("10.30.0.1"), v6("fdff:2000::1")},
                                   {net::kClosestPolicy, v4("10.30.0.2"), v6("fdff:1000::1")}},
                   .instances = std::move(instances)};
}

KernelPlanContext context(const RttTable* rtt = nullptr) {
  return KernelPlanContext{net::Ipv4Prefix(v4("10.18.0.0"), 26), net::Ipv6Prefix(v6("fc00::"), 120),
                           kSelf, rtt};
}

KernelPlan plan(std::vector<InstanceRoute> instances, const RttTable* rtt = nullptr) {
  ServiceTable::Builder b;
  b.add(job(std::move(instances)));
  b.addLocal(LocalInstance{"app.ns.cli.ns", 0, v4("10.18.0.9"), v6("fc00::9"), v4("10.30.2.9"),
                           v6("fdff::209")});
  return planKernel(*b.build(), context(rtt));
}

TEST(KernelPlanTest,
     ServiceAddressesTranslateToEveryInstanceInOrderAndInstanceAddressesToTheirOwn) {
  KernelPlan p = plan({instance(1, 0, kSelf), instance(2, 1, kW2)});
  EXPECT_EQ(p.dnat4.at(v4("10.30.0.1")),
            (std::vector<net::Ipv4Address>{v4("10.18.0.3"), v4("10.18.0.68")}));
  EXPECT_EQ(p.dnat6.at(v6("fdff:2000::1")),
            (std::vector<net::Ipv6Address>{v6("fc00::3"), v6("fc00::104")}));
  EXPECT_EQ(p.dnat4.at(v4("10.30.1.2")), std::vector<net::Ipv4Address>{v4("10.18.0.68")});
  EXPECT_EQ(p.dnat6.at(v6("fdff::102")), std::vector<net::Ipv6Address>{v6("fc00::104")});
  EXPECT_EQ(p.snat4.at(v4("10.18.0.9")), v4("10.30.2.9"));
  EXPECT_EQ(p.snat6.at(v6("fc00::9")), v6("fdff::209"));
}

TEST(KernelPlanTest, RemoteWorkersBecomePeersWithRoutesToTheirInstanceAddresses) {
  KernelPlan p = plan({instance(1, 0, kSelf), instance(2, 1, kW2), instance(3, 2, kW3)});
  ASSERT_EQ(p.peers.size(), 2u);
  const PeerWorker& w2 = p.peers.at(v4("10.18.0.64"));
  EXPECT_EQ(w2.endpoint, kW2);
  EXPECT_EQ(w2.gateway4(), v4("10.18.0.64"));
  EXPECT_EQ(w2.gateway6(), v6("fe80::6f:a12:40"));
  EXPECT_EQ(w2.subnet6, net::Ipv6Prefix(v6("fc00::100"), 120));
  EXPECT_EQ(w2.mac(), (std::array<uint8_t, 6>{0x02, 0x6f, 10, 18, 0, 64}));
  EXPECT_EQ(p.routes4.at(v4("10.30.1.3")), v4("10.18.0.128"));
  EXPECT_EQ(p.routes6.at(v6("fdff::103")), v6("fe80::6f:a12:80"));
  EXPECT_FALSE(p.routes4.count(v4("10.30.1.1"))) << "local instances need no route";
}

TEST(KernelPlanTest, ClosestKeepsOnlyTheInstancesWithTheLowestRtt) {
  RttTable rtt;
  rtt.set(kW2, 900us);
  rtt.set(kW3, 300us);
  KernelPlan remote = plan({instance(2, 1, kW2), instance(3, 2, kW3)}, &rtt);
  EXPECT_EQ(remote.dnat4.at(v4("10.30.0.2")), std::vector<net::Ipv4Address>{v4("10.18.0.133")});
  EXPECT_EQ(remote.dnat4.at(v4("10.30.0.1")).size(), 2u) << "round robin ignores RTTs";
  KernelPlan with_local = plan({instance(1, 0, kSelf), instance(3, 2, kW3)}, &rtt);
  EXPECT_EQ(with_local.dnat6.at(v6("fdff:1000::1")), std::vector<net::Ipv6Address>{v6("fc00::3")});
}

TEST(KernelPlanTest, AddressesWithoutACandidateAreLeftToTheProxy) {
  KernelPlan p = plan({instance(2, 1, kW2, /*with_v6=*/false)});
  EXPECT_TRUE(p.dnat4.count(v4("10.30.0.1")));
  EXPECT_FALSE(p.dnat6.count(v6("fdff:2000::1")));
  EXPECT_FALSE(p.dnat6.count(v6("fdff::102")));
}

TEST(KernelPlanTest, PeersOfAnotherUnderlayFamilyOrWithConflictingEndpointsAreLeftOut) {
  const TunnelEndpoint v6_worker{v6("2001:db8::2"), 50103};
  const TunnelEndpoint elsewhere{v4("172.31.0.9"), 50103};
  KernelPlan p = plan({instance(2, 1, v6_worker), instance(3, 2, kW3), instance(4, 2, elsewhere)});
  EXPECT_TRUE(p.peers.empty());
  EXPECT_EQ(p.unreachable_peers, 2u);
  EXPECT_TRUE(p.routes4.empty());
  EXPECT_FALSE(p.dnat4.count(v4("10.30.0.1")));
}

TEST(KernelPlanTest, GoneTargetsAreTheNamespaceAddressesNoAddressTranslatesToAnyMore) {
  KernelPlan before = plan({instance(1, 0, kSelf), instance(2, 1, kW2)});
  KernelPlan after = plan({instance(1, 0, kSelf)});
  GoneTargets gone = goneTargets(before, after);
  EXPECT_EQ(gone.v4, std::vector<net::Ipv4Address>{v4("10.18.0.68")});
  EXPECT_EQ(gone.v6, std::vector<net::Ipv6Address>{v6("fc00::104")});
  EXPECT_TRUE(goneTargets(after, before).empty());
}

TEST(KernelPlanTest, AnIpv6UnderlayLeavesRoomForItsLongerHeader) {
  EXPECT_EQ(vxlanMtu(1450, false), 1450);  // 1450 + 50 = 1500 on the underlay
  EXPECT_EQ(vxlanMtu(1450, true), 1430);   // 1430 + 70 = 1500
}

KernelRulesConfig rulesConfig() {
  return KernelRulesConfig{"ovl", "oakvx0", net::Ipv4Prefix(v4("10.18.0.0"), 26),
                           net::Ipv6Prefix(v6("fc00::"), 120)};
}

TEST(KernelRulesTest, NewAddressesGetAChainAMapEntryAndAKnownEntry) {
  KernelPlan after = plan({instance(1, 0, kSelf), instance(2, 1, kW2)});
  const std::string script = kernelDiffScript(rulesConfig(), KernelPlan{}, after);
  EXPECT_NE(script.find("add chain inet ovl a_0a1e0001\n"
                        "add rule inet ovl a_0a1e0001 dnat ip to numgen inc mod 2 map "
                        "{ 0 : 10.18.0.3, 1 : 10.18.0.68 }\n"
                        "add element inet ovl dnat4 { 10.30.0.1 : goto a_0a1e0001 }\n"
                        "add element inet ovl known4 { 10.30.0.1 }\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("add rule inet ovl a_0a1e0102 dnat ip to 10.18.0.68\n"), std::string::npos);
  EXPECT_NE(script.find("add rule inet ovl a_fdff0000000000000000000000000102 dnat ip6 to "
                        "fc00::104\n"),
            std::string::npos);
  EXPECT_NE(script.find("add element inet ovl snat4 { 10.18.0.9 : 10.30.2.9 }\n"),
            std::string::npos);
  EXPECT_EQ(kernelDiffScript(rulesConfig(), after, after), "");
}

TEST(KernelRulesTest, ChangedAddressesAreRewrittenInPlaceAndRemovedOnesDeleted) {
  KernelPlan before = plan({instance(1, 0, kSelf), instance(2, 1, kW2)});
  KernelPlan after = plan({instance(1, 0, kSelf)});
  const std::string script = kernelDiffScript(rulesConfig(), before, after);
  EXPECT_NE(script.find("delete element inet ovl dnat4 { 10.30.1.2 }\n"
                        "delete element inet ovl known4 { 10.30.1.2 }\n"
                        "delete chain inet ovl a_0a1e0102\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("flush chain inet ovl a_0a1e0001\n"
                        "add rule inet ovl a_0a1e0001 dnat ip to 10.18.0.3\n"),
            std::string::npos)
      << script;
  EXPECT_EQ(script.find("a_0a1e0101"), std::string::npos) << "unchanged chains stay";
  EXPECT_EQ(script.find("snat4"), std::string::npos) << "the senders did not change";
}

TEST(KernelRulesTest, TheTableNamesTheDevicesAndSubnetsItGuards) {
  const std::string script = kernelTableScript(rulesConfig());
  EXPECT_EQ(script.rfind("add table inet ovl\ndelete table inet ovl\ntable inet ovl {", 0), 0u);
  EXPECT_NE(script.find("ip saddr 10.16.0.0/12 ip daddr 10.18.0.0/26 accept"), std::string::npos);
  EXPECT_NE(script.find("ip6 saddr fc00::/7 ip6 daddr fc00::/120 accept"), std::string::npos);
  EXPECT_NE(script.find("meta l4proto { icmp, ipv6-icmp } accept"), std::string::npos);
  // Only datagrams to the tunnel's port are judged as VXLAN (not ICMP, not other ports).
  EXPECT_NE(script.find("udp dport 50103 @th,96,24 != 1 counter name \"tunnel_garbage\" drop"),
            std::string::npos);
  EXPECT_EQ(script.find("udp dport != 50103 return"), std::string::npos);
}

}  // namespace
}  // namespace oak::overlay
