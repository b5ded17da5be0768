#pragma once
// The overlay's kernel data path: the kernel carries every packet, the worker only programs it.
// Between workers a VXLAN device (`oakvx0`, UDP port 50103) with one static forwarding entry,
// neighbour and route per peer worker, as Flannel's VXLAN backend does; in each worker nftables
// translates a new connection to a service or instance address into a connection to one
// instance (round robin per connection with `numgen`, or the closest instances by measured RTT)
// from the sender's instance address, and conntrack translates the rest of it, replies included.
// See `overlay::KernelPlan` and `overlay::kernelTableScript` for what is programmed.
//
// The thread here handles what the kernel cannot: packets to addresses it does not know yet
// reach the TUN device (untracked), wait while the cluster is asked, and are written back once
// the address is programmed (they then start a translated connection) or answered with ICMP
// "unreachable". It also measures the RTT to each peer worker (ICMP echo to its underlay address)
// for the "closest" policy, and forgets the connections of instances that are gone so that their
// next packets are balanced again.
//
// Both ends of a tunnel must run this data path: its datagrams are VXLAN, not the userspace
// proxy's.

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "net/ip.h"
#include "overlay/address.h"
#include "worker/overlay/data_plane.h"

namespace oak::worker {

struct KernelPathOptions {
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};  // this worker's instance subnets
  net::Ipv6Prefix subnet6{net::Ipv6Address(), 128};
  overlay::TunnelEndpoint self;  // underlay address and UDP port of the VXLAN device
  std::string vxlan = "oakvx0";
  uint32_t vni = 1;
  int mtu = 1450;
  std::string nft_table = "oakestra_overlay";
};

class KernelPath final : public DataPlane {
 public:
  // Programs the device and the nftables table (replacing leftovers of an earlier run) in the
  // caller's network namespace, then starts the thread. `tun` must be open without offloads.
  static Result<std::unique_ptr<KernelPath>> start(UniqueFd tun, KernelPathOptions options,
                                                   const Clock& clock, QueryHook query);
  ~KernelPath() override;  // stops the thread and removes the device and the table
  KernelPath(const KernelPath&) = delete;
  KernelPath& operator=(const KernelPath&) = delete;

  void setTable(std::shared_ptr<const overlay::ServiceTable> table) override;
  void queryDone(const std::string& address, bool found) override;
  overlay::ProxyCounters counters() const override;
  uint64_t tablesApplied() const override;

  // Removes what `start` programs (device and table), if present; for a worker that switches to
  // the userspace proxy, whose socket needs the port.
  static Status removeLeftovers(const std::string& vxlan, const std::string& nft_table);

 private:
  struct Impl;
  explicit KernelPath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::worker
