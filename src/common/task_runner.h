#pragma once
// The two things asynchronous components need from an event loop: queue work on the loop, and
// run blocking work beside it with the continuation back on the loop. An interface so that code
// loaded as a module (the container runtime) reaches the daemon's loop through virtual calls
// instead of linking its own copy of the loop.

#include <functional>

namespace oak {

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Thread-safe: queues `fn` to run on the loop.
  virtual void post(std::function<void()> fn) = 0;
  // Runs `work` on a pool thread, then `done` on the loop.
  virtual void runBlocking(std::function<void()> work, std::function<void()> done) = 0;
};

}  // namespace oak
