#pragma once
// A scriptable in-memory runtime for unit tests and the in-process multi-node fixture. It runs
// nothing: instances are entries in a table that the test ends with `exitInstance`.
//
// State is guarded by a mutex so that a test thread may inspect it and end instances while the
// worker's loop runs on another thread; callbacks never run under the lock.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/event_loop.h"
#include "worker/runtime/runtime.h"

namespace oak::worker {

class FakeRuntime final : public Runtime {
 public:
  struct Options {
    std::string name = "docker";  // also the only virtualization it accepts
    bool available = true;
    // With a loop, callbacks are posted to it (as a real runtime answers); without one they run
    // inside the call.
    EventLoop* loop = nullptr;
    std::map<std::string, std::string> capabilities = {};
  };

  // How instances of one image behave.
  struct ImageScript {
    // Launch fails with this message (kUnavailable).
    std::optional<std::string> launch_error{};
    // The instance exits with this code as soon as it started.
    std::optional<int> exit_on_launch{};
    // Destroy fails with this message and the instance keeps running.
    std::optional<std::string> destroy_error{};
  };

  FakeRuntime() : FakeRuntime(Options{}) {}
  explicit FakeRuntime(Options options);

  // Set-up.
  void scriptImage(const std::string& image, ImageScript script);
  void setAvailable(bool available);
  void setUsage(const std::string& task_id, Usage usage);
  // The next `recover` finds this instance running (or fails with `message`).
  void seedRecoverable(InstanceSpec spec);
  void failRecover(std::string message);

  // Ends a running instance as if it exited by itself (`reason` empty) or was killed; its
  // waiters run. With a loop, this is posted to it, so any thread may call it.
  void exitInstance(const std::string& task_id, int exit_code, std::string reason = {});

  // Inspection.
  std::vector<InstanceSpec> launches() const;  // every launch of its virtualization, in order
  std::vector<std::string> destroys() const;   // every destroy call, in order
  bool running(const std::string& task_id) const;

  std::string name() const override { return options_.name; }
  std::map<std::string, std::string> capabilities() const override { return options_.capabilities; }
  bool available() const override;
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override;
  void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) override;
  void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) override;
  void destroy(const std::string& task_id, std::function<void(Status)> done) override;
  void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) override;
  std::vector<std::string> list() const override;

 private:
  using Waiters = std::vector<std::function<void(ExitInfo)>>;
  struct Instance {
    InstanceSpec spec;
    Waiters waiters;
  };

  // Removes a running instance; returns its waiters, or keeps `info` for a later wait.
  std::optional<Waiters> endLocked(const std::string& task_id, const ExitInfo& info);

  const Options options_;
  mutable std::mutex mutex_;
  bool available_;
  std::map<std::string, ImageScript> scripts_;
  std::map<std::string, Instance> running_;
  std::map<std::string, ExitInfo> ended_;  // ended, nobody waited yet
  std::map<std::string, Usage> usage_;
  std::vector<InstanceSpec> recoverable_;
  std::optional<std::string> recover_error_;
  std::vector<InstanceSpec> launches_;
  std::vector<std::string> destroys_;
};

}  // namespace oak::worker
