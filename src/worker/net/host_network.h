#pragma once
// The worker's view of the host's network configuration: the instance bridge, one veth per
// instance into its network namespace, and the TUN device of the overlay proxy. Every call is
// synchronous and may block on the kernel, so the caller runs it off the event loop. Errors say
// which step failed on which device ("create veth oak1a2b3c4d in bridge oak0: File exists").

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/ip.h"

namespace oak::worker {

struct BridgeConfig {
  std::string name = "oak0";
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};   // the worker's /26; the bridge has first()+1
  net::Ipv6Prefix subnet6{net::Ipv6Address(), 128};  // the worker's /120; the bridge has first()+1
  int mtu = 1450;

  net::Ipv4Address gateway4() const { return subnet4.first() + 1; }
  net::Ipv6Address gateway6() const { return subnet6.first() + 1; }
};

struct InstanceLink {
  std::string netns_path;                 // a mounted network namespace (see netns.h)
  std::string host_ifname;                // host end of the veth; see instanceLinkName()
  net::Ipv4Address nsip;                  // within the bridge's subnet4
  std::optional<net::Ipv6Address> nsip6;  // within the bridge's subnet6
};

struct TunConfig {
  std::string name = "oaktun0";
  int mtu = 1450;
  // Preferred source addresses of the overlay routes, used when the host itself (not an
  // instance) sends into the overlay; normally the bridge addresses. Unset: the kernel picks one.
  std::optional<net::Ipv4Address> source4;
  std::optional<net::Ipv6Address> source6;
  // IFF_MULTI_QUEUE: the device accepts one fd per queue (further opens of the same name).
  bool multi_queue = false;
  // IFF_VNET_HDR with checksum and segmentation offloads (TCP, and UDP where the kernel has it):
  // every read and write carries a virtio-net header (little-endian) and reads return TCP/UDP
  // super-packets of up to 64 KiB. If the kernel refuses the offloads the device is opened
  // without (logged once). The reader finds out which with TUNGETIFF.
  bool offload = true;
};

// Inside the namespace of a guest (attachGuest): the bridge and the TAP the emulator opens.
inline constexpr std::string_view kGuestBridgeName = "br0";
inline constexpr std::string_view kGuestTapName = "tap0";

class HostNetwork {
 public:
  virtual ~HostNetwork() = default;

  // Creates or updates the bridge: its two gateway addresses (others removed), MTU, up; IPv4
  // and IPv6 forwarding on. Never recreates an existing bridge, so running instances keep their
  // links across worker restarts.
  virtual Status ensureBridge(const BridgeConfig& bridge) = 0;

  // Connects an instance's namespace to the bridge: a veth whose host end is enslaved and up,
  // whose peer is `eth0` in the namespace with nsip (and nsip6) on the bridge's prefix lengths,
  // default routes via the bridge's addresses, and lo up. On failure nothing created is left.
  // Ok for an identical existing link (its configuration is re-applied).
  virtual Status attachInstance(const BridgeConfig& bridge, const InstanceLink& link) = 0;

  // Connects the namespace of an instance that is a guest of an emulator (a unikernel under
  // QEMU): the same veth, but inside, eth0 has no address and is joined by bridge `br0` to a
  // persistent TAP `tap0` for the emulator, all up with the bridge's MTU, IPv6 off. The guest owns
  // nsip (and nsip6); the namespace only carries its frames. On failure nothing created is left.
  // Ok for an identical existing link (its configuration is re-applied).
  virtual Status attachGuest(const BridgeConfig& bridge, const InstanceLink& link) = 0;

  // Deletes the host end of the veth (its peer goes with it), and the TAP and bridge of a guest
  // when `link.netns_path` names a namespace; ok if already gone.
  virtual Status detachInstance(const InstanceLink& link) = 0;

  // Creates (or attaches to) the TUN device, IFF_TUN | IFF_NO_PI (raw IP packets, one per read
  // or write; with `offload`, each behind a virtio-net header), sets its MTU, brings it up and
  // routes the overlay prefixes (10.16.0.0/12 and fc00::/7) into it. The device has no overlay
  // address of its own. It disappears with the last fd unless made persistent elsewhere. The fd is
  // blocking; callers set O_NONBLOCK as they need.
  virtual Result<UniqueFd> openTun(const TunConfig& tun) = 0;
  Result<UniqueFd> openTun(const std::string& name, int mtu) {
    TunConfig tun;
    tun.name = name;
    tun.mtu = mtu;
    return openTun(tun);
  }

  // Host ends of the instance veths enslaved to `bridge`, sorted (for removing leftovers after a
  // crash); empty if the bridge does not exist.
  virtual Result<std::vector<std::string>> instanceLinks(const std::string& bridge) = 0;
};

// Checks shared by every implementation (kInvalidArgument naming the field): interface names
// of 1..15 characters of [A-Za-z0-9._-]; bridge MTU 1280..65535 (IPv6 needs 1280) and subnets
// with room for the gateway and instances; instance addresses inside the subnets and not the
// network, gateway or broadcast address.
Status validateBridge(const BridgeConfig& bridge);
Status validateInstanceLink(const BridgeConfig& bridge, const InstanceLink& link);
Status validateTun(const TunConfig& tun);
Status validateInterfaceName(const std::string& name, std::string_view what);

// Host-side interface name of an instance: "oak" + 8 hex digits of a stable hash of the task id
// (11 characters; interface names are limited to 15).
std::string instanceLinkName(std::string_view task_id);

}  // namespace oak::worker
