#pragma once
// Choosing an instance for a new flow. Round robin keeps one counter per service address, over
// the candidates sorted by instance number, advanced once per new flow. Closest takes the
// instance whose worker has the lowest smoothed RTT (unknown counts as worst), round robin
// among ties. An instance address always yields its instance.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "overlay/address.h"
#include "overlay/routes.h"

namespace oak::overlay {

// Worker tunnel endpoint → smoothed round-trip time.
class RttTable {
 public:
  explicit RttTable(size_t max_endpoints = 4096) : max_endpoints_(max_endpoints) {}

  // Sets the smoothed RTT (from the control plane or a test). Ignored once full.
  void set(const TunnelEndpoint& endpoint, std::chrono::microseconds rtt);
  // Registers an endpoint we probe, so that its replies are accepted. Ignored once full.
  void expect(const TunnelEndpoint& endpoint);
  // A measured RTT of an expected or known endpoint (else ignored and false): the first one
  // sets the value, later ones move it by 1/8 of the difference, as TCP smooths its RTT.
  bool sample(const TunnelEndpoint& endpoint, std::chrono::microseconds rtt);
  void erase(const TunnelEndpoint& endpoint) { rtt_.erase(endpoint); }
  // Unknown (never measured) → nullopt.
  std::optional<std::chrono::microseconds> get(const TunnelEndpoint& endpoint) const;
  size_t size() const { return rtt_.size(); }

 private:
  static constexpr int64_t kUnmeasured = -1;
  size_t max_endpoints_;
  std::unordered_map<TunnelEndpoint, int64_t> rtt_;  // microseconds
};

class Balancer {
 public:
  // Moves the per-address counters to a new table (addresses that stay keep theirs).
  void setTable(const ServiceTable* previous, const ServiceTable& next);
  // The instance for a new flow to `r` that can carry a packet of the given family (IPv6 needs
  // an nsip6), or nullptr if there is none.
  const InstanceRoute* choose(const Resolution& r, bool ipv6, const RttTable& rtt);

 private:
  std::vector<uint64_t> counters_;  // by Resolution::index
};

}  // namespace oak::overlay
