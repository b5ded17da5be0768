#pragma once
// Waiting for instances to reach RUNNING, as `oak apply` and `oak service scale` do: the root is
// polled, progress shown, and the wait ends early with the reason when an instance cannot get
// there (the root found no cluster for it, it FAILED or it DIED).

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/oak/progress.h"
#include "cli/oak/root_api.h"
#include "common/clock.h"

namespace oak::cli {

// One service's state as far as a deployment of `wanted` instances is concerned.
struct ServiceProgress {
  std::vector<ProgressRow> rows;
  bool done = false;  // `wanted` instances (or more), every one RUNNING (one-shots: COMPLETED)
  std::optional<std::string> failure;  // why it will not get there
};
ServiceProgress assessService(const boost::json::object& service, size_t wanted);

struct WatchTarget {
  std::string service_id;
  size_t instances = 1;
};

struct WatchOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds interval{std::chrono::milliseconds(200)};
};

using Sleeper = std::function<void(std::chrono::milliseconds)>;

// Polls until every target is done and returns the services' last documents. Errors: the first
// failure, or at the timeout what was still pending.
Result<std::vector<boost::json::object>> watchDeployment(RootApi& api,
                                                         const std::vector<WatchTarget>& targets,
                                                         const WatchOptions& options,
                                                         const Clock& clock, const Sleeper& sleep,
                                                         ProgressView& view);

}  // namespace oak::cli
