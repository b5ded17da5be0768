#include "scheduler/placement_metrics.h"

#include <fmt/format.h>

namespace oak::sched {

namespace {

std::string name(Level level, std::string_view what) {
  return fmt::format("oakestra_{}_{}", level == Level::kRoot ? "root" : "cluster", what);
}

}  // namespace

PlacementMetrics::PlacementMetrics(metrics::Registry& r, Level level)
    : decisions_(r.counter(name(level, "scheduling_decisions_total"),
                           level == Level::kRoot
                               ? "Placements of instances on clusters, by result (placed, "
                                 "invalid, error, or why no cluster was chosen)."
                               : "Placements of instances on workers, by result (placed, "
                                 "invalid, error, or why no worker was chosen).",
                           {"result"})),
      placed_(decisions_.labels({"placed"})),
      duration_(r.histogram(name(level, "scheduling_duration_seconds"),
                            "Time the scheduler took for one placement.", {},
                            {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                             0.005, 0.01, 0.025, 0.05, 0.1})
                    .get()),
      failures_(r.counter(name(level, "instance_failures_total"),
                          "Instances that entered FAILED or DEAD, by that status.", {"status"})),
      failed_(failures_.labels({"FAILED"})),
      dead_(failures_.labels({"DEAD"})) {
  decisions_.labels({"invalid"});
  decisions_.labels({level == Level::kRoot ? kNoActiveClusterWithCapacity : kNoWorkerCapacity});
}

void PlacementMetrics::decided(std::string_view result,
                               std::optional<std::chrono::steady_clock::duration> took) const {
  (result == "placed" ? placed_ : decisions_.labels({result})).inc();
  if (took) duration_.observe(*took);
}

void PlacementMetrics::statusChanged(std::string_view status) const {
  if (status == "FAILED") failed_.inc();
  if (status == "DEAD") dead_.inc();
}

}  // namespace oak::sched
