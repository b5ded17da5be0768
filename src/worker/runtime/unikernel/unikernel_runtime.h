#pragma once
// Runs `unikernel` instances as QEMU guests. A launch fetches the kernel bundle for this host's
// architecture (kernel_store.h), copies its shared folders into the instance's run dir
// (`<run_root>/<task id>/`) and starts QEMU there through a small `sh` wrapper in its own session,
// which records QEMU's exit status in `exit`. With a `netns_path`, the wrapper and QEMU run in
// that network namespace and the guest gets a virtio NIC on its TAP `tap0`, with `nsip` and
// `gateway` as its kernel arguments. Nothing links the guest to the worker process: the
// console goes to a file that the runtime copies into the instance's stdout log, QEMU is stopped
// over QMP, and `state.json` (spec, wrapper pid, command line) lets a restarted worker re-adopt
// the guests that still run and report the ones that ended meanwhile.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/task_runner.h"
#include "worker/logs/log_format.h"
#include "worker/logs/log_writer.h"
#include "worker/runtime/exit_waiters.h"
#include "worker/runtime/runtime.h"
#include "worker/runtime/unikernel/kernel_store.h"
#include "worker/runtime/unikernel/qemu.h"

namespace oak::worker::unikernel {

struct UnikernelOptions {
  std::string run_root;   // one folder per running instance
  std::string cache_dir;  // downloaded kernel bundles
  std::string log_root;   // instance logs: <log_root>/<task id>/stdout.log
  LogLimits log_limits;
  ExtractLimits extract_limits;
  std::string search_path;  // where to look for qemu-system-*; $PATH when empty
  bool use_kvm = true;      // false forces software emulation even where KVM works
  // Between system_powerdown and quit, and between quit and SIGKILL.
  std::chrono::milliseconds stop_grace{5000};
  std::chrono::milliseconds start_timeout{10000};  // until QMP answers
  std::chrono::milliseconds poll_interval{100};    // console copy and exit checks
  // Faster for a while after a launch: a guest prints its first lines then, and users wait for
  // them (the console reaches the logs at most this late).
  std::chrono::milliseconds boot_poll_interval{10};
  std::chrono::milliseconds boot_window{2000};
  std::function<bool()> stopping;  // polled during kernel downloads: true aborts them
};

class UnikernelRuntime final : public Runtime {
 public:
  // Probes QEMU for this host's architecture (blocking, a few ms). Create and destroy it on the
  // loop thread.
  UnikernelRuntime(TaskRunner& loop, UnikernelOptions options);
  ~UnikernelRuntime() override;

  std::string name() const override { return "unikernel"; }
  bool available() const override { return host_.available(); }
  // arch, acceleration (kvm or emulation) and the QEMU version.
  std::map<std::string, std::string> capabilities() const override;
  const QemuHost& host() const { return host_; }

  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override;
  void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) override;
  void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) override;
  void destroy(const std::string& task_id, std::function<void(Status)> done) override;
  void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) override;
  std::vector<std::string> list() const override;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  enum class State { kStarting, kRunning, kStopping };
  struct CpuSample {
    uint64_t ticks = 0;
    std::chrono::steady_clock::time_point at;
  };
  struct Instance {
    InstanceSpec spec;
    State state = State::kStarting;
    int pid = -1;  // the wrapper
    std::string dir;
    std::unique_ptr<LogWriter> log;
    uint64_t console_offset = 0;
    std::optional<CpuSample> last_cpu;
  };
  struct Started {
    int pid = -1;
    std::optional<int> early_status;  // QEMU ended before QMP answered
  };

  // Blocking, on pool threads.
  Result<Started> start(const InstanceSpec& spec, const std::string& dir);
  void stop(int pid, const std::string& dir);

  // On the loop.
  void poll();
  void copyConsole(Instance& inst);
  void finish(const std::string& task_id, ExitInfo info);
  void adopt(const InstanceSpec& spec, int pid, uint64_t console_offset);
  std::string runDir(const std::string& task_id) const;

  TaskRunner& loop_;
  UnikernelOptions options_;
  QemuHost host_;
  KernelStore store_;
  std::map<std::string, Instance> instances_;
  ExitWaiters waiters_;
  // Queues `poll` on the loop every poll_interval (TaskRunner has no timers). Posted polls hold
  // `alive_` weakly, so one still queued when the runtime is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::mutex ticker_mutex_;
  std::condition_variable ticker_cv_;
  bool stopping_ = false;
  SteadyTime booting_until_{};     // the ticker uses boot_poll_interval until then
  std::atomic<bool> busy_{false};  // instances exist: an idle worker is not woken
  std::thread ticker_;
  unsigned cpus_ = 1;
};

}  // namespace oak::worker::unikernel
