#pragma once
// The overlay's data path: one thread that moves packets between the TUN device (traffic of
// local instances to service and instance addresses) and the tunnel socket (UDP, datagrams from
// and to other workers), deciding each packet with a ProxyCore. Reads and sends are batched
// (non-blocking read loops on the TUN, recvmmsg/sendmmsg on the socket) into preallocated
// buffers: nothing allocates per packet. Where the kernel offers them, offloads move up to
// 64 KiB per system call: a TUN device opened with offloads (TunConfig::offload) hands out TCP
// super-packets, decided once and sent as one train of segments (UDP_SEGMENT); the tunnel socket
// receives trains (UDP_GRO), whose TCP segments are joined again into super-packets for the
// device (docs/design/overlay.md, "Offloads"). Packets to addresses without a route wait (a few
// per address) while the control plane asks the cluster, then go on or are answered with ICMP
// "unreachable". Every few seconds the thread probes the round trip to the workers in the table,
// for the "closest" policy.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "overlay/proxy_core.h"
#include "overlay/routes.h"
#include "worker/overlay/data_plane.h"

namespace oak::worker {

struct DataPathOptions {
  overlay::ProxyConfig proxy;
  uint16_t tunnel_port = 50103;
};

// What the offloads do (published about once a second, like the counters).
struct DataPathStats {
  bool tun_offload = false;         // the TUN device has a virtio-net header: super-packets
  bool udp_gso = false;             // segments leave the tunnel socket in trains (UDP_SEGMENT)
  bool udp_gro = false;             // and arrive in trains (UDP_GRO)
  uint64_t super_packets = 0;       // read from the TUN device
  uint64_t segments_sent = 0;       // cut from them for the tunnel
  uint64_t offload_errors = 0;      // TUN reads whose virtio-net header was refused (dropped)
  uint64_t coalesced_packets = 0;   // super-packets written into the TUN device
  uint64_t coalesced_segments = 0;  // tunnel packets that went into them
};

class DataPath final : public DataPlane {
 public:
  // Binds the tunnel socket (dual stack, all addresses) and starts the thread.
  static Result<std::unique_ptr<DataPath>> start(UniqueFd tun, DataPathOptions options,
                                                 const Clock& clock, QueryHook query);
  ~DataPath() override;  // stops the thread
  DataPath(const DataPath&) = delete;
  DataPath& operator=(const DataPath&) = delete;

  // Thread-safe.
  void setTable(std::shared_ptr<const overlay::ServiceTable> table) override;
  void queryDone(const std::string& address, bool found) override;
  overlay::ProxyCounters counters() const override;
  uint64_t tablesApplied() const override;
  DataPathStats stats() const;
  uint16_t tunnelPort() const;

 private:
  struct Impl;
  explicit DataPath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::worker
