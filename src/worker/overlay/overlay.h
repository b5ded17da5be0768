#pragma once
// The worker's overlay network, assembled: the kernel plumbing (netlink, nftables), the network
// manager (control plane) and, once the host side is ready, the data plane (KernelPath or the
// userspace DataPath).

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "http/event_loop.h"
#include "mqtt/bus.h"
#include "worker/overlay/data_plane.h"
#include "worker/overlay/net_manager.h"

namespace oak::worker {

struct OverlayOptions {
  std::string worker_id;
  std::string data_dir;           // records under <data_dir>/net
  std::string worker_namespace;   // names the instance namespaces' directory
  std::string advertise_address;  // the underlay address of this worker
  uint16_t tunnel_port = 50103;
  std::string bridge = "oak0";
  std::string tun = "oaktun0";
  std::string nft_table = "oakestra";
  DataPlaneKind data_plane = DataPlaneKind::kKernel;
  std::string vxlan = "oakvx0";
  std::string overlay_nft_table = "oakestra_overlay";
};

class Overlay {
 public:
  static Result<std::unique_ptr<Overlay>> create(EventLoop& loop, const Clock& clock,
                                                 mqtt::MessageBus& bus, OverlayOptions options);
  ~Overlay();

  NetManager& manager() { return *manager_; }
  // The data path's counters (thread-safe); nullopt until `start`.
  std::optional<overlay::ProxyCounters> counters() const;
  void start();
  void tick();

 private:
  Overlay() = default;
  Result<std::unique_ptr<DataPlane>> startDataPlane(UniqueFd tun, const overlay::IpAddress& address,
                                                    DataPlane::QueryHook query);
  struct Kernel;
  EventLoop* loop_ = nullptr;
  const Clock* clock_ = nullptr;
  OverlayOptions options_;
  std::unique_ptr<Kernel> kernel_;
  std::unique_ptr<NetManager> manager_;
  std::unique_ptr<DataPlane> data_path_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace oak::worker
