#pragma once
// What the end-to-end benchmarks share: milliseconds, a bounded poll with a chosen step (the
// tests' waits would blur the numbers), order statistics, a trimmed file.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace oak::bench {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d);

// Polls `cond` every `step`; false once `timeout` passed without it.
bool pollUntil(std::chrono::milliseconds timeout, std::chrono::milliseconds step,
               const std::function<bool()>& cond);

struct Stats {
  double min = 0, p50 = 0, p90 = 0, max = 0;
};
// Of a non-empty sample.
Stats stats(std::vector<double> v);

// The file's content without trailing white space ("" when unreadable).
std::string readTrimmed(const std::string& path);

// "127.0.0.1:<port>"
std::string local(uint16_t port);

}  // namespace oak::bench
