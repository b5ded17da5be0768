#include "worker/host/proc_parsers.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace oak::worker {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// Splits on `sep`; with `skip_empty`, runs of separators count as one (whitespace columns).
std::vector<std::string_view> split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    if (!skip_empty || !part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  auto out = split(text, '\n', false);
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

template <class T>
bool parseNumber(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Error procError(std::string_view file, std::string what) {
  return makeError(ErrorCode::kUnavailable, fmt::format("{}: {}", file, what));
}

bool isPerCpuLabel(std::string_view label) {
  return label.size() > 3 && label.starts_with("cpu") &&
         std::all_of(label.begin() + 3, label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<CpuTimes> parseProcStat(std::string_view text) {
  CpuTimes times;
  bool have_total = false;
  size_t line_no = 0;
  for (std::string_view line : lines(text)) {
    ++line_no;
    auto fields = split(line, ' ', true);
    if (fields.empty()) continue;
    if (isPerCpuLabel(fields[0])) {
      ++times.cores;
      continue;
    }
    if (fields[0] != "cpu") continue;
    // user nice system idle [iowait irq softirq steal]; guest time is already inside user.
    if (fields.size() < 5) {
      return procError("stat", fmt::format("line {}: 'cpu' has {} counters, expected at least 4",
                                           line_no, fields.size() - 1));
    }
    for (size_t i = 1; i < fields.size() && i <= 8; ++i) {
      uint64_t v = 0;
      if (!parseNumber(fields[i], v)) {
        return procError(
            "stat", fmt::format("line {}: counter {} '{}' is not a number", line_no, i, fields[i]));
      }
      times.total += v;
      if (i == 4 || i == 5) times.idle += v;
    }
    have_total = true;
  }
  if (!have_total) return procError("stat", "no aggregate 'cpu' line");
  if (times.cores == 0) return procError("stat", "no per-CPU 'cpuN' lines");
  return times;
}

double cpuBusyPercent(const CpuTimes* previous, const CpuTimes& current) {
  uint64_t total = current.total;
  uint64_t idle = current.idle;
  if (previous != nullptr && current.total > previous->total && current.idle >= previous->idle) {
    total = current.total - previous->total;
    idle = current.idle - previous->idle;
  }
  if (total == 0) return 0;
  idle = std::min(idle, total);
  return 100.0 * static_cast<double>(total - idle) / static_cast<double>(total);
}

Result<MemInfo> parseMemInfo(std::string_view text) {
  MemInfo info;
  bool have_total = false;
  bool have_available = false;
  for (std::string_view line : lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    uint64_t* target = key == "MemTotal"       ? &info.total_kb
                       : key == "MemAvailable" ? &info.available_kb
                                               : nullptr;
    if (target == nullptr) continue;
    auto parts = split(trim(line.substr(colon + 1)), ' ', true);
    if (parts.empty() || parts.size() > 2 || !parseNumber(parts[0], *target) ||
        (parts.size() == 2 && parts[1] != "kB")) {
      return procError("meminfo", fmt::format("{}: '{}' is not a size in kB", key,
                                              trim(line.substr(colon + 1))));
    }
    (key == "MemTotal" ? have_total : have_available) = true;
  }
  if (!have_total) return procError("meminfo", "MemTotal missing");
  if (!have_available) return procError("meminfo", "MemAvailable missing");
  return info;
}

std::vector<std::string> nvidiaSmiCommand() {
  return {"nvidia-smi", "--query-gpu=name,driver_version,memory.total,memory.free,utilization.gpu",
          "--format=csv,noheader,nounits"};
}

std::vector<Gpu> parseNvidiaSmi(std::string_view text) {
  // Unmeasurable values ("[N/A]") read as 0 rather than dropping the GPU.
  auto number = [](std::string_view s) {
    double v = 0;
    return parseNumber(trim(s), v) && v > 0 ? v : 0.0;
  };
  std::vector<Gpu> gpus;
  for (std::string_view line : lines(text)) {
    if (trim(line).empty()) continue;
    auto fields = split(line, ',', false);
    if (fields.size() < 5) {
      spdlog::warn("nvidia-smi: ignoring line with {} fields, expected 5: '{}'", fields.size(),
                   trim(line));
      continue;
    }
    // A name containing commas spreads over the leading fields; the last four are fixed.
    size_t n = fields.size();
    std::string_view first = fields[0];
    std::string_view last = fields[n - 5];
    Gpu gpu;
    gpu.name = std::string(trim(std::string_view(first.data(), last.data() + last.size())));
    gpu.driver = std::string(trim(fields[n - 4]));
    gpu.memory_total_mb = static_cast<uint64_t>(number(fields[n - 3]));
    gpu.memory_free_mb = static_cast<uint64_t>(number(fields[n - 2]));
    gpu.utilization_percent = std::min(number(fields[n - 1]), 100.0);
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::string goArch(std::string_view machine) {
  machine = trim(machine);
  if (machine == "x86_64" || machine == "amd64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine.starts_with("arm")) return "arm";
  if (machine.size() == 4 && machine[0] == 'i' && machine.substr(2) == "86") return "386";
  return std::string(machine);
}

}  // namespace oak::worker
