#pragma once
// The cluster orchestrator's metrics: events counted where they happen (placements and
// instance failures, lost workers, registrations) and the state of workers and instances, read
// from the orchestrator at scrape time.

#include <functional>

#include "cluster/orchestrator.h"
#include "metrics/metrics.h"
#include "scheduler/placement_metrics.h"

namespace oak::cluster {

struct OrchestratorMetrics {
  explicit OrchestratorMetrics(metrics::Registry& registry);

  sched::PlacementMetrics placement;
  metrics::Counter& registrations;
  metrics::Counter& workers_lost;
};

// Workers (each, and per state), capacity of the active ones, instances per status and the
// root link, rendered from `orchestrator` at every scrape. Both must outlive the registry's use.
void addClusterCollector(metrics::Registry& registry, const Orchestrator& orchestrator,
                         std::function<bool()> root_connected);

}  // namespace oak::cluster
