#include "worker/net/fake_host_network.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace oak::worker {

Status FakeHostNetwork::ensureBridge(const BridgeConfig& bridge) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("ensureBridge " + bridge.name, "ensureBridge"));
  OAK_TRY(validateBridge(bridge));
  bridges_[bridge.name] = bridge;
  return {};
}

Status FakeHostNetwork::attachInstance(const BridgeConfig& bridge, const InstanceLink& link) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("attachInstance " + link.host_ifname, "attachInstance"));
  return attach(bridge, link, false);
}

Status FakeHostNetwork::attachGuest(const BridgeConfig& bridge, const InstanceLink& link) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("attachGuest " + link.host_ifname, "attachGuest"));
  return attach(bridge, link, true);
}

Status FakeHostNetwork::attach(const BridgeConfig& bridge, const InstanceLink& link, bool guest) {
  OAK_TRY(validateInstanceLink(bridge, link));
  if (!bridges_.count(bridge.name)) {
    return makeError(ErrorCode::kNotFound, "bridge " + bridge.name + " does not exist");
  }
  auto existing = links_.find(link.host_ifname);
  if (existing != links_.end()) {
    const InstanceLink& old = existing->second.link;
    if (existing->second.bridge == bridge.name && old.netns_path == link.netns_path) {
      existing->second.link = link;  // re-applied, like the real one
      existing->second.guest = guest;
      return {};
    }
    return makeError(ErrorCode::kConflict, "create veth " + link.host_ifname + " in bridge " +
                                               bridge.name + ": File exists");
  }
  links_[link.host_ifname] = Attached{bridge.name, link, guest};
  return {};
}

Status FakeHostNetwork::detachInstance(const InstanceLink& link) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("detachInstance " + link.host_ifname, "detachInstance"));
  links_.erase(link.host_ifname);
  return {};
}

Result<UniqueFd> FakeHostNetwork::openTun(const TunConfig& tun) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("openTun " + tun.name, "openTun"));
  OAK_TRY(validateTun(tun));
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return makeError(ErrorCode::kInternal, std::string("socketpair: ") + std::strerror(errno));
  }
  tun_peers_[tun.name] = UniqueFd(fds[1]);
  return UniqueFd(fds[0]);
}

Result<std::vector<std::string>> FakeHostNetwork::instanceLinks(const std::string& bridge) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("instanceLinks " + bridge, "instanceLinks"));
  std::vector<std::string> names;
  for (const auto& [name, attached] : links_) {
    if (attached.bridge == bridge) names.push_back(name);
  }
  return names;  // sorted: the map is
}

std::vector<std::string> FakeHostNetwork::calls() const {
  std::lock_guard lock(mutex_);
  return log_.calls();
}

void FakeHostNetwork::failNext(const std::string& method, Error error) {
  std::lock_guard lock(mutex_);
  log_.failNext(method, std::move(error));
}

void FakeHostNetwork::addLeftover(const std::string& bridge, const std::string& host_ifname) {
  std::lock_guard lock(mutex_);
  InstanceLink link;
  link.host_ifname = host_ifname;
  links_[host_ifname] = Attached{bridge, link, false};
}

std::map<std::string, BridgeConfig> FakeHostNetwork::bridges() const {
  std::lock_guard lock(mutex_);
  return bridges_;
}

std::map<std::string, FakeHostNetwork::Attached> FakeHostNetwork::links() const {
  std::lock_guard lock(mutex_);
  return links_;
}

int FakeHostNetwork::tunPeer(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = tun_peers_.find(name);
  return it == tun_peers_.end() ? -1 : it->second.get();
}

}  // namespace oak::worker
