#pragma once
// What the worker tells the cluster about its machine: at registration, and every few seconds
// in the node information report.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "worker/host/command_runner.h"
#include "worker/host/proc_parsers.h"

namespace oak::worker {

struct HostSnapshot {
  std::string hostname;
  std::string arch;  // GOARCH spelling: amd64, arm64, arm, 386, riscv64, ppc64le, s390x
  unsigned cores = 0;
  double cpu_usage_percent = 0;  // 0..100 since the previous sample (since boot for the first)
  uint64_t memory_total_mb = 0;
  uint64_t memory_available_mb = 0;
  uint64_t disk_total_mb = 0;  // of the file system holding `Options::disk_path`
  uint64_t disk_free_mb = 0;   // available to unprivileged users, as `df` shows it
  std::vector<Gpu> gpus;       // NVIDIA only; empty when nvidia-smi is absent or fails
  std::string ipv4;            // first non-loopback IPv4 of an interface that is up; "" if none
};

class HostProbe {
 public:
  virtual ~HostProbe() = default;
  // Blocks for a few milliseconds (file reads, nvidia-smi): call it off the event loop.
  // Not thread-safe: it remembers the previous CPU counters.
  virtual Result<HostSnapshot> sample() = 0;
};

class LinuxHostProbe final : public HostProbe {
 public:
  struct Options {
    // Root of the proc file system; tests point it at a fixture tree holding `stat`, `meminfo`,
    // `sys/kernel/hostname` and optionally `sys/kernel/arch` (else uname(2) is asked).
    std::string proc_root = "/proc";
    // Any path on the file system whose space is reported (the worker's data directory).
    std::string disk_path = "/";
    // Runs nvidia-smi. Null disables GPU detection. Not owned.
    CommandRunner* commands = nullptr;
  };

  explicit LinuxHostProbe(Options options) : options_(std::move(options)) {}

  // Errors (kUnavailable) name the file that is missing or malformed.
  Result<HostSnapshot> sample() override;

 private:
  Result<std::string> readProc(const std::string& relative) const;
  Result<std::string> readArch() const;
  Status readDisk(HostSnapshot& snapshot) const;
  std::vector<Gpu> readGpus() const;

  Options options_;
  std::optional<CpuTimes> previous_cpu_;
};

// First non-loopback IPv4 address of an interface that is up, in interface order; "" if none.
std::string firstNonLoopbackIpv4();

}  // namespace oak::worker
