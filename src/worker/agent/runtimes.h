#pragma once
// The runtimes this worker offers, built from its options: containerd when it answers, QEMU for
// unikernels when enabled (`--unikernel`) and installed. Each is probed here, so that the worker
// reports only what really works.

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "http/event_loop.h"
#include "worker/agent/options.h"
#include "worker/runtime/runtime.h"

namespace oak::worker {

// Told about image pulls of the container runtime, on a pool thread.
using PullListener = std::function<void(bool ok, std::chrono::steady_clock::duration took)>;

// `log_root`: where instance logs go (`<log_root>/<task id>/`). `stopping`, polled during image
// pulls and kernel downloads, aborts them when it turns true.
std::vector<std::unique_ptr<Runtime>> makeRuntimes(EventLoop& loop, const WorkerOptions& options,
                                                   const std::string& log_root,
                                                   PullListener on_pull = {},
                                                   std::function<bool()> stopping = {});

}  // namespace oak::worker
