#include "worker/runtime/unikernel/unikernel_runtime.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/array.hpp>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/json.h"
#include "common/unique_fd.h"

namespace oak::worker::unikernel {
namespace fs = std::filesystem;
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Runs QEMU (the arguments after $0) and keeps its exit status where a restarted worker finds it.
constexpr char kWrapper[] = "\"$@\" 2>qemu.err; echo $? >exit.tmp && mv exit.tmp exit";
constexpr char kWrapperName[] = "oak-unikernel";
constexpr size_t kConsoleChunk = 256 * 1024;
constexpr int kConsoleChunksPerTick = 4;

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

std::optional<int> readInt(const std::string& path) {
  auto text = files::read(path);
  return text ? parseNumber<int>(*text) : std::nullopt;
}

std::vector<std::string> procCmdline(int pid) {
  std::vector<std::string> out;
  auto raw = files::read(fmt::format("/proc/{}/cmdline", pid));
  if (!raw) return out;
  size_t start = 0;
  while (start < raw->size()) {
    size_t end = raw->find('\0', start);
    if (end == std::string::npos) end = raw->size();
    out.push_back(raw->substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Reaps our own child if it ended; true once `pid` is gone.
bool gone(int pid) {
  if (pid <= 0) return true;
  ::waitpid(pid, nullptr, WNOHANG);
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

bool waitGone(int pid, milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (!gone(pid)) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// The first line of QEMU's stderr that is not a warning: why it refused to start.
std::string qemuError(const std::string& dir) {
  std::ifstream in(dir + "/qemu.err");
  std::string line;
  std::string warning;
  while (std::getline(in, line)) {
    if (line.find("warning:") == std::string::npos) return line;
    if (warning.empty()) warning = line;
  }
  return warning;
}

// The instance's network namespace, opened for setns(); checked here so that a wrong path fails
// the launch with its reason rather than the wrapper's silent end.
Result<UniqueFd> openNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return makeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                     fmt::format("netns_path: {}: {}", path, std::strerror(errno)));
  }
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("netns_path: {} is not a network namespace", path));
  }
  return fd;
}

// Starts `argv` in its own session in `dir`, inside the network namespace `netns` (-1: ours).
int spawn(const std::vector<std::string>& argv, const std::string& dir, int netns) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Own session: the guest outlives the worker and its terminal signals.
    ::setsid();
    if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) ::_exit(127);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::close_range(3, ~0u, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (devnull >= 0) ::close(devnull);
  return pid;
}

// CPU ticks (user + system) and resident memory in MB of a process.
Result<std::pair<uint64_t, double>> procUsage(int pid) {
  OAK_ASSIGN_OR_RETURN(auto stat, files::read(fmt::format("/proc/{}/stat", pid)));
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  auto utime = fields.size() > 12 ? parseNumber<uint64_t>(fields[11]) : std::nullopt;
  auto stime = fields.size() > 12 ? parseNumber<uint64_t>(fields[12]) : std::nullopt;
  if (!utime || !stime) return makeError(ErrorCode::kInternal, "proc: unreadable stat");
  double rss_mb = 0;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      rss_mb = static_cast<double>(parseNumber<uint64_t>(line.substr(6)).value_or(0)) / 1024.0;
    }
  }
  return std::make_pair(*utime + *stime, rss_mb);
}

}  // namespace

std::map<std::string, std::string> UnikernelRuntime::capabilities() const {
  return {{"arch", host_.arch},
          {"acceleration", host_.kvm ? "kvm" : "emulation"},
          {"qemu", host_.version}};
}

UnikernelRuntime::UnikernelRuntime(TaskRunner& loop, UnikernelOptions options)
    : loop_(loop),
      options_(std::move(options)),
      host_(probeQemu(hostArch(), options_.search_path)),
      store_(options_.cache_dir, options_.extract_limits, options_.stopping),
      cpus_(std::max(1u, std::thread::hardware_concurrency())) {
  host_.kvm = host_.kvm && options_.use_kvm;
  if (host_.available()) {
    spdlog::info("unikernels: {} ({}, {})", host_.binary, host_.version, host_.accelerationNote());
  } else {
    spdlog::warn("unikernels unavailable: no working qemu-system for {}", host_.arch);
  }
  ticker_ = std::thread([this, alive = std::weak_ptr<bool>(alive_)] {
    std::unique_lock lock(ticker_mutex_);
    while (!stopping_) {
      bool booting = SteadyClock::now() < booting_until_;
      // A launch wakes the ticker early (adopt), so the boot interval starts at once.
      ticker_cv_.wait_for(lock, booting ? options_.boot_poll_interval : options_.poll_interval);
      if (stopping_ || !busy_) continue;
      loop_.post([this, alive] {
        if (alive.lock()) poll();
      });
    }
  });
}

UnikernelRuntime::~UnikernelRuntime() {
  {
    std::lock_guard lock(ticker_mutex_);
    stopping_ = true;
  }
  ticker_cv_.notify_all();
  ticker_.join();
}

std::string UnikernelRuntime::runDir(const std::string& task_id) const {
  return options_.run_root + "/" + task_id;
}

void UnikernelRuntime::launch(const InstanceSpec& spec,
                              std::function<void(Result<LaunchResult>)> done) {
  if (spec.virtualization != "unikernel") {
    done(LaunchResult::kNotSupported);
    return;
  }
  std::string id = spec.taskId();
  if (instances_.count(id) != 0) {
    done(LaunchResult::kAlreadyLaunched);
    return;
  }
  instances_[id].spec = spec;
  waiters_.forget(id);
  auto result = std::make_shared<Result<Started>>(makeError(ErrorCode::kInternal, ""));
  std::string dir = runDir(id);
  loop_.runBlocking([this, spec, dir, result] { *result = start(spec, dir); },
                    [this, id, spec, result, done = std::move(done)] {
                      if (!*result) {
                        instances_.erase(id);
                        done(result->error());
                        return;
                      }
                      // Waiters that came during the launch stay.
                      adopt(spec, (*result)->pid, 0);
                      done(LaunchResult::kSuccess);
                      if ((*result)->early_status) {
                        finish(id, ExitInfo{guestExitCode(*(*result)->early_status), ""});
                      }
                    });
}

Result<UnikernelRuntime::Started> UnikernelRuntime::start(const InstanceSpec& spec,
                                                          const std::string& dir) {
  OAK_ASSIGN_OR_RETURN(auto url, selectKernelUrl(spec.image, spec.arch, host_.arch));
  OAK_ASSIGN_OR_RETURN(auto bundle, store_.fetch(url));
  std::error_code ec;
  fs::remove_all(dir, ec);  // leftovers of an earlier life of this task id
  int pid = -1;
  auto started = [&]() -> Result<Started> {
    OAK_TRY(files::ensureDirectory(options_.run_root));
    OAK_TRY(files::ensureDirectory(dir));
    VmConfig vm;
    vm.name = spec.taskId();
    vm.kernel = bundle.kernel;
    vm.memory_mb = spec.memory_mb;
    vm.vcpus = spec.vcpus;
    vm.args = spec.cmd;
    UniqueFd netns;
    if (!spec.netns_path.empty()) {
      OAK_ASSIGN_OR_RETURN(vm.nic, guestNic(spec.nsip, spec.gateway, spec.mtu));
      OAK_ASSIGN_OR_RETURN(netns, openNetns(spec.netns_path));
    }
    // Each instance gets its own copy: guests may write to their folders.
    for (const auto& [tag, path] : bundle.shares) {
      std::string copy = dir + "/shares/" + tag;
      fs::create_directories(copy, ec);
      fs::copy(path, copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
      if (ec) {
        return makeError(ErrorCode::kInternal,
                         fmt::format("unikernel: copying {}: {}", path, ec.message()));
      }
      vm.shares.emplace_back(tag, fs::absolute(copy).string());
    }
    std::vector<std::string> argv = {"/bin/sh", "-c", kWrapper, kWrapperName};
    auto command = qemuCommand(host_, vm);
    argv.insert(argv.end(), command.begin(), command.end());
    boost::json::object state{{"spec", spec.toJson()}, {"pid", -1}};
    boost::json::array cmdline;
    for (const auto& a : argv) cmdline.emplace_back(a);
    state["cmdline"] = cmdline;
    OAK_TRY(files::writeAtomic(dir + "/state.json", json::dump(state)));
    pid = spawn(argv, dir, netns.valid() ? netns.get() : -1);
    if (pid < 0) return makeError(ErrorCode::kInternal, "unikernel: fork failed");
    state["pid"] = pid;
    OAK_TRY(files::writeAtomic(dir + "/state.json", json::dump(state)));

    auto deadline = SteadyClock::now() + options_.start_timeout;
    while (true) {
      if (auto status = readInt(dir + "/exit")) {
        waitGone(pid, milliseconds(1000));
        pid = -1;
        std::string why = qemuError(dir);
        // QEMU itself failed (status 1 with a complaint), or the guest ended at once.
        if (*status == 1 && !why.empty() && why.find("warning:") == std::string::npos) {
          return makeError(ErrorCode::kUnprocessable, "qemu failed to start: " + why);
        }
        return Started{-1, *status};
      }
      if (QmpClient::connect(dir + "/qmp.sock", milliseconds(1000))) return Started{pid, {}};
      if (gone(pid) && !fs::exists(dir + "/exit")) {
        pid = -1;
        return makeError(ErrorCode::kInternal,
                         "unikernel: the QEMU wrapper ended before starting QEMU");
      }
      if (SteadyClock::now() >= deadline) {
        return makeError(ErrorCode::kUnavailable, fmt::format("qemu: no QMP answer within {} ms",
                                                              options_.start_timeout.count()));
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }();
  if (!started) {
    if (pid > 0) {
      ::kill(-pid, SIGKILL);  // its session's process group: wrapper and QEMU
      waitGone(pid, milliseconds(2000));
    }
    fs::remove_all(dir, ec);
  }
  return started;
}

void UnikernelRuntime::adopt(const InstanceSpec& spec, int pid, uint64_t console_offset) {
  std::string id = spec.taskId();
  Instance& inst = instances_[id];
  inst.spec = spec;
  inst.pid = pid;
  inst.dir = runDir(id);
  inst.state = State::kRunning;
  inst.console_offset = console_offset;
  busy_ = true;
  {
    std::lock_guard lock(ticker_mutex_);
    booting_until_ = SteadyClock::now() + options_.boot_window;
  }
  ticker_cv_.notify_all();
  inst.log = std::make_unique<LogWriter>(logDirFor(options_.log_root, id), LogStream::kStdout,
                                         options_.log_limits);
  (void)inst.log->open();
}

void UnikernelRuntime::copyConsole(Instance& inst) {
  int fd = ::open((inst.dir + "/console.log").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string buf(kConsoleChunk, '\0');
  bool moved = false;
  for (int i = 0; i < kConsoleChunksPerTick; ++i) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(inst.console_offset));
    if (n <= 0) break;
    (void)inst.log->write(std::string_view(buf.data(), static_cast<size_t>(n)));
    inst.console_offset += static_cast<uint64_t>(n);
    moved = true;
  }
  ::close(fd);
  // Where a restarted worker continues; a crash in between repeats lines, never loses them.
  if (moved) {
    std::ofstream(inst.dir + "/console.offset", std::ios::trunc) << inst.console_offset;
  }
}

void UnikernelRuntime::poll() {
  std::vector<std::pair<std::string, ExitInfo>> ended;
  for (auto& [id, inst] : instances_) {
    if (inst.state != State::kRunning) continue;
    copyConsole(inst);
    // The wrapper exits right after recording the status; waiting for that reaps it.
    if (!gone(inst.pid)) continue;
    auto status = readInt(inst.dir + "/exit");
    ended.emplace_back(id, status ? ExitInfo{guestExitCode(*status), ""}
                                  : ExitInfo{-1, "QEMU ended without an exit status"});
  }
  for (auto& [id, info] : ended) finish(id, info);
}

void UnikernelRuntime::finish(const std::string& task_id, ExitInfo info) {
  auto it = instances_.find(task_id);
  if (it == instances_.end()) return;
  Instance& inst = it->second;
  if (inst.log) {
    copyConsole(inst);
    (void)inst.log->finish();
  }
  std::error_code ec;
  fs::remove_all(inst.dir, ec);
  instances_.erase(it);
  busy_ = !instances_.empty();
  waiters_.ended(task_id, info);
}

void UnikernelRuntime::wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) {
  waiters_.wait(task_id, instances_.count(task_id) != 0, std::move(on_exit));
}

void UnikernelRuntime::stop(int pid, const std::string& dir) {
  // Politely first (ACPI power button), then QEMU's own quit, then SIGKILL.
  for (const char* command : {"system_powerdown", "quit"}) {
    if (auto qmp = QmpClient::connect(dir + "/qmp.sock", milliseconds(1000))) {
      (void)qmp->execute(command, milliseconds(1000));
    }
    if (waitGone(pid, options_.stop_grace)) return;
  }
  spdlog::warn("{}: QEMU did not stop; killing it", dir);
  ::kill(-pid, SIGKILL);
  waitGone(pid, milliseconds(2000));
}

void UnikernelRuntime::destroy(const std::string& task_id, std::function<void(Status)> done) {
  auto it = instances_.find(task_id);
  if (it == instances_.end() || it->second.state == State::kStarting) {
    done(makeError(ErrorCode::kNotFound, task_id + ": not running"));
    return;
  }
  Instance& inst = it->second;
  if (inst.state == State::kStopping) {
    waiters_.add(task_id, [done = std::move(done)](const ExitInfo&) { done(Status{}); });
    return;
  }
  inst.state = State::kStopping;
  loop_.runBlocking([this, pid = inst.pid, dir = inst.dir] { stop(pid, dir); },
                    [this, task_id, done = std::move(done)] {
                      finish(task_id, ExitInfo{-1, "destroyed"});
                      done(Status{});
                    });
}

void UnikernelRuntime::usage(const std::string& task_id, std::function<void(Result<Usage>)> done) {
  auto it = instances_.find(task_id);
  if (it == instances_.end() || it->second.state != State::kRunning) {
    done(makeError(ErrorCode::kNotFound, task_id + ": not running"));
    return;
  }
  Instance& inst = it->second;
  auto qemu_pid = readInt(inst.dir + "/qemu.pid");
  auto sample = qemu_pid ? procUsage(*qemu_pid)
                         : Result<std::pair<uint64_t, double>>(makeError(ErrorCode::kNotFound, ""));
  if (!sample) {
    done(makeError(ErrorCode::kNotFound, task_id + ": no QEMU process"));
    return;
  }
  Usage u;
  u.memory_mb = sample->second;
  auto now = SteadyClock::now();
  if (inst.last_cpu) {
    double secs = std::chrono::duration<double>(now - inst.last_cpu->at).count();
    double ticks = static_cast<double>(sample->first - inst.last_cpu->ticks);
    if (secs > 0) {
      u.cpu_percent = 100.0 * ticks / static_cast<double>(::sysconf(_SC_CLK_TCK)) / secs / cpus_;
    }
  }
  inst.last_cpu = CpuSample{sample->first, now};
  done(u);
}

std::vector<std::string> UnikernelRuntime::list() const {
  std::vector<std::string> out;
  for (const auto& [id, inst] : instances_) {
    if (inst.state == State::kRunning) out.push_back(id);
  }
  return out;
}

void UnikernelRuntime::recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) {
  struct Found {
    InstanceSpec spec;
    int pid = -1;
    uint64_t console_offset = 0;
    std::optional<ExitInfo> ended;
  };
  auto found = std::make_shared<std::vector<Found>>();
  loop_.runBlocking(
      [this, found] {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(options_.run_root, ec)) {
          std::string dir = entry.path().string();
          auto text = files::read(dir + "/state.json");
          auto parsed = text ? json::parse(*text) : Result<boost::json::value>(text.error());
          const boost::json::object* spec_json = parsed && parsed->is_object()
                                                     ? json::findObject(parsed->as_object(), "spec")
                                                     : nullptr;
          auto spec = spec_json != nullptr
                          ? InstanceSpec::fromJson(*spec_json)
                          : Result<InstanceSpec>(makeError(ErrorCode::kNotFound, ""));
          if (!spec || spec->taskId() != entry.path().filename().string()) {
            spdlog::warn("unikernel: {} has no usable state; removing it", dir);
            fs::remove_all(dir, ec);
            continue;
          }
          const auto& state = parsed->as_object();
          Found f;
          f.spec = *spec;
          f.pid = static_cast<int>(json::getInt(state, "pid").value_or(-1));
          f.console_offset = static_cast<uint64_t>(readInt(dir + "/console.offset").value_or(0));
          std::vector<std::string> expected;
          if (auto* cmd = json::findArray(state, "cmdline")) {
            for (const auto& a : *cmd) {
              if (a.is_string()) expected.emplace_back(a.as_string());
            }
          }
          bool alive = f.pid > 0 && procCmdline(f.pid) == expected;
          if (auto status = readInt(dir + "/exit")) {
            f.ended = ExitInfo{guestExitCode(*status), ""};
          } else if (!alive) {
            f.ended = ExitInfo{-1, "QEMU ended while the worker was away"};
          }
          if (f.ended)
            spdlog::info("{}: ended while the worker was away", f.spec.taskId());
          else
            spdlog::info("{}: re-attached (pid {})", f.spec.taskId(), f.pid);
          found->push_back(std::move(f));
        }
      },
      [this, found, done = std::move(done)] {
        std::vector<InstanceSpec> specs;
        for (auto& f : *found) {
          adopt(f.spec, f.pid, f.console_offset);
          specs.push_back(f.spec);
          if (f.ended) finish(f.spec.taskId(), *f.ended);
        }
        done(std::move(specs));
      });
}

}  // namespace oak::worker::unikernel
