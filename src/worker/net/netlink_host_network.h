#pragma once
// HostNetwork on the real kernel, through libnl-route (links, addresses, routes), /proc/sys and
// /dev/net/tun. It configures the network namespace of the calling thread (the host's, unless a
// test moved it); instance namespaces are entered on helper threads only.

#include "worker/net/host_network.h"

namespace oak::worker {

class NetlinkHostNetwork final : public HostNetwork {
 public:
  using HostNetwork::openTun;

  Status ensureBridge(const BridgeConfig& bridge) override;
  Status attachInstance(const BridgeConfig& bridge, const InstanceLink& link) override;
  Status attachGuest(const BridgeConfig& bridge, const InstanceLink& link) override;
  Status detachInstance(const InstanceLink& link) override;
  Result<UniqueFd> openTun(const TunConfig& tun) override;
  Result<std::vector<std::string>> instanceLinks(const std::string& bridge) override;
};

}  // namespace oak::worker
