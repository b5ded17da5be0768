#include "worker/runtime/containerd/cgroup_usage.h"

#include <fstream>
#include <sstream>

namespace oak::worker::containerd {
namespace {

std::optional<uint64_t> readNumber(const std::string& file) {
  std::ifstream in(file);
  uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

// `usage_usec` from a v2 cpu.stat.
std::optional<uint64_t> readUsageUsec(const std::string& file) {
  std::ifstream in(file);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "usage_usec") return value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<CgroupSample> readCgroup(const std::string& root, const std::string& path) {
  CgroupSample s;
  s.at = std::chrono::steady_clock::now();
  // v2: one directory with both controllers.
  if (auto usec = readUsageUsec(root + path + "/cpu.stat")) {
    s.cpu_ns = *usec * 1000;
    s.memory_bytes = readNumber(root + path + "/memory.current").value_or(0);
    return s;
  }
  auto cpu = readNumber(root + "/cpuacct" + path + "/cpuacct.usage");
  if (!cpu) return std::nullopt;
  s.cpu_ns = *cpu;
  s.memory_bytes = readNumber(root + "/memory" + path + "/memory.usage_in_bytes").value_or(0);
  return s;
}

double cpuPercent(const CgroupSample& before, const CgroupSample& after, unsigned cpus) {
  auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(after.at - before.at).count();
  if (wall <= 0 || cpus == 0 || after.cpu_ns < before.cpu_ns) return 0;
  return 100.0 * static_cast<double>(after.cpu_ns - before.cpu_ns) /
         (static_cast<double>(wall) * cpus);
}

}  // namespace oak::worker::containerd
