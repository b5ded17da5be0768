#include "net/address_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace oak::net {
namespace {

Ipv4Address v4(const char* text) {
  return *Ipv4Address::parse(text);
}
Ipv6Address v6(const char* text) {
  return *Ipv6Address::parse(text);
}

// Allocates `count` times from `pool` like the root does, keeping cursor and taken set; returns
// the addresses as text, or "exhausted" for a failed allocation.
template <class Address>
std::vector<std::string> allocateMany(
    const AddressPool<Address>& pool, int count,
    std::optional<std::type_identity_t<Address>> cursor = std::nullopt,
    std::set<Address>* taken_in = nullptr) {
  std::set<Address> local;
  std::set<Address>& taken = taken_in ? *taken_in : local;
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    auto r = pool.allocate(cursor, [&taken](const Address& a) { return taken.contains(a); });
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kExhausted);
      out.push_back("exhausted");
      continue;
    }
    taken.insert(r->address);
    cursor = r->next_cursor;
    out.push_back(r->address.toString());
  }
  return out;
}

using Texts = std::vector<std::string>;

TEST(AddressPlanTest, Constants) {
  EXPECT_EQ(kTunnelPort, 50103);
  EXPECT_EQ(kOverlayIpv4Prefix.toString(), "10.16.0.0/12");
  EXPECT_EQ(kServiceIpv4Prefix.toString(), "10.30.0.0/16");
  EXPECT_EQ(kFirstWorkerIpv4Subnet.toString(), "10.18.0.0");
  EXPECT_EQ(kLastWorkerIpv4Subnet.toString(), "10.29.255.192");
  EXPECT_EQ(kOverlayIpv6Prefix.toString(), "fc00::/7");
  EXPECT_EQ(kReservedIpv6Prefix.toString(), "fdfe::/16");
  EXPECT_EQ(kServiceIpv6Prefix.toString(), "fdff::/16");
  EXPECT_EQ(kInstanceIpv6Prefixes[0].toString(), "fdff::/21");
  EXPECT_EQ(kInstanceIpv6Prefixes[1].toString(), "fdff:800::/21");
  EXPECT_EQ(kClosestIpv6Prefix.toString(), "fdff:1000::/21");
  EXPECT_EQ(kRoundRobinIpv6Prefix.toString(), "fdff:2000::/21");
  EXPECT_EQ(kFirstWorkerIpv6Subnet.toString(), "fc00::");
  EXPECT_EQ(kLastWorkerIpv6Subnet.toString(), "fdfd:ffff:ffff:ffff:ffff:ffff:ffff:ff00");
  EXPECT_TRUE(kOverlayIpv4Prefix.contains(kLastWorkerIpv4Subnet));
  EXPECT_TRUE(kOverlayIpv4Prefix.contains(kServiceIpv4Prefix.last()));
  EXPECT_TRUE(kOverlayIpv6Prefix.contains(kServiceIpv6Prefix.last()));
}

TEST(AddressPlanTest, PolicyBlocksOfAllThirtyPolicies) {
  std::set<std::string> blocks;
  for (int policy = 1; policy <= kMaxBalancingPolicy; ++policy) {
    const auto block = balancingPolicyBlock(policy);
    ASSERT_TRUE(block.has_value()) << policy;
    const int p = policy <= 15 ? policy : policy - 15;
    const char* half = policy <= 15 ? "000" : "800";
    EXPECT_EQ(block->toString(), "fdff:" + std::string(1, "0123456789abcdef"[p]) + half + "::/21");
    EXPECT_EQ(balancingPolicyOf(block->first()), policy);
    EXPECT_EQ(balancingPolicyOf(block->last()), policy);
    EXPECT_EQ(balancingPolicyOf(block->first() + (Uint128{1} << 100) + 12345), policy);
    EXPECT_FALSE(kInstanceIpv6Prefixes[0].contains(block->first()));
    EXPECT_FALSE(kInstanceIpv6Prefixes[1].contains(block->last()));
    blocks.insert(block->toString());
  }
  EXPECT_EQ(blocks.size(), 30u);  // 30 policy blocks + 2 instance blocks = all of fdff::/16
  EXPECT_EQ(balancingPolicyBlock(kClosestPolicy), kClosestIpv6Prefix);
  EXPECT_EQ(balancingPolicyBlock(kRoundRobinPolicy), kRoundRobinIpv6Prefix);
  EXPECT_EQ(balancingPolicyBlock(16)->toString(), "fdff:1800::/21");
  EXPECT_EQ(balancingPolicyBlock(30)->toString(), "fdff:f800::/21");
  EXPECT_EQ(balancingPolicyBlock(15)->toString(), "fdff:f000::/21");
  for (int invalid : {0, -1, 31, 1000}) EXPECT_FALSE(balancingPolicyBlock(invalid)) << invalid;
}

TEST(AddressPlanTest, PolicyOfAddresses) {
  EXPECT_EQ(balancingPolicyOf(v6("fdff:2000::1")), kRoundRobinPolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:2000::1337")), kRoundRobinPolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:20ff::1")), kRoundRobinPolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:27ff::1")), kRoundRobinPolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:2800::1")), 17);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:1000::1337")), kClosestPolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff::")), kInstancePolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff::2:0:101")), kInstancePolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:7ff:ffff:ffff:ffff:ffff:ffff:ffff")), kInstancePolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:800::1")), kInstancePolicy);
  EXPECT_EQ(balancingPolicyOf(v6("fdff:fff:ffff:ffff:ffff:ffff:ffff:ffff")), kInstancePolicy);
  for (const char* outside : {"fdfe::1", "fc00::1", "::1", "2001:db8::1", "fdfe:2000::1",
                              "fe00:2000::1", "::ffff:10.30.0.1"}) {
    EXPECT_FALSE(balancingPolicyOf(v6(outside)).has_value()) << outside;
  }
}

TEST(AddressPlanTest, ServiceIpv4PoolSkipsNetworkAndBroadcastOctets) {
  const Ipv4Pool pool = serviceIpv4Pool();
  const Texts first = allocateMany(pool, 3);
  EXPECT_EQ(first, (Texts{"10.30.0.1", "10.30.0.2", "10.30.0.3"}));

  std::set<Ipv4Address> taken;
  const Texts sequence = allocateMany(pool, 256, std::nullopt, &taken);
  EXPECT_EQ(sequence[252], "10.30.0.253");
  EXPECT_EQ(sequence[253], "10.30.0.254");
  EXPECT_EQ(sequence[254], "10.30.1.1");
  EXPECT_EQ(sequence[255], "10.30.1.2");

  const auto last = pool.allocate(v4("10.30.255.254"), {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->address, v4("10.30.255.254"));
  EXPECT_EQ(last->next_cursor, v4("10.30.255.255"));  // a position, not an address to hand out
  EXPECT_EQ(pool.allocate(last->next_cursor, {})->address, v4("10.30.0.1"));  // wraps
  EXPECT_EQ(pool.allocate(v4("10.30.0.255"), {})->address, v4("10.30.1.1"));

  EXPECT_TRUE(pool.inRange(v4("10.30.0.1")));
  EXPECT_TRUE(pool.inRange(v4("10.30.255.254")));
  EXPECT_FALSE(pool.inRange(v4("10.30.0.0")));
  EXPECT_FALSE(pool.inRange(v4("10.30.7.255")));
  EXPECT_FALSE(pool.inRange(v4("10.31.0.1")));
}

TEST(AddressPlanTest, ServiceIpv4PoolHoldsAllUsableAddressesOfTheSlash16) {
  const Ipv4Pool pool = serviceIpv4Pool();
  std::set<Ipv4Address> taken;
  std::optional<Ipv4Address> cursor;
  while (true) {
    auto r = pool.allocate(cursor, [&taken](const Ipv4Address& a) { return taken.contains(a); });
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kExhausted);
      break;
    }
    ASSERT_TRUE(taken.insert(r->address).second) << r->address.toString();
    cursor = r->next_cursor;
  }
  EXPECT_EQ(taken.size(), 256u * 254u);
  EXPECT_EQ(taken.rbegin()->toString(), "10.30.255.254");
  taken.erase(v4("10.30.100.100"));
  EXPECT_EQ(allocateMany(pool, 2, cursor, &taken), (Texts{"10.30.100.100", "exhausted"}));
}

TEST(AddressPlanTest, WorkerIpv4SubnetsStepBy64) {
  const Ipv4Pool pool = workerIpv4SubnetPool();
  EXPECT_EQ(allocateMany(pool, 5),
            (Texts{"10.18.0.0", "10.18.0.64", "10.18.0.128", "10.18.0.192", "10.18.1.0"}));
  EXPECT_EQ(allocateMany(pool, 2, v4("10.18.255.192")), (Texts{"10.18.255.192", "10.19.0.0"}));
  EXPECT_EQ(allocateMany(pool, 2, v4("10.18.254.128")), (Texts{"10.18.254.128", "10.18.254.192"}));
  const auto last = pool.allocate(v4("10.29.255.192"), {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->address, v4("10.29.255.192"));
  EXPECT_EQ(last->next_cursor, v4("10.18.0.0"));

  std::set<Ipv4Address> taken;
  const Texts all = allocateMany(pool, 12 * 1024 + 1, std::nullopt, &taken);
  EXPECT_EQ(all[12 * 1024 - 1], "10.29.255.192");
  EXPECT_EQ(all[12 * 1024], "exhausted");
  EXPECT_FALSE(pool.inRange(v4("10.30.0.0")));
  EXPECT_FALSE(pool.inRange(v4("10.18.0.1")));
  EXPECT_TRUE(pool.inRange(v4("10.20.3.128")));
}

TEST(AddressPlanTest, WorkerIpv6SubnetsStepBy256) {
  const Ipv6Pool pool = workerIpv6SubnetPool();
  EXPECT_EQ(allocateMany(pool, 3), (Texts{"fc00::", "fc00::100", "fc00::200"}));
  auto r = pool.allocate(v6("fc00::7fff:ffff:ffff:ff00"), {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->next_cursor.toString(), "fc00::8000:0:0:0");
  r = pool.allocate(v6("fc00:0:700:1:ff05:403:2ff:ff00"), {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address.toString(), "fc00:0:700:1:ff05:403:2ff:ff00");
  EXPECT_EQ(r->next_cursor.toString(), "fc00:0:700:1:ff05:403:300:0");
  r = pool.allocate(kLastWorkerIpv6Subnet, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, kLastWorkerIpv6Subnet);
  EXPECT_EQ(r->next_cursor, v6("fc00::"));
  EXPECT_EQ(pool.allocate(v6("fdfe::"), {})->address, v6("fc00::"));
  EXPECT_FALSE(pool.inRange(v6("fdfe::")));
  EXPECT_FALSE(pool.inRange(v6("fdff::")));
  EXPECT_FALSE(pool.inRange(v6("fc00::1")));
  EXPECT_TRUE(pool.inRange(v6("fc00::c0:ffee:0")));
}

TEST(AddressPlanTest, RoundRobinIpv6Pool) {
  const Ipv6Pool pool = roundRobinIpv6Pool();
  EXPECT_EQ(allocateMany(pool, 3), (Texts{"fdff:2000::1", "fdff:2000::2", "fdff:2000::3"}));
  EXPECT_EQ(pool.allocate(v6("fdff:2000::"), {})->address, v6("fdff:2000::1"));
  const auto last = pool.allocate(kRoundRobinIpv6Prefix.last(), {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->next_cursor, v6("fdff:2000::1"));
  EXPECT_FALSE(pool.inRange(v6("fdff:2000::")));
  EXPECT_FALSE(pool.inRange(v6("fdff:2800::1")));

  std::set<Ipv6Address> taken = {v6("fdff:2000::2")};
  EXPECT_EQ(allocateMany(pool, 2, std::nullopt, &taken), (Texts{"fdff:2000::1", "fdff:2000::3"}));
}

TEST(AddressPlanTest, InstanceIpv6PoolUsesBothBlocks) {
  const Ipv6Pool pool = instanceIpv6Pool();
  EXPECT_EQ(allocateMany(pool, 2), (Texts{"fdff::1", "fdff::2"}));
  EXPECT_EQ(allocateMany(pool, 3, v6("fdff:7ff:ffff:ffff:ffff:ffff:ffff:ffff")),
            (Texts{"fdff:7ff:ffff:ffff:ffff:ffff:ffff:ffff", "fdff:800::1", "fdff:800::2"}));
  const auto last = pool.allocate(kInstanceIpv6Prefixes[1].last(), {});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->next_cursor, v6("fdff::1"));
  EXPECT_TRUE(pool.inRange(v6("fdff:800::1")));
  EXPECT_FALSE(pool.inRange(v6("fdff:1000::1")));
  EXPECT_FALSE(pool.inRange(v6("fdff::")));
}

TEST(AddressPlanTest, PolicyPoolsStartInTheirBlock) {
  EXPECT_EQ(allocateMany(*balancingPolicyIpv6Pool(kClosestPolicy), 1), Texts{"fdff:1000::1"});
  EXPECT_EQ(allocateMany(*balancingPolicyIpv6Pool(16), 1), Texts{"fdff:1800::1"});
  EXPECT_EQ(allocateMany(*balancingPolicyIpv6Pool(30), 1), Texts{"fdff:f800::1"});
  EXPECT_FALSE(balancingPolicyIpv6Pool(0).has_value());
  EXPECT_FALSE(balancingPolicyIpv6Pool(31).has_value());
}

}  // namespace
}  // namespace oak::net
