#pragma once
// Blocking jobs that must not overlap or reorder (the kernel network configuration of one
// instance: a detach must finish before the next attach of the same task id starts), run one at
// a time beside the event loop; each continuation runs on the loop. Loop thread only.

#include <deque>
#include <functional>

#include "common/task_runner.h"

namespace oak::worker {

class SerialRunner {
 public:
  explicit SerialRunner(TaskRunner& runner) : runner_(runner) {}
  void run(std::function<void()> work, std::function<void()> done);
  bool idle() const { return !busy_; }

 private:
  void next();
  struct Job {
    std::function<void()> work;
    std::function<void()> done;
  };
  TaskRunner& runner_;
  std::deque<Job> queue_;
  bool busy_ = false;
};

}  // namespace oak::worker
