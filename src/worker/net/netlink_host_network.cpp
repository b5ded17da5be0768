#include "worker/net/netlink_host_network.h"

#include <linux/if_ether.h>
#include <net/if.h>
#include <netlink/route/link/veth.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "worker/net/guest_path.h"
#include "worker/net/multicast.h"
#include "worker/net/netlink.h"
#include "worker/net/netns.h"
#include "worker/net/sysctl.h"

namespace oak::worker {
namespace {

constexpr std::string_view kPeerName = "eth0";  // the instance's end, inside its namespace
using Mac = std::array<uint8_t, ETH_ALEN>;

std::string conf6(const std::string& ifname, std::string_view key) {
  return "net/ipv6/conf/" + ifname + "/" + std::string(key);
}

// The bridge keeps this MAC whatever ports come and go (a bridge without a set address takes the
// lowest port MAC, so instances' neighbour entries for the gateway would go stale):
// locally administered, derived from the gateway address.
std::array<uint8_t, ETH_ALEN> bridgeMac(const BridgeConfig& bridge) {
  const auto octets = bridge.gateway4().octets();
  return {0x02, 0x6f, octets[0], octets[1], octets[2], octets[3]};
}

Status setBridgeMac(nl::Socket& sock, rtnl_link* link, const BridgeConfig& bridge) {
  const auto mac = bridgeMac(bridge);
  nl::AddrPtr wanted(nl_addr_build(AF_LLC, mac.data(), mac.size()));
  nl_addr* current = rtnl_link_get_addr(link);
  if (current && nl_addr_cmp(current, wanted.get()) == 0) return {};
  nl::LinkPtr changes(rtnl_link_alloc());
  rtnl_link_set_addr(changes.get(), wanted.get());
  return sock.check(rtnl_link_change(sock.get(), link, changes.get(), 0),
                    "set the MAC address of bridge " + bridge.name);
}

// Leaves exactly `wanted` as the global addresses of one family on `link`. The wanted one is
// added before stale ones go, so a configured gateway never disappears in between.
template <class Address>
Status syncAddresses(nl::Socket& sock, rtnl_link* link, int family,
                     const std::optional<Address>& wanted, int prefix_length) {
  nl::AddrPtr wanted_nl;
  if (wanted) {
    OAK_TRY(nl::addAddress(sock, link, *wanted, prefix_length));
    wanted_nl = nl::toNlAddr(*wanted, prefix_length);
  }
  OAK_ASSIGN_OR_RETURN(std::vector<nl::AddrPtr> present,
                       nl::addressesOf(sock, rtnl_link_get_ifindex(link), family));
  for (const nl::AddrPtr& address : present) {
    if (wanted_nl && nl_addr_cmp(address.get(), wanted_nl.get()) == 0) continue;
    OAK_TRY(nl::deleteAddress(sock, link, address.get()));
  }
  return {};
}

// Turning IPv6 forwarding on makes the kernel ignore router advertisements on interfaces with
// accept_ra=1, which would silently drop the host's own SLAAC addresses and default route; those
// are switched to 2 ("accept even when forwarding") first.
Status enableForwarding() {
  OAK_ASSIGN_OR_RETURN(std::string forwarding6, readSysctl("net/ipv6/conf/all/forwarding"));
  if (forwarding6 != "1") {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/sys/net/ipv6/conf", ec)) {
      const std::string ifname = entry.path().filename().string();
      if (ifname == "all" || ifname == "lo") continue;
      Result<std::string> accept_ra = readSysctl(conf6(ifname, "accept_ra"));
      if (accept_ra && *accept_ra == "1") {
        OAK_TRY(writeSysctl(conf6(ifname, "accept_ra"), "2"));
      }
    }
    OAK_TRY(writeSysctl("net/ipv6/conf/all/forwarding", "1"));
  }
  return writeSysctl("net/ipv4/ip_forward", "1");
}

Result<nl::LinkPtr> requireBridge(nl::Socket& sock, const std::string& name) {
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr bridge, nl::findLink(sock, name));
  if (!bridge) return makeError(ErrorCode::kNotFound, "bridge " + name + " does not exist");
  if (!nl::isKind(bridge.get(), "bridge")) {
    return makeError(ErrorCode::kConflict, "interface " + name + " is not a bridge");
  }
  return bridge;
}

// The instance's eth0, from inside its namespace (on a helper thread there). `host_ifindex` > 0
// additionally checks that eth0 is the peer of that host interface.
Result<nl::LinkPtr> findPeer(nl::Socket& sock, const BridgeConfig& bridge, const InstanceLink& link,
                             int host_ifindex, int peer_ifindex) {
  const std::string peer(kPeerName);
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr eth0, nl::findLink(sock, peer));
  const bool is_peer = eth0 && nl::isKind(eth0.get(), "veth") &&
                       rtnl_link_get_ifindex(eth0.get()) == peer_ifindex &&
                       rtnl_link_get_link(eth0.get()) == host_ifindex;
  if (host_ifindex > 0 && !is_peer) {
    return makeError(ErrorCode::kConflict, "create veth " + link.host_ifname + " in bridge " +
                                               bridge.name + ": " + std::strerror(EEXIST) +
                                               " (its peer is not " + peer + " in " +
                                               link.netns_path + ")");
  }
  if (!eth0) return makeError(ErrorCode::kNotFound, peer + " does not exist in " + link.netns_path);
  return eth0;
}

// The instance itself is the endpoint: DAD off so that IPv6 works at once, lo and eth0 up with
// the instance's addresses, default routes via the bridge.
Status configureEndpoint(nl::Socket& sock, rtnl_link* eth0, const BridgeConfig& bridge,
                         const InstanceLink& link) {
  const std::string peer(kPeerName);
  OAK_TRY(writeSysctl("net/ipv6/conf/default/accept_dad", "0"));
  OAK_TRY(writeSysctl(conf6(peer, "accept_dad"), "0"));
  OAK_TRY(writeSysctl(conf6(peer, "accept_ra"), "0"));
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr lo, nl::findLink(sock, "lo"));
  if (lo) {
    OAK_TRY(nl::changeLink(sock, lo.get(), 0, true));
  }
  OAK_TRY(syncAddresses(sock, eth0, AF_INET, std::optional(link.nsip), bridge.subnet4.length()));
  OAK_TRY(syncAddresses(sock, eth0, AF_INET6, link.nsip6, bridge.subnet6.length()));
  OAK_TRY(nl::changeLink(sock, eth0, 0, true));
  OAK_TRY(nl::replaceRoute(sock, eth0,
                           nl::Route{nl::toNlAddr(net::Ipv4Address(), 0),
                                     nl::toNlAddr(bridge.gateway4()), std::nullopt}));
  if (link.nsip6) {
    OAK_TRY(nl::replaceRoute(sock, eth0,
                             nl::Route{nl::toNlAddr(net::Ipv6Address(), 0),
                                       nl::toNlAddr(bridge.gateway6()), std::nullopt}));
    if (!awaitSolicitedNode(peer, *link.nsip6, std::chrono::seconds(5))) {
      spdlog::warn("{} in {} has not joined the solicited-node group of {} after 5 s", peer,
                   link.netns_path, link.nsip6->toString());
    }
  }
  return {};
}

// What the namespace is to the instance: its endpoint (containers), or a wire to a guest.
enum class Inside { kEndpoint, kGuestPath };

// `mac` receives eth0's address when the instance is the endpoint.
Status configureInside(Inside inside, const BridgeConfig& bridge, const InstanceLink& link,
                       int host_ifindex, int peer_ifindex, std::optional<Mac>& mac) {
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr eth0, findPeer(sock, bridge, link, host_ifindex, peer_ifindex));
  if (inside == Inside::kGuestPath) return buildGuestPath(sock, eth0.get(), bridge.mtu);
  nl_addr* lladdr = rtnl_link_get_addr(eth0.get());
  if (lladdr && nl_addr_get_len(lladdr) == ETH_ALEN) {
    mac.emplace();
    std::memcpy(mac->data(), nl_addr_get_binary_addr(lladdr), ETH_ALEN);
  }
  return configureEndpoint(sock, eth0.get(), bridge, link);
}

// The host resolves an instance's IPv6 address without asking it: a first packet to a new
// instance was sometimes lost while the host's neighbour solicitations went unanswered.
Status pinNeighbor(nl::Socket& sock, rtnl_link* bridge, const InstanceLink& link,
                   const std::optional<Mac>& mac) {
  if (!link.nsip6 || !mac) return {};
  return nl::replaceNeighbor(sock, rtnl_link_get_ifindex(bridge), *link.nsip6, *mac);
}

Status createVeth(nl::Socket& sock, rtnl_link* bridge, const InstanceLink& link, int netns_fd) {
  nl::LinkPtr veth(rtnl_link_veth_alloc());
  if (!veth) return makeError(ErrorCode::kInternal, "create veth: out of memory");
  const unsigned mtu = rtnl_link_get_mtu(bridge);
  rtnl_link_set_name(veth.get(), link.host_ifname.c_str());
  rtnl_link_set_mtu(veth.get(), mtu);
  rtnl_link_set_master(veth.get(), rtnl_link_get_ifindex(bridge));
  rtnl_link_set_flags(veth.get(), IFF_UP);
  nl::LinkPtr peer(rtnl_link_veth_get_peer(veth.get()));
  rtnl_link_set_name(peer.get(), std::string(kPeerName).c_str());
  rtnl_link_set_mtu(peer.get(), mtu);
  rtnl_link_set_ns_fd(peer.get(), netns_fd);  // created directly inside the instance's namespace
  return sock.check(rtnl_link_add(sock.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL),
                    "create veth " + link.host_ifname + " in bridge " + nl::nameOf(bridge));
}

Status deleteInstanceLink(nl::Socket& sock, const std::string& ifname) {
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, ifname));
  if (!link) return {};
  if (!nl::isKind(link.get(), "veth")) {
    return makeError(ErrorCode::kConflict, "delete veth " + ifname + ": it is not a veth");
  }
  const int rc = rtnl_link_delete(sock.get(), link.get());
  if (rc < 0 && sock.kernelErrno() == ENODEV) return {};  // gone meanwhile
  return sock.check(rc, "delete veth " + ifname);
}

Status attachLink(const BridgeConfig& bridge, const InstanceLink& link, Inside inside) {
  OAK_TRY(validateInstanceLink(bridge, link));
  OAK_ASSIGN_OR_RETURN(UniqueFd netns, openNetns(link.netns_path));
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr bridge_link, requireBridge(sock, bridge.name));
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr existing, nl::findLink(sock, link.host_ifname));
  if (existing) {
    // Re-attach (worker restart): only the very same pair is accepted, and nothing is deleted.
    if (!nl::isKind(existing.get(), "veth") ||
        rtnl_link_get_master(existing.get()) != rtnl_link_get_ifindex(bridge_link.get())) {
      return makeError(ErrorCode::kConflict, "create veth " + link.host_ifname + " in bridge " +
                                                 bridge.name + ": " + std::strerror(EEXIST));
    }
    OAK_TRY(nl::changeLink(sock, existing.get(), 0, true));
    const int host_ifindex = rtnl_link_get_ifindex(existing.get());
    const int peer_ifindex = rtnl_link_get_link(existing.get());
    std::optional<Mac> mac;
    OAK_TRY(runInNetns(
        netns.get(),
        [&] { return configureInside(inside, bridge, link, host_ifindex, peer_ifindex, mac); },
        link.netns_path));
    return pinNeighbor(sock, bridge_link.get(), link, mac);
  }
  OAK_TRY(createVeth(sock, bridge_link.get(), link, netns.get()));
  std::optional<Mac> mac;
  Status configured = runInNetns(
      netns.get(), [&] { return configureInside(inside, bridge, link, 0, 0, mac); },
      link.netns_path);
  if (configured) configured = pinNeighbor(sock, bridge_link.get(), link, mac);
  if (!configured) {
    if (Status removed = deleteInstanceLink(sock, link.host_ifname); !removed) {
      spdlog::warn("rolling back {}: {}", link.host_ifname, removed.error().message);
    }
    if (inside == Inside::kGuestPath) {
      Status removed = runInNetns(
          netns.get(), [] { return removeGuestPath(); }, link.netns_path);
      if (!removed) spdlog::warn("rolling back {}: {}", link.host_ifname, removed.error().message);
    }
  }
  return configured;
}

}  // namespace

Status NetlinkHostNetwork::ensureBridge(const BridgeConfig& bridge) {
  OAK_TRY(validateBridge(bridge));
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, bridge.name));
  if (!link) {
    OAK_TRY(nl::addBridge(sock, bridge.name, bridge.mtu));
    spdlog::info("created bridge {}", bridge.name);
  }
  OAK_ASSIGN_OR_RETURN(link, requireBridge(sock, bridge.name));
  // Instances must never configure the host's IPv6 through router advertisements.
  OAK_TRY(writeSysctl(conf6(bridge.name, "accept_ra"), "0"));
  OAK_TRY(setBridgeMac(sock, link.get(), bridge));
  OAK_TRY(nl::changeLink(sock, link.get(), bridge.mtu, false));
  OAK_TRY(syncAddresses(sock, link.get(), AF_INET, std::optional(bridge.gateway4()),
                        bridge.subnet4.length()));
  OAK_TRY(syncAddresses(sock, link.get(), AF_INET6, std::optional(bridge.gateway6()),
                        bridge.subnet6.length()));
  OAK_TRY(nl::changeLink(sock, link.get(), 0, true));
  return enableForwarding();
}

Status NetlinkHostNetwork::attachInstance(const BridgeConfig& bridge, const InstanceLink& link) {
  return attachLink(bridge, link, Inside::kEndpoint);
}

Status NetlinkHostNetwork::attachGuest(const BridgeConfig& bridge, const InstanceLink& link) {
  return attachLink(bridge, link, Inside::kGuestPath);
}

Status NetlinkHostNetwork::detachInstance(const InstanceLink& link) {
  OAK_TRY(validateInterfaceName(link.host_ifname, "instance interface name"));
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  if (link.nsip6) {
    // The pinned neighbour lives on the bridge, not on the veth: it outlives the veth.
    OAK_ASSIGN_OR_RETURN(nl::LinkPtr veth, nl::findLink(sock, link.host_ifname));
    const int bridge = veth ? rtnl_link_get_master(veth.get()) : 0;
    if (bridge > 0) {
      Status unpinned = nl::deleteNeighbor(sock, bridge, *link.nsip6);
      if (!unpinned) spdlog::warn("{}", unpinned.error().message);
    }
  }
  Status removed = deleteInstanceLink(sock, link.host_ifname);
  // A guest's TAP is persistent: it would stay as long as anything holds the namespace.
  if (!link.netns_path.empty() && isNetns(link.netns_path)) {
    Status guest = runInNetns(link.netns_path, [] { return removeGuestPath(); });
    if (removed && !guest) return guest;
  }
  return removed;
}

Result<std::vector<std::string>> NetlinkHostNetwork::instanceLinks(const std::string& bridge) {
  OAK_TRY(validateInterfaceName(bridge, "bridge name"));
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, bridge));
  if (!link) return std::vector<std::string>{};
  return nl::linksOf(sock, rtnl_link_get_ifindex(link.get()), "veth");
}

}  // namespace oak::worker
