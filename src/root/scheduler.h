#pragma once
// Root scheduler: places each requested instance on a cluster with the shared placement engine
// (src/scheduler, Level::kRoot), fed from the cluster documents that the cluster links keep
// current. A cluster counts as active while it is connected and reported within
// `kClusterActiveSeconds`. The choice is the engine's deterministic best fit; `direct`
// constraints name a cluster, `geo`/`latency` constraints use the cluster's location and radius.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "root/context.h"
#include "scheduler/resources.h"

namespace oak::root {

inline constexpr int64_t kClusterActiveSeconds = 30;

// The engine's view of the clusters (their `resources`, activity from connection and reports).
std::vector<sched::Resources> clusterResources(const std::vector<boost::json::object>& clusters,
                                               double now_seconds);

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
