#pragma once
// The overlay's address plan. The ranges are part of the user-visible contract (SLAs name service
// addresses, workers route the overlay prefixes into their TUN device), so they are fixed here.

#include <array>
#include <cstdint>
#include <optional>

#include "net/address_pool.h"
#include "net/ip.h"

namespace oak::net {

inline constexpr uint16_t kTunnelPort = 50103;  // UDP port of the worker-to-worker tunnel

// IPv4: the whole overlay; service and instance addresses (one shared pool); worker subnets, one
// /26 each, from 10.18.0.0/26 up to and including 10.29.255.192/26.
inline constexpr Ipv4Prefix kOverlayIpv4Prefix{Ipv4Address::fromOctets(10, 16, 0, 0), 12};
inline constexpr Ipv4Prefix kServiceIpv4Prefix{Ipv4Address::fromOctets(10, 30, 0, 0), 16};
inline constexpr int kWorkerIpv4SubnetLength = 26;
inline constexpr Ipv4Address kFirstWorkerIpv4Subnet = Ipv4Address::fromOctets(10, 18, 0, 0);
inline constexpr Ipv4Address kLastWorkerIpv4Subnet = Ipv4Address::fromOctets(10, 29, 255, 192);

// IPv6: the overlay is fc00::/7. Worker subnets are /120 blocks from fc00::/120 up to the block
// just below fdfe::/16 (reserved); fdff::/16 holds service addresses in 32 blocks of /21.
inline constexpr Ipv6Prefix kOverlayIpv6Prefix{Ipv6Address::fromHextets({0xfc00}), 7};
inline constexpr Ipv6Prefix kReservedIpv6Prefix{Ipv6Address::fromHextets({0xfdfe}), 16};
inline constexpr Ipv6Prefix kServiceIpv6Prefix{Ipv6Address::fromHextets({0xfdff}), 16};
inline constexpr std::array<Ipv6Prefix, 2> kInstanceIpv6Prefixes{
    Ipv6Prefix{Ipv6Address::fromHextets({0xfdff, 0x0000}), 21},
    Ipv6Prefix{Ipv6Address::fromHextets({0xfdff, 0x0800}), 21}};
inline constexpr Ipv6Prefix kClosestIpv6Prefix{Ipv6Address::fromHextets({0xfdff, 0x1000}), 21};
inline constexpr Ipv6Prefix kRoundRobinIpv6Prefix{Ipv6Address::fromHextets({0xfdff, 0x2000}), 21};
inline constexpr int kWorkerIpv6SubnetLength = 120;
inline constexpr Ipv6Address kFirstWorkerIpv6Subnet = Ipv6Address::fromHextets({0xfc00});
inline constexpr Ipv6Address kLastWorkerIpv6Subnet =
    Ipv6Address::fromHextets({0xfdfd, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xff00});

// Balancing policies are numbered 1..30; 0 stands for "instance address" (no balancing).
inline constexpr int kInstancePolicy = 0;
inline constexpr int kClosestPolicy = 1;
inline constexpr int kRoundRobinPolicy = 2;
inline constexpr int kMaxBalancingPolicy = 30;

// The policy a service address encodes, so that any receiver can tell it from the address alone.
// Within fdff::/16 the 2nd group is P*0x1000 + H*0x0800 + ...: P = 0 is an instance block (result
// kInstancePolicy); otherwise the policy is P (H = 0) or 15 + P (H = 1). Outside fdff::/16: none.
std::optional<int> balancingPolicyOf(const Ipv6Address& address);
// The /21 block of policy 1..30 (the inverse of the above); none for other numbers.
std::optional<Ipv6Prefix> balancingPolicyBlock(int policy);

// Pools of the product. Subnet pools hand out the first address of each subnet. Each address pool
// starts at ::1 of its block, so the all-zero address of a block is never a service address.
//
// Service and instance IPv4 addresses, round robin over 10.30.0.0/16, never ending in .0 or .255
// (some stacks treat those as network/broadcast addresses): 10.30.0.1 … 10.30.0.254, 10.30.1.1 …
Ipv4Pool serviceIpv4Pool();
// IPv6 service addresses of one balancing policy 1..30 (its whole /21 block); none otherwise.
std::optional<Ipv6Pool> balancingPolicyIpv6Pool(int policy);
Ipv6Pool roundRobinIpv6Pool();  // fdff:2000::1 … fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff
// IPv6 instance addresses: fdff::/21 first, then fdff:800::/21, as one cycle.
Ipv6Pool instanceIpv6Pool();
Ipv4Pool workerIpv4SubnetPool();  // /26 subnets 10.18.0.0 … 10.29.255.192
Ipv6Pool workerIpv6SubnetPool();  // /120 subnets fc00:: … fdfd:ffff:ffff:ffff:ffff:ffff:ffff:ff00

}  // namespace oak::net
