#include "metrics/process_metrics.h"

#include <unistd.h>

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "metrics/log_counter.h"

namespace oak::metrics {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool toNumber(std::string_view s, double& out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  out = static_cast<double>(v);
  return true;
}

// "btime <seconds>" of /proc/stat.
double bootTime(const std::string& proc_root) {
  std::istringstream in(slurp(proc_root + "/stat"));
  for (std::string line; std::getline(in, line);) {
    double v = 0;
    if (line.starts_with("btime ") && toNumber(std::string_view(line).substr(6), v)) return v;
  }
  return 0;
}

// The soft limit of "Max open files" in /proc/self/limits.
double maxOpenFiles(const std::string& proc_root) {
  std::istringstream in(slurp(proc_root + "/self/limits"));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Max open files")) continue;
    auto f = fields(std::string_view(line).substr(14));
    double v = 0;
    if (!f.empty() && toNumber(f[0], v)) return v;  // "unlimited" stays 0
  }
  return 0;
}

double openFds(const std::string& proc_root) {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it(proc_root + "/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

Result<ProcessSample> readProcessSample(const std::string& proc_root) {
  std::string stat = slurp(proc_root + "/self/stat");
  // The command name (field 2) is in parentheses and may hold anything: fields count from the
  // last ')'. After it come state (3) ... utime (14), stime (15), num_threads (20),
  // starttime (22), vsize (23), rss (24, in pages).
  size_t paren = stat.rfind(')');
  auto malformed = [&] {
    return makeError(ErrorCode::kUnavailable, proc_root + "/self/stat: unreadable or malformed");
  };
  if (paren == std::string::npos) return malformed();
  auto f = fields(std::string_view(stat).substr(paren + 1));
  auto field = [&](size_t n, double& out) { return n - 3 < f.size() && toNumber(f[n - 3], out); };
  double utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!field(14, utime) || !field(15, stime) || !field(20, threads) || !field(22, start) ||
      !field(23, vsize) || !field(24, rss)) {
    return malformed();
  }
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessSample s;
  s.cpu_seconds = (utime + stime) / ticks;
  s.threads = threads;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * page;
  double boot = bootTime(proc_root);
  s.start_time_seconds = boot > 0 ? boot + start / ticks : 0;
  s.open_fds = openFds(proc_root);
  s.max_fds = maxOpenFiles(proc_root);
  return s;
}

void addProcessMetrics(Registry& registry, std::string_view component, std::string proc_root) {
  registry.gauge("oakestra_build_info", "The running build: always 1.", {"component", "version"})
      .labels({component, OAK_VERSION_STRING})
      .set(1);
  registry.addCollector([proc_root = std::move(proc_root)](Exposition& out) {
    auto s = readProcessSample(proc_root);
    if (!s) return;
    auto one = [&](std::string_view name, std::string_view help, Type type, double v) {
      out.family(name, help, type);
      out.sample(name, v);
    };
    one("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", Type::kCounter,
        s->cpu_seconds);
    one("process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge,
        s->resident_bytes);
    one("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge,
        s->virtual_bytes);
    one("process_open_fds", "Number of open file descriptors.", Type::kGauge, s->open_fds);
    if (s->max_fds > 0) {
      one("process_max_fds", "Maximum number of open file descriptors.", Type::kGauge, s->max_fds);
    }
    if (s->start_time_seconds > 0) {
      one("process_start_time_seconds",
          "Start time of the process since the Unix epoch, in "
          "seconds.",
          Type::kGauge, s->start_time_seconds);
    }
    one("process_threads", "Number of OS threads in the process.", Type::kGauge, s->threads);
  });
  addLogCollector(registry);
}

}  // namespace oak::metrics
