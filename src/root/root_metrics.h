#pragma once
// The root orchestrator's metrics: placements and instance failures (counted where they happen),
// messages on the cluster links, and the clusters, services and instances as the store holds
// them, read at scrape time.

#include <string_view>

#include "metrics/metrics.h"
#include "root/context.h"
#include "scheduler/placement_metrics.h"

namespace oak::root {

struct RootMetrics {
  explicit RootMetrics(metrics::Registry& registry);

  // A message on a cluster link: its type, "malformed" when it did not decode, "unknown" for a
  // type the root does not handle.
  void clusterMessage(std::string_view type) const;

  sched::PlacementMetrics placement;

 private:
  metrics::Family<metrics::Counter>& messages_;
};

// Per cluster: connected, active (as the scheduler sees it), last report, workers and capacity;
// instances per status; services. Read from `ctx` (its store) on the loop at every scrape.
void addRootCollector(metrics::Registry& registry, RootContext& ctx);

}  // namespace oak::root
