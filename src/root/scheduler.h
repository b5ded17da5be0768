#pragma once
// Root scheduler: picks a cluster for each requested instance. `decidePlacement` is pure (no I/O)
// so it can be tested on tables of clusters; `Scheduler` feeds it from the store on the event loop.
//
// Unlike the original, the service's `vcpus`, `vgpus`, `virtualization` and `arch` are enforced,
// and the choice does not depend on the order of the clusters: the cluster with the most free
// cores, then memory, then the smallest name wins.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "root/context.h"

namespace oak::root {

struct Placement {
  bool ok = false;
  std::string cluster_id;  // when ok
  std::string status;      // when not ok: NoActiveClusterWithCapacity, TargetClusterNotFound, ...
  std::string detail;      // human-readable reason
};

// Clusters count as active when they reported within this many seconds.
inline constexpr int64_t kClusterActiveSeconds = 30;

Placement decidePlacement(const boost::json::object& service,
                          const std::vector<boost::json::object>& clusters, double now_seconds);

class Scheduler {
 public:
  explicit Scheduler(RootContext& ctx) : ctx_(ctx) {}
  // Places one new instance of the service right after the current event-loop turn.
  void enqueue(std::string service_id);
  // Places it now (used by `enqueue`, and by tests).
  Status placeNow(const std::string& service_id);

 private:
  RootContext& ctx_;
};

}  // namespace oak::root
