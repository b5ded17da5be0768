#pragma once
// Runs an EventLoop on its own thread for tests of loop-bound objects: `call` runs a function on
// the loop and returns its result; `waitUntil` polls a condition on the loop (bounded).

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include "http/event_loop.h"

namespace oak::testing {

class LoopThread {
 public:
  LoopThread() : thread_([this] { loop_.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  EventLoop& loop() { return loop_; }

  template <class F>
  auto call(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto done = std::make_shared<std::promise<R>>();
    auto result = done->get_future();
    loop_.post([done, fn]() mutable {
      if constexpr (std::is_void_v<R>) {
        fn();
        done->set_value();
      } else {
        done->set_value(fn());
      }
    });
    return result.get();
  }

  template <class Pred>
  ::testing::AssertionResult waitUntil(Pred pred, std::chrono::milliseconds timeout,
                                       const char* what = "condition") {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!call(pred)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return ::testing::AssertionFailure()
               << what << " not reached within " << timeout.count() << " ms";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ::testing::AssertionSuccess();
  }

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace oak::testing
