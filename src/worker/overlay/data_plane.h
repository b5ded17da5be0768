#pragma once
// What the network manager drives, whichever way packets move: the userspace proxy (DataPath:
// every packet through the TUN device and a UDP socket) or the kernel (KernelPath: VXLAN and
// nftables NAT, the proxy only for addresses the kernel does not know yet).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "overlay/proxy_core.h"
#include "overlay/routes.h"

namespace oak::worker {

// Which data plane a worker runs. Every worker of a deployment must run the same one: their
// tunnel datagrams differ.
enum class DataPlaneKind {
  kKernel,     // VXLAN + nftables NAT (KernelPath); the default
  kUserspace,  // the proxy moves every packet (DataPath); for kernels without VXLAN or NAT
};

// Both data planes hold packets to addresses without a route the same way (a few per address,
// a bounded number of addresses, as long as the control plane's query may take) and measure the
// round trip to the workers in their table this often.
inline constexpr size_t kHeldPerAddress = 8;
inline constexpr size_t kHeldAddresses = 256;
inline constexpr auto kHoldTimeout = std::chrono::seconds(5);
inline constexpr auto kProbeEvery = std::chrono::seconds(5);

class DataPlane {
 public:
  // Called on the data plane's own thread: the caller posts to its own loop.
  using QueryHook = std::function<void(std::string address)>;

  virtual ~DataPlane() = default;
  // Thread-safe.
  virtual void setTable(std::shared_ptr<const overlay::ServiceTable> table) = 0;
  virtual void queryDone(const std::string& address, bool found) = 0;
  virtual overlay::ProxyCounters counters() const = 0;
  // How many tables given to setTable are in effect so far (the kernel programmed, the proxy
  // switched): a caller that must know when a change holds waits for this to grow.
  virtual uint64_t tablesApplied() const = 0;
};

}  // namespace oak::worker
