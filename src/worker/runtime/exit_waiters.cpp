#include "worker/runtime/exit_waiters.h"

namespace oak::worker {

void ExitWaiters::wait(const std::string& task_id, bool running, Waiter on_exit) {
  if (auto e = ended_.find(task_id); e != ended_.end()) {
    ExitInfo info = e->second;
    ended_.erase(e);
    on_exit(info);
    return;
  }
  if (!running) {
    on_exit(ExitInfo{-1, "unknown instance"});
    return;
  }
  add(task_id, std::move(on_exit));
}

void ExitWaiters::add(const std::string& task_id, Waiter on_exit) {
  waiting_[task_id].push_back(std::move(on_exit));
}

void ExitWaiters::ended(const std::string& task_id, const ExitInfo& info) {
  auto it = waiting_.find(task_id);
  if (it == waiting_.end()) {
    ended_[task_id] = info;
    return;
  }
  auto waiters = std::move(it->second);
  waiting_.erase(it);
  for (auto& w : waiters) w(info);
}

}  // namespace oak::worker
