#include "worker/runtime/fake_runtime.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace oak::worker {
namespace {

Error notRunning(const std::string& task_id) {
  return makeError(ErrorCode::kNotFound, fmt::format("{}: no such instance", task_id));
}

// Runs `fn` now, or on the loop when there is one.
void deliver(EventLoop* loop, std::function<void()> fn) {
  if (loop != nullptr) {
    loop->post(std::move(fn));
  } else {
    fn();
  }
}

template <class T>
void answer(EventLoop* loop, std::function<void(T)> done, T value) {
  deliver(loop,
          [done = std::move(done), value = std::move(value)]() mutable { done(std::move(value)); });
}

}  // namespace

FakeRuntime::FakeRuntime(Options options)
    : options_(std::move(options)), available_(options_.available) {}

void FakeRuntime::scriptImage(const std::string& image, ImageScript script) {
  std::lock_guard lock(mutex_);
  scripts_[image] = std::move(script);
}

void FakeRuntime::setAvailable(bool available) {
  std::lock_guard lock(mutex_);
  available_ = available;
}

void FakeRuntime::setUsage(const std::string& task_id, Usage usage) {
  std::lock_guard lock(mutex_);
  usage_[task_id] = usage;
}

void FakeRuntime::seedRecoverable(InstanceSpec spec) {
  std::lock_guard lock(mutex_);
  recoverable_.push_back(std::move(spec));
}

void FakeRuntime::failRecover(std::string message) {
  std::lock_guard lock(mutex_);
  recover_error_ = std::move(message);
}

void FakeRuntime::exitInstance(const std::string& task_id, int exit_code, std::string reason) {
  auto end = [this, task_id, info = ExitInfo{exit_code, std::move(reason)}] {
    std::optional<Waiters> waiters;
    {
      std::lock_guard lock(mutex_);
      waiters = endLocked(task_id, info);
    }
    if (!waiters) {
      spdlog::warn("fake runtime: exit of {}, which is not running", task_id);
      return;
    }
    for (auto& w : *waiters) w(info);
  };
  deliver(options_.loop, std::move(end));
}

std::vector<InstanceSpec> FakeRuntime::launches() const {
  std::lock_guard lock(mutex_);
  return launches_;
}

std::vector<std::string> FakeRuntime::destroys() const {
  std::lock_guard lock(mutex_);
  return destroys_;
}

bool FakeRuntime::running(const std::string& task_id) const {
  std::lock_guard lock(mutex_);
  return running_.contains(task_id);
}

bool FakeRuntime::available() const {
  std::lock_guard lock(mutex_);
  return available_;
}

void FakeRuntime::recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) {
  Result<std::vector<InstanceSpec>> result = std::vector<InstanceSpec>{};
  {
    std::lock_guard lock(mutex_);
    if (recover_error_) {
      result = makeError(ErrorCode::kUnavailable, *recover_error_);
    } else {
      for (const auto& spec : recoverable_) running_[spec.taskId()] = Instance{spec, {}};
      result = std::move(recoverable_);
      recoverable_.clear();
    }
  }
  answer(options_.loop, std::move(done), std::move(result));
}

void FakeRuntime::launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) {
  const std::string id = spec.taskId();  // `spec` may be gone once `done` ran
  Result<LaunchResult> result = LaunchResult::kNotSupported;
  std::optional<int> exit_code;
  {
    std::lock_guard lock(mutex_);
    auto script = scripts_.find(spec.image);
    if (spec.virtualization != options_.name) {
      result = LaunchResult::kNotSupported;
    } else if (!available_) {
      result = makeError(ErrorCode::kUnavailable, options_.name + " runtime is not available");
    } else if (running_.contains(id)) {
      launches_.push_back(spec);
      result = LaunchResult::kAlreadyLaunched;
    } else if (script != scripts_.end() && script->second.launch_error) {
      launches_.push_back(spec);
      result = makeError(ErrorCode::kUnavailable, *script->second.launch_error);
    } else {
      launches_.push_back(spec);
      running_[id] = Instance{spec, {}};
      ended_.erase(id);
      result = LaunchResult::kSuccess;
      if (script != scripts_.end()) exit_code = script->second.exit_on_launch;
    }
  }
  answer(options_.loop, std::move(done), std::move(result));
  // After `done`, so that the caller has seen the launch before it sees the exit.
  if (exit_code) exitInstance(id, *exit_code);
}

void FakeRuntime::wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) {
  ExitInfo info{-1, "unknown instance"};
  {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(task_id); it != running_.end()) {
      it->second.waiters.push_back(std::move(on_exit));
      return;
    }
    if (auto it = ended_.find(task_id); it != ended_.end()) {
      info = std::move(it->second);
      ended_.erase(it);
    }
  }
  answer(options_.loop, std::move(on_exit), std::move(info));
}

void FakeRuntime::destroy(const std::string& task_id, std::function<void(Status)> done) {
  const ExitInfo info{-1, "destroyed"};
  std::optional<Waiters> waiters;
  Status failure;
  {
    std::lock_guard lock(mutex_);
    destroys_.push_back(task_id);
    auto it = running_.find(task_id);
    auto script = it != running_.end() ? scripts_.find(it->second.spec.image) : scripts_.end();
    if (it == running_.end()) {
      failure = notRunning(task_id);
    } else if (script != scripts_.end() && script->second.destroy_error) {
      failure = makeError(ErrorCode::kUnavailable, *script->second.destroy_error);
    } else {
      waiters = endLocked(task_id, info);
    }
  }
  if (!waiters) {
    answer(options_.loop, std::move(done), std::move(failure));
    return;
  }
  deliver(options_.loop, [waiters = std::move(*waiters), info, done = std::move(done)] {
    for (const auto& w : waiters) w(info);
    done(Status{});
  });
}

void FakeRuntime::usage(const std::string& task_id, std::function<void(Result<Usage>)> done) {
  Result<Usage> result = notRunning(task_id);
  {
    std::lock_guard lock(mutex_);
    if (running_.contains(task_id)) {
      auto it = usage_.find(task_id);
      result = it != usage_.end() ? it->second : Usage{};
    }
  }
  answer(options_.loop, std::move(done), std::move(result));
}

std::vector<std::string> FakeRuntime::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, instance] : running_) ids.push_back(id);
  return ids;
}

std::optional<FakeRuntime::Waiters> FakeRuntime::endLocked(const std::string& task_id,
                                                           const ExitInfo& info) {
  auto it = running_.find(task_id);
  if (it == running_.end()) return std::nullopt;
  Waiters waiters = std::move(it->second.waiters);
  running_.erase(it);
  if (waiters.empty()) ended_[task_id] = info;
  return waiters;
}

}  // namespace oak::worker
