#pragma once
// The async core: one event loop thread owns all mutable state of a daemon (no locks in business
// logic). CPU-heavy work (password hashing) runs on a small pool and completes back on the loop.

#include <chrono>
#include <functional>
#include <memory>

#include "common/task_runner.h"

namespace boost::asio {
class io_context;
}

namespace oak {

class EventLoop final : public TaskRunner {
 public:
  explicit EventLoop(unsigned blocking_threads = 1);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs handlers on the calling thread until `stop()`.
  void run();
  // Thread-safe.
  void stop();
  // Waits until the work given to `runBlocking` has ended, and takes no more. Call it after
  // `run()` returned and before destroying what that work uses (its `done` handlers never run).
  void joinBlocking();
  // Runs ready handlers on the calling thread until none is left and no `runBlocking` work is
  // pending (for deterministic tests that do not call `run`). Timers are not waited for.
  void drain();
  // Thread-safe: queues `fn` to run on the loop.
  void post(std::function<void()> fn) override;
  // Runs `work` on a pool thread, then `done` on the loop.
  void runBlocking(std::function<void()> work, std::function<void()> done) override;
  // Calls `fn` on the loop every `period` until the returned handle is destroyed.
  class Periodic {
   public:
    virtual ~Periodic() = default;
  };
  [[nodiscard]] std::unique_ptr<Periodic> every(std::chrono::milliseconds period,
                                                std::function<void()> fn);
  // Calls `fn(signal)` on the loop at SIGINT or SIGTERM (once per signal).
  void onTerminate(std::function<void(int)> fn);

  boost::asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak
