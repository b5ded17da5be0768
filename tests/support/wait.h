#pragma once
// Bounded waits for black-box tests: poll a condition until it holds or a deadline passes.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace oak::testing {

template <typename Cond>
::testing::AssertionResult waitUntil(const std::string& what, std::chrono::milliseconds timeout,
                                     Cond cond) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << what << ": not true after " << timeout.count() << " ms";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace oak::testing
