#pragma once
// What the kernel must hold for the overlay to translate and carry packets without the proxy:
// computed from a ServiceTable, compared with the previous plan, and applied as nftables and
// netlink changes by the worker (`worker/overlay/kernel_path.*`, design in
// docs/design/overlay.md, "Kernel data path").
//
//   - dnat: every service or instance address with candidates → the namespace addresses a new
//     flow to it is translated to (round robin over them in order; for "closest", only the
//     instances with the lowest RTT);
//   - snat: every local instance's namespace address → its instance address (the source its
//     flows to translated addresses leave with);
//   - peers: the other workers seen in the table, each with its subnets, tunnel endpoint and the
//     MAC its VXLAN device has (derived from its IPv4 subnet, so nothing needs exchanging);
//   - routes: remote instance addresses → the peer that runs them (replies to a remote client
//     are addressed to its instance address).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "net/ip.h"
#include "overlay/balancer.h"
#include "overlay/routes.h"

namespace oak::overlay {

inline constexpr int kWorkerSubnet4Length = 26;
inline constexpr int kWorkerSubnet6Length = 120;

// The VXLAN device of the worker owning `subnet4`: 02:6f followed by the subnet's four bytes.
std::array<uint8_t, 6> vxlanMac(const net::Ipv4Prefix& subnet4);

// The VXLAN device's MTU for instances whose links have `overlay_mtu` (1450, sized for VXLAN's 50
// bytes over IPv4 on a 1500-byte underlay): an IPv6 underlay's header is 20 bytes longer, so
// larger packets get "packet too big" from the device instead of being lost on the way.
int vxlanMtu(int overlay_mtu, bool ipv6_underlay);

struct PeerWorker {
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};
  std::optional<net::Ipv6Prefix> subnet6;
  TunnelEndpoint endpoint;

  // The next hops that name its VXLAN device in routes (each with a permanent neighbour entry
  // for its MAC): the first address of its IPv4 subnet, and a link-local address derived from
  // it (the kernel accepts any link-local gateway on a device, while an fc00::/7 one would
  // collide with the overlay's route into the TUN device).
  net::Ipv4Address gateway4() const { return subnet4.first(); }
  net::Ipv6Address gateway6() const;
  std::array<uint8_t, 6> mac() const { return vxlanMac(subnet4); }
  friend bool operator==(const PeerWorker&, const PeerWorker&) = default;
};

struct KernelPlan {
  std::map<net::Ipv4Address, std::vector<net::Ipv4Address>> dnat4;
  std::map<net::Ipv6Address, std::vector<net::Ipv6Address>> dnat6;
  std::map<net::Ipv4Address, net::Ipv4Address> snat4;
  std::map<net::Ipv6Address, net::Ipv6Address> snat6;
  std::map<net::Ipv4Address, PeerWorker> peers;          // by subnet4's first address
  std::map<net::Ipv4Address, net::Ipv4Address> routes4;  // instance address → peer gateway4
  std::map<net::Ipv6Address, net::Ipv6Address> routes6;  // instance address → peer gateway6
  // Peers left out because their endpoint's family differs from this worker's (a VXLAN device
  // speaks one underlay family), or because two disagree about a subnet.
  size_t unreachable_peers = 0;

  friend bool operator==(const KernelPlan&, const KernelPlan&) = default;
};

struct KernelPlanContext {
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};  // this worker's
  net::Ipv6Prefix subnet6{net::Ipv6Address(), 128};
  TunnelEndpoint self;
  const RttTable* rtt = nullptr;  // for "closest"; null: every remote worker ties
};

KernelPlan planKernel(const ServiceTable& table, const KernelPlanContext& context);

// Namespace addresses that were translation targets in `before` and are none in `after`: the
// flows pinned to them must be forgotten so that their next packets are balanced again.
struct GoneTargets {
  std::vector<net::Ipv4Address> v4;
  std::vector<net::Ipv6Address> v6;
  bool empty() const { return v4.empty() && v6.empty(); }
};
GoneTargets goneTargets(const KernelPlan& before, const KernelPlan& after);

}  // namespace oak::overlay
