#pragma once
// HostNetwork in memory, for tests of the code that drives it. Applies the same validation as
// the real one, keeps the resulting state, records every call, and can be told to fail a call.
// Thread-safe, since callers run HostNetwork calls off their event loop.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "worker/net/fake_call_log.h"
#include "worker/net/host_network.h"

namespace oak::worker {

class FakeHostNetwork final : public HostNetwork {
 public:
  using HostNetwork::openTun;

  Status ensureBridge(const BridgeConfig& bridge) override;
  Status attachInstance(const BridgeConfig& bridge, const InstanceLink& link) override;
  Status attachGuest(const BridgeConfig& bridge, const InstanceLink& link) override;
  Status detachInstance(const InstanceLink& link) override;
  // A SOCK_SEQPACKET socket pair stands in for the device: one read or write is one packet. The
  // other end is `tunPeer(name)`.
  Result<UniqueFd> openTun(const TunConfig& tun) override;
  Result<std::vector<std::string>> instanceLinks(const std::string& bridge) override;

  // Calls in order, e.g. "ensureBridge oak0", "attachInstance oak1a2b3c4d",
  // "attachGuest oak1a2b3c4d", "detachInstance oak1a2b3c4d", "openTun oaktun0",
  // "instanceLinks oak0".
  std::vector<std::string> calls() const;
  // The next call of `method` ("attachInstance", ...) fails with `error`, changing nothing.
  void failNext(const std::string& method, Error error);
  // An instance link left over from an earlier run (listed by instanceLinks, removable).
  void addLeftover(const std::string& bridge, const std::string& host_ifname);

  std::map<std::string, BridgeConfig> bridges() const;
  // Attached links by host interface name, with the bridge each is on.
  struct Attached {
    std::string bridge;
    InstanceLink link;
    bool guest = false;  // by attachGuest
  };
  std::map<std::string, Attached> links() const;
  // The test's end of the last device opened as `name`; -1 if none.
  int tunPeer(const std::string& name) const;

 private:
  Status attach(const BridgeConfig& bridge, const InstanceLink& link, bool guest);

  mutable std::mutex mutex_;
  FakeCallLog log_;
  std::map<std::string, BridgeConfig> bridges_;
  std::map<std::string, Attached> links_;
  std::map<std::string, UniqueFd> tun_peers_;
};

}  // namespace oak::worker
