#pragma once
// The nftables side of the kernel data path, as libnftables script text (one transaction per
// script). The table holds:
//   - chain `misses` (raw prerouting): packets from this worker's instances to service-range
//     addresses the kernel cannot translate yet skip connection tracking, so that the proxy can
//     resolve them and write them back (they then start a fresh, translated connection);
//   - chain `services` (dnat): translated addresses jump to one chain each, `a_<hex>`, which
//     picks the instance: `dnat to numgen inc mod N map {...}` (round robin per new connection);
//   - chain `senders` (snat, before other tables' source NAT, which would masquerade a
//     connection translated to an instance on this worker): a translated connection leaves with
//     the sender's instance address;
//   - chain `tunnel_in` (forward) and `tunnel_local` (input): what arrives from the VXLAN device
//     must come from the overlay's ranges and go to this worker's instances (or be ICMP);
//   - chain `tunnel_port` (input): datagrams to the tunnel's UDP port must be VXLAN of our VNI,
//     long enough to carry a packet (the kernel would drop the others without counting them).
// Counters `tunnel_garbage`, `tunnel_dropped` and `host_dropped` count what they refuse.

#include <string>

#include "net/ip.h"
#include "overlay/kernel_plan.h"

namespace oak::overlay {

struct KernelRulesConfig {
  std::string table = "oakestra_overlay";
  std::string vxlan = "oakvx0";
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};  // this worker's
  net::Ipv6Prefix subnet6{net::Ipv6Address(), 128};
  uint16_t port = 50103;  // the VXLAN device's
  uint32_t vni = 1;
};

// Replaces any table of that name with the empty one (no addresses yet).
std::string kernelTableScript(const KernelRulesConfig& config);
// The commands that turn the kernel's state for `before` into that for `after` (empty if none).
// Chains of addresses whose targets did not change are left alone, so their round robin goes on.
std::string kernelDiffScript(const KernelRulesConfig& config, const KernelPlan& before,
                             const KernelPlan& after);

}  // namespace oak::overlay
