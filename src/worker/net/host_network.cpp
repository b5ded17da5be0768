#include "worker/net/host_network.h"

#include <fmt/format.h>

#include <cstdint>

namespace oak::worker {
namespace {

constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
constexpr int kMinMtu = 1280;             // below this the kernel disables IPv6 on a link
constexpr int kMaxMtu = 65535;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status validateMtu(int mtu, std::string_view what) {
  if (mtu >= kMinMtu && mtu <= kMaxMtu) return {};
  return invalid(fmt::format("{} mtu {} must be {}..{}", what, mtu, kMinMtu, kMaxMtu));
}

}  // namespace

Status validateInterfaceName(const std::string& name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= kMaxInterfaceName && name != "." && name != "..";
  for (char c : name) ok = ok && isNameChar(c);
  if (ok) return {};
  return invalid(fmt::format("{} '{}' must be 1..{} characters of [A-Za-z0-9._-]", what, name,
                             kMaxInterfaceName));
}

Status validateBridge(const BridgeConfig& bridge) {
  OAK_TRY(validateInterfaceName(bridge.name, "bridge name"));
  OAK_TRY(validateMtu(bridge.mtu, "bridge " + bridge.name));
  if (bridge.subnet4.length() > 30) {
    return invalid(fmt::format("bridge {}: subnet {} has no room for instances", bridge.name,
                               bridge.subnet4.toString()));
  }
  if (bridge.subnet6.length() > 126) {
    return invalid(fmt::format("bridge {}: subnet {} has no room for instances", bridge.name,
                               bridge.subnet6.toString()));
  }
  return {};
}

Status validateInstanceLink(const BridgeConfig& bridge, const InstanceLink& link) {
  OAK_TRY(validateInterfaceName(link.host_ifname, "instance interface name"));
  if (link.netns_path.empty()) return invalid("instance " + link.host_ifname + ": no netns path");
  const net::Ipv4Prefix& subnet4 = bridge.subnet4;
  if (!subnet4.contains(link.nsip) || link.nsip == subnet4.first() ||
      link.nsip == bridge.gateway4() || link.nsip == subnet4.last()) {
    return invalid(fmt::format("instance {}: nsip {} is not an instance address of {}",
                               link.host_ifname, link.nsip.toString(), subnet4.toString()));
  }
  if (link.nsip6) {
    const net::Ipv6Prefix& subnet6 = bridge.subnet6;
    if (!subnet6.contains(*link.nsip6) || *link.nsip6 == subnet6.first() ||
        *link.nsip6 == bridge.gateway6()) {
      return invalid(fmt::format("instance {}: nsip6 {} is not an instance address of {}",
                                 link.host_ifname, link.nsip6->toString(), subnet6.toString()));
    }
  }
  return {};
}

Status validateTun(const TunConfig& tun) {
  OAK_TRY(validateInterfaceName(tun.name, "TUN name"));
  return validateMtu(tun.mtu, "TUN " + tun.name);
}

std::string instanceLinkName(std::string_view task_id) {
  // FNV-1a: stable across builds and restarts (std::hash promises neither).
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : task_id) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("oak{:08x}", static_cast<uint32_t>(hash ^ (hash >> 32)));
}

}  // namespace oak::worker
