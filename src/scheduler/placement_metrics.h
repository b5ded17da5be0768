#pragma once
// Metrics of one scheduling level, shared by root and cluster: placement decisions and their
// time (oakestra_<level>_scheduling_decisions_total{result}, ..._scheduling_duration_seconds)
// and instances that failed (oakestra_<level>_instance_failures_total{status}).

#include <chrono>
#include <optional>
#include <string_view>

#include "metrics/metrics.h"
#include "scheduler/scheduler.h"

namespace oak::sched {

class PlacementMetrics {
 public:
  PlacementMetrics(metrics::Registry& registry, Level level);

  // One placement attempt: `result` is "placed", "invalid" (the service's requirements are
  // malformed), "error" (the attempt itself failed) or the scheduler's status; `took`: the
  // engine's time, when it ran.
  void decided(std::string_view result,
               std::optional<std::chrono::steady_clock::duration> took = std::nullopt) const;
  // An instance entered `status`; FAILED and DEAD count as failures.
  void statusChanged(std::string_view status) const;

 private:
  metrics::Family<metrics::Counter>& decisions_;
  metrics::Counter& placed_;
  metrics::Histogram& duration_;
  metrics::Family<metrics::Counter>& failures_;
  metrics::Counter& failed_;
  metrics::Counter& dead_;
};

}  // namespace oak::sched
