#pragma once
// CPU and memory of a container from its cgroup files: cgroup v1 (per-controller hierarchies)
// or v2 (unified), whichever the host mounts. Reading a few small sysfs files is cheap enough for
// the event loop.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace oak::worker::containerd {

struct CgroupSample {
  uint64_t cpu_ns = 0;  // CPU time used so far
  uint64_t memory_bytes = 0;
  std::chrono::steady_clock::time_point at{};
};

// `root` is the cgroup mount ("/sys/fs/cgroup"), `path` the container's cgroupsPath
// ("/oakestra/<task id>"). Nullopt when the cgroup does not exist.
std::optional<CgroupSample> readCgroup(const std::string& root, const std::string& path);

// Percent of the whole host between two samples (`cpus` cores).
double cpuPercent(const CgroupSample& before, const CgroupSample& after, unsigned cpus);

}  // namespace oak::worker::containerd
