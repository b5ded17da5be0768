#pragma once
// Counts the lines this process logs, per level, for oakestra_log_messages_total: a sink on the
// default spdlog logger that formats nothing (a relaxed atomic increment per line). The counts
// are process-wide, so they outlive any registry that exports them.

#include <cstdint>
#include <string_view>

#include "metrics/metrics.h"

namespace oak::metrics {

// Adds the counting sink to the current default logger, once. Call at start-up after the
// logger is set up and before other threads log (sinks are not added thread-safely); a logger
// installed later is not counted.
void countLogLines();

// Lines logged at `level` ("trace", "debug", "info", "warn", "error", "critical") so far.
uint64_t loggedLines(std::string_view level);

// oakestra_log_messages_total{level}: zeros until `countLogLines` ran.
void addLogCollector(Registry& registry);

}  // namespace oak::metrics
