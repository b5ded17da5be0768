#pragma once
// Helpers for tests that drive runtimes on an EventLoop from the test thread.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>
#include <ostream>

#include "http/event_loop.h"
#include "worker/runtime/instance_spec.h"
#include "worker/runtime/runtime.h"

namespace oak::worker {

// Runs every handler the loop has ready, including those they post, without blocking.
inline void settle(EventLoop& loop) {
  loop.context().restart();
  loop.context().poll();
}

inline InstanceSpec makeSpec(std::string job, int instance = 0,
                             std::string virtualization = "docker", std::string image = "img") {
  InstanceSpec spec;
  spec.job_name = std::move(job);
  spec.instance = instance;
  spec.virtualization = std::move(virtualization);
  spec.image = std::move(image);
  return spec;
}

// Names the instances of tests parameterised on whether runtimes answer via the loop.
inline std::string answerMode(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "Posted" : "Inline";
}

// Captures a callback's argument so that tests can check it after the loop settled.
template <class T>
struct Captured {
  std::optional<T> value;
  auto callback() {
    return [this](T v) { value = std::move(v); };
  }
};

inline std::ostream& operator<<(std::ostream& os, LaunchResult r) {
  switch (r) {
    case LaunchResult::kSuccess:
      return os << "kSuccess";
    case LaunchResult::kAlreadyLaunched:
      return os << "kAlreadyLaunched";
    case LaunchResult::kNotSupported:
      return os << "kNotSupported";
  }
  return os;
}

}  // namespace oak::worker
