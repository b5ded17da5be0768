#include "worker/net/guest_path.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "worker/net/host_network.h"
#include "worker/net/sysctl.h"

namespace oak::worker {
namespace {

bool isTap(rtnl_link* link) {
  return nl::isKind(link, "tun") && rtnl_link_get_arptype(link) == ARPHRD_ETHER;
}

// A TAP without packet-info header that outlives this fd. The flags of whoever attaches later
// replace these (QEMU adds IFF_VNET_HDR itself); only TAP and single-queue must match.
Status createTap(const std::string& name) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    return makeError(ErrorCode::kInternal, std::string("open /dev/net/tun: ") + strerror(errno));
  }
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());  // a constant shorter than IFNAMSIZ
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0 || ::ioctl(fd.get(), TUNSETPERSIST, 1) != 0) {
    return makeError(errno == EBUSY ? ErrorCode::kConflict : ErrorCode::kInternal,
                     "create TAP " + name + ": " + strerror(errno));
  }
  return {};
}

Status disableIpv6(const std::string& ifname) {
  return writeSysctl("net/ipv6/conf/" + ifname + "/disable_ipv6", "1");
}

Status removeAddresses(nl::Socket& sock, rtnl_link* link) {
  OAK_ASSIGN_OR_RETURN(std::vector<nl::AddrPtr> present,
                       nl::addressesOf(sock, rtnl_link_get_ifindex(link), AF_INET));
  for (const nl::AddrPtr& address : present) {
    OAK_TRY(nl::deleteAddress(sock, link, address.get()));
  }
  return {};
}

// The link `name`, created by `create` when missing; kConflict when it is not what `is` accepts.
template <class Create, class Is>
Result<nl::LinkPtr> ensureLink(nl::Socket& sock, const std::string& name, std::string_view what,
                               Create create, Is is) {
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, name));
  if (!link) {
    OAK_TRY(create());
    OAK_ASSIGN_OR_RETURN(link, nl::findLink(sock, name));
    if (!link) return makeError(ErrorCode::kInternal, std::string(what) + " " + name + " vanished");
  }
  if (!is(link.get())) {
    return makeError(ErrorCode::kConflict, "interface " + name + " is not a " + std::string(what));
  }
  return link;
}

}  // namespace

Status buildGuestPath(nl::Socket& sock, rtnl_link* eth0, int mtu) {
  const std::string bridge_name(kGuestBridgeName);
  const std::string tap_name(kGuestTapName);
  // New interfaces inherit "default": br0 and tap0 never get a link-local address.
  OAK_TRY(writeSysctl("net/ipv6/conf/default/disable_ipv6", "1"));
  OAK_TRY(disableIpv6(nl::nameOf(eth0)));
  OAK_TRY(removeAddresses(sock, eth0));
  OAK_ASSIGN_OR_RETURN(
      nl::LinkPtr bridge,
      ensureLink(
          sock, bridge_name, "bridge", [&] { return nl::addBridge(sock, bridge_name, mtu); },
          [](rtnl_link* l) { return nl::isKind(l, "bridge"); }));
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr tap,
                       ensureLink(
                           sock, tap_name, "TAP", [&] { return createTap(tap_name); }, isTap));
  OAK_TRY(disableIpv6(bridge_name));
  OAK_TRY(disableIpv6(tap_name));
  OAK_TRY(removeAddresses(sock, bridge.get()));
  // Ports first: a bridge's MTU follows its ports' unless set after them.
  for (rtnl_link* port : {eth0, tap.get()}) {
    OAK_TRY(nl::changeLink(sock, port, mtu, false));
    OAK_TRY(nl::setMaster(sock, port, bridge.get()));
  }
  OAK_ASSIGN_OR_RETURN(bridge, nl::findLink(sock, bridge_name));  // its MTU may have moved
  if (!bridge) return makeError(ErrorCode::kInternal, "bridge " + bridge_name + " vanished");
  OAK_TRY(nl::changeLink(sock, bridge.get(), mtu, true));
  OAK_TRY(nl::changeLink(sock, tap.get(), 0, true));  // no carrier until the emulator opens it
  return nl::changeLink(sock, eth0, 0, true);
}

Status removeGuestPath() {
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr tap, nl::findLink(sock, std::string(kGuestTapName)));
  if (tap && isTap(tap.get())) {
    OAK_TRY(nl::deleteLink(sock, tap.get()));
  }
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr bridge, nl::findLink(sock, std::string(kGuestBridgeName)));
  if (bridge && nl::isKind(bridge.get(), "bridge")) {
    OAK_TRY(nl::deleteLink(sock, bridge.get()));
  }
  return {};
}

}  // namespace oak::worker
