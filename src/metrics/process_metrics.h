#pragma once
// What every daemon exports about itself: the standard process_* metrics read from /proc,
// oakestra_build_info, and the log lines counted per level (log_counter.h).

#include <string>
#include <string_view>

#include "common/result.h"
#include "metrics/metrics.h"

namespace oak::metrics {

struct ProcessSample {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;             // the soft limit; 0 when unlimited or unknown
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
};

// Reads <proc_root>/self/{stat,limits,fd} and <proc_root>/stat (the boot time). Fails when
// self/stat is missing or malformed; the other files only leave their fields 0.
Result<ProcessSample> readProcessSample(const std::string& proc_root = "/proc");

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds, process_threads (read at each
// scrape); oakestra_build_info{component,version}; oakestra_log_messages_total{level}.
void addProcessMetrics(Registry& registry, std::string_view component,
                       std::string proc_root = "/proc");

}  // namespace oak::metrics
