#pragma once
// The `wait` half of a Runtime: who waits for which task id, and exits that happened before
// anybody waited (kept for the first wait). Runs on the event loop like the runtime owning it.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "worker/runtime/runtime.h"

namespace oak::worker {

class ExitWaiters {
 public:
  using Waiter = std::function<void(ExitInfo)>;

  // `Runtime::wait` for a runtime that knows whether `task_id` runs: a kept exit completes at
  // once, a running task gets the waiter, anything else completes as "unknown instance".
  void wait(const std::string& task_id, bool running, Waiter on_exit);
  // Adds a waiter to a task known to run (or to be ending).
  void add(const std::string& task_id, Waiter on_exit);
  // The task ended: its waiters run, or the exit is kept for the first wait.
  void ended(const std::string& task_id, const ExitInfo& info);
  // A new life of the task id starts: an exit nobody waited for is stale.
  void forget(const std::string& task_id) { ended_.erase(task_id); }

 private:
  std::map<std::string, std::vector<Waiter>> waiting_;
  std::map<std::string, ExitInfo> ended_;
};

}  // namespace oak::worker
