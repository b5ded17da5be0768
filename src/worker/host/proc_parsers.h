#pragma once
// Pure parsers for the host facts the worker reports. They take file contents, not paths, so that
// unit tests cover every malformed input without touching the machine.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::worker {

// Aggregate CPU counters of the first line of /proc/stat, in clock ticks since boot.
struct CpuTimes {
  uint64_t total = 0;  // user + nice + system + idle + iowait + irq + softirq + steal
  uint64_t idle = 0;   // idle + iowait
  unsigned cores = 0;  // number of "cpuN" lines (online logical CPUs)
};

// Errors are kUnavailable naming the file and line ("stat: line 1: ...").
Result<CpuTimes> parseProcStat(std::string_view text);

// Busy share (0..100) between two samples. Counters that went backwards (CPU hot-unplug) or a
// missing previous sample fall back to the share since boot.
double cpuBusyPercent(const CpuTimes* previous, const CpuTimes& current);

struct MemInfo {
  uint64_t total_kb = 0;
  uint64_t available_kb = 0;
};

// MemTotal and MemAvailable are required (kernels since 3.14 have both).
Result<MemInfo> parseMemInfo(std::string_view text);

struct Gpu {
  std::string name;
  std::string driver;
  uint64_t memory_total_mb = 0;
  uint64_t memory_free_mb = 0;
  double utilization_percent = 0;
};

// The query whose output `parseNvidiaSmi` reads.
std::vector<std::string> nvidiaSmiCommand();

// Lines of "name, driver, memory.total, memory.free, utilization.gpu". Values nvidia-smi cannot
// measure ("[N/A]", "[Not Supported]") read as 0; lines with the wrong number of fields are
// skipped (and logged), because one odd GPU must not stop the node from reporting.
std::vector<Gpu> parseNvidiaSmi(std::string_view text);

// Maps a kernel machine name (`uname -m`, /proc/sys/kernel/arch) to Go's GOARCH spelling
// ("x86_64" -> "amd64"), which is how the cluster and the SLAs name architectures. Unknown names
// pass through unchanged, which covers those Go spells alike (riscv64, ppc64le, s390x).
std::string goArch(std::string_view machine);

}  // namespace oak::worker
