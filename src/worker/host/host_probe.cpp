#include "worker/host/host_probe.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/files.h"

namespace oak::worker {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

Result<HostSnapshot> LinuxHostProbe::sample() {
  HostSnapshot snapshot;
  OAK_ASSIGN_OR_RETURN(std::string hostname, readProc("sys/kernel/hostname"));
  snapshot.hostname = firstLine(hostname);
  if (snapshot.hostname.empty()) {
    return makeError(ErrorCode::kUnavailable, "sys/kernel/hostname: empty");
  }
  OAK_ASSIGN_OR_RETURN(snapshot.arch, readArch());

  OAK_ASSIGN_OR_RETURN(std::string stat_text, readProc("stat"));
  OAK_ASSIGN_OR_RETURN(CpuTimes cpu, parseProcStat(stat_text));
  snapshot.cores = cpu.cores;
  snapshot.cpu_usage_percent = cpuBusyPercent(previous_cpu_ ? &*previous_cpu_ : nullptr, cpu);

  OAK_ASSIGN_OR_RETURN(std::string meminfo_text, readProc("meminfo"));
  OAK_ASSIGN_OR_RETURN(MemInfo mem, parseMemInfo(meminfo_text));
  snapshot.memory_total_mb = mem.total_kb / 1024;
  snapshot.memory_available_mb = mem.available_kb / 1024;

  OAK_TRY(readDisk(snapshot));
  snapshot.gpus = readGpus();
  snapshot.ipv4 = firstNonLoopbackIpv4();
  // Only a complete sample moves the CPU baseline, so a failed one does not skew the next.
  previous_cpu_ = cpu;
  return snapshot;
}

Result<std::string> LinuxHostProbe::readProc(const std::string& relative) const {
  std::string path = options_.proc_root + "/" + relative;
  auto text = files::read(path);
  if (!text) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("{}: cannot read {}", relative, text.error().message));
  }
  return std::move(*text);
}

Result<std::string> LinuxHostProbe::readArch() const {
  // /proc/sys/kernel/arch exists on recent kernels; it keeps the fixture trees self-contained.
  if (files::exists(options_.proc_root + "/sys/kernel/arch")) {
    OAK_ASSIGN_OR_RETURN(std::string machine, readProc("sys/kernel/arch"));
    std::string arch = goArch(firstLine(machine));
    if (arch.empty()) return makeError(ErrorCode::kUnavailable, "sys/kernel/arch: empty");
    return arch;
  }
  struct utsname names {};
  if (::uname(&names) != 0) {
    return makeError(ErrorCode::kUnavailable, fmt::format("uname: {}", std::strerror(errno)));
  }
  return goArch(names.machine);
}

Status LinuxHostProbe::readDisk(HostSnapshot& snapshot) const {
  struct statvfs fs {};
  if (::statvfs(options_.disk_path.c_str(), &fs) != 0) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("disk {}: {}", options_.disk_path, std::strerror(errno)));
  }
  snapshot.disk_total_mb = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize / kMiB;
  snapshot.disk_free_mb = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize / kMiB;
  return {};
}

std::vector<Gpu> LinuxHostProbe::readGpus() const {
  if (options_.commands == nullptr) return {};
  auto out = options_.commands->run(nvidiaSmiCommand());
  // Most machines have no NVIDIA driver: that is the normal case, not a failure.
  if (!out) {
    if (out.error().code != ErrorCode::kNotFound) {
      spdlog::warn("GPU detection failed: {}", out.error().message);
    }
    return {};
  }
  if (out->exit_code != 0) {
    spdlog::debug("nvidia-smi exited with code {}: no GPUs", out->exit_code);
    return {};
  }
  return parseNvidiaSmi(out->out);
}

std::string firstNonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* it = list; it != nullptr && found.empty(); it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    if ((it->ifa_flags & IFF_UP) == 0 || (it->ifa_flags & IFF_LOOPBACK) != 0) continue;
    std::array<char, INET_ADDRSTRLEN> text{};
    const auto* addr = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    if (::inet_ntop(AF_INET, &addr->sin_addr, text.data(), text.size()) != nullptr) {
      found = text.data();
    }
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace oak::worker
