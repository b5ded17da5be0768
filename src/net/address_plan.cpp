#include "net/address_plan.h"

#include <utility>
#include <vector>

namespace oak::net {
namespace {

constexpr int kPolicyBlockLength = 21;
constexpr uint16_t kPolicyNibbleUnit = 0x1000;  // P, the top nibble of the 2nd group
constexpr uint16_t kPolicyHighBit = 0x0800;     // H, selects policies 16..30
constexpr int kPoliciesPerHalf = 15;

// A block minus its all-zero address.
Ipv6Pool::Range hostRange(const Ipv6Prefix& block) {
  return {block.first() + 1, block.last()};
}

}  // namespace

std::optional<int> balancingPolicyOf(const Ipv6Address& address) {
  if (!kServiceIpv6Prefix.contains(address)) return std::nullopt;
  const uint16_t group = address.hextet(1);
  const int p = group / kPolicyNibbleUnit;
  if (p == 0) return kInstancePolicy;
  return (group & kPolicyHighBit) != 0 ? kPoliciesPerHalf + p : p;
}

std::optional<Ipv6Prefix> balancingPolicyBlock(int policy) {
  if (policy < 1 || policy > kMaxBalancingPolicy) return std::nullopt;
  const bool high = policy > kPoliciesPerHalf;
  const int p = high ? policy - kPoliciesPerHalf : policy;
  const auto group = static_cast<uint16_t>(p * kPolicyNibbleUnit + (high ? kPolicyHighBit : 0));
  return Ipv6Prefix(Ipv6Address::fromHextets({kServiceIpv6Prefix.address().hextet(0), group}),
                    kPolicyBlockLength);
}

Ipv4Pool serviceIpv4Pool() {
  return Ipv4Pool(kServiceIpv4Prefix.first(), kServiceIpv4Prefix.last(), 1, [](Ipv4Address a) {
    const uint8_t last_octet = a.octets()[3];
    return last_octet != 0 && last_octet != 255;
  });
}

std::optional<Ipv6Pool> balancingPolicyIpv6Pool(int policy) {
  const auto block = balancingPolicyBlock(policy);
  if (!block) return std::nullopt;
  return Ipv6Pool(std::vector{hostRange(*block)});
}

Ipv6Pool roundRobinIpv6Pool() {
  return *balancingPolicyIpv6Pool(kRoundRobinPolicy);
}

Ipv6Pool instanceIpv6Pool() {
  std::vector<Ipv6Pool::Range> ranges;
  for (const Ipv6Prefix& block : kInstanceIpv6Prefixes) ranges.push_back(hostRange(block));
  return Ipv6Pool(std::move(ranges));
}

Ipv4Pool workerIpv4SubnetPool() {
  return Ipv4Pool(kFirstWorkerIpv4Subnet, kLastWorkerIpv4Subnet,
                  uint64_t{1} << (32 - kWorkerIpv4SubnetLength));
}

Ipv6Pool workerIpv6SubnetPool() {
  return Ipv6Pool(kFirstWorkerIpv6Subnet, kLastWorkerIpv6Subnet,
                  uint64_t{1} << (128 - kWorkerIpv6SubnetLength));
}

}  // namespace oak::net
