// NetlinkHostNetwork::openTun: the device comes from /dev/net/tun, its settings and routes from
// netlink.

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "net/address_plan.h"
#include "worker/net/netlink.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/sysctl.h"

namespace oak::worker {
namespace {

// Offloads newer than the system headers may know.
constexpr unsigned kTunUso4 = 0x20;
constexpr unsigned kTunUso6 = 0x40;

Result<UniqueFd> createTun(const TunConfig& tun, bool vnet_header) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    return makeError(ErrorCode::kInternal, std::string("open /dev/net/tun: ") + strerror(errno));
  }
  ifreq request{};
  std::memcpy(request.ifr_name, tun.name.data(), tun.name.size());  // validated: < IFNAMSIZ
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (tun.multi_queue) request.ifr_flags |= IFF_MULTI_QUEUE;
  if (vnet_header) request.ifr_flags |= IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) {
    return makeError(errno == EBUSY ? ErrorCode::kConflict : ErrorCode::kInternal,
                     "create TUN " + tun.name + ": " + strerror(errno));
  }
  return fd;
}

// The virtio-net header little-endian and of its basic size, then the offloads: with UDP
// segmentation if the kernel has it (6.2), else TCP only. The kernel's error if it takes none.
std::optional<std::string> enableOffloads(int fd) {
  int size = 10;  // struct virtio_net_hdr
  int little_endian = 1;
  if (::ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) {
    return std::string("TUNSETVNETHDRSZ: ") + strerror(errno);
  }
  if (::ioctl(fd, TUNSETVNETLE, &little_endian) != 0) {
    return std::string("TUNSETVNETLE: ") + strerror(errno);
  }
  const unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (::ioctl(fd, TUNSETOFFLOAD, tcp | kTunUso4 | kTunUso6) == 0) return std::nullopt;
  if (::ioctl(fd, TUNSETOFFLOAD, tcp) == 0) return std::nullopt;
  return std::string("TUNSETOFFLOAD: ") + strerror(errno);
}

Result<UniqueFd> createTun(const TunConfig& tun) {
  if (!tun.offload) return createTun(tun, false);
  OAK_ASSIGN_OR_RETURN(UniqueFd fd, createTun(tun, true));
  const std::optional<std::string> refused = enableOffloads(fd.get());
  if (!refused) return fd;
  static std::once_flag logged;
  std::call_once(logged, [&] {
    spdlog::warn("TUN {}: offloads refused ({}); packets are read and written one by one", tun.name,
                 *refused);
  });
  // A fresh device: its flags are fixed when it is created (or attached to).
  fd.reset();
  return createTun(tun, false);
}

template <class Address>
std::optional<nl::AddrPtr> sourceOf(const std::optional<Address>& source) {
  if (!source) return std::nullopt;
  return nl::toNlAddr(*source);
}

}  // namespace

Result<UniqueFd> NetlinkHostNetwork::openTun(const TunConfig& tun) {
  OAK_TRY(validateTun(tun));
  OAK_ASSIGN_OR_RETURN(UniqueFd fd, createTun(tun));
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, tun.name));
  if (!link) return makeError(ErrorCode::kInternal, "TUN " + tun.name + " vanished after creation");
  // No link-local address: without one the kernel sends no router solicitations or other chatter
  // into the device, so the proxy reads overlay packets only.
  OAK_TRY(writeSysctl("net/ipv6/conf/" + tun.name + "/addr_gen_mode", "1"));
  OAK_TRY(nl::changeLink(sock, link.get(), tun.mtu, true));
  OAK_TRY(nl::replaceRoute(
      sock, link.get(),
      nl::Route{nl::toNlAddr(net::kOverlayIpv4Prefix.address(), net::kOverlayIpv4Prefix.length()),
                std::nullopt, sourceOf(tun.source4)}));
  OAK_TRY(nl::replaceRoute(
      sock, link.get(),
      nl::Route{nl::toNlAddr(net::kOverlayIpv6Prefix.address(), net::kOverlayIpv6Prefix.length()),
                std::nullopt, sourceOf(tun.source6)}));
  return fd;
}

}  // namespace oak::worker
