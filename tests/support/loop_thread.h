#pragma once
// An EventLoop running on a thread of its own, for tests that drive asynchronous components from
// the test thread: run code on the loop and wait (bounded) for a callback's value.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

#include "http/event_loop.h"

namespace oak::testing {

class LoopThread {
 public:
  explicit LoopThread(unsigned blocking_threads = 4) : loop_(blocking_threads) {}
  ~LoopThread() { stop(); }

  void start() {
    thread_ = std::thread([this] { loop_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
  }
  EventLoop& loop() { return loop_; }

  // Runs `fn` on the loop thread and returns its result.
  template <typename Fn>
  decltype(std::declval<Fn>()()) onLoop(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    loop_.post([&task] { task(); });
    return future.get();
  }

  // Starts an asynchronous call on the loop (`start(callback)`) and waits for the value the
  // callback receives.
  template <typename T, typename Start>
  T await(Start start, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    loop_.post([&start, promise] { start([promise](T v) { promise->set_value(std::move(v)); }); });
    if (future.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within " << timeout.count() << " s";
      std::abort();  // the callback would touch a dead frame
    }
    return future.get();
  }

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace oak::testing
