#pragma once
// oakestra_control_logs_total{result}: control-plane records a daemon received, forwarded,
// rejected or missed, read at scrape time.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "metrics/metrics.h"

namespace oak::logs {

// `read` returns the counts by result; it runs at every scrape.
void addControlLogCollector(metrics::Registry& registry,
                            std::function<std::map<std::string, uint64_t>()> read);

}  // namespace oak::logs
