#pragma once
// The container runtime as a module that the worker loads at start (`oakestra-containerd.so`
// beside the binary), so that protobuf, HTTP/2 and the registry client are mapped only into
// workers that run containers, not into every root and cluster. The module reaches the daemon only
// through the interfaces below (virtual calls), never through its globals.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/task_runner.h"
#include "worker/runtime/instance_spec.h"
#include "worker/runtime/runtime.h"

namespace oak::worker::containerd {

struct ModuleConfig {
  std::string socket;
  std::string ns;
  std::string cgroups_parent;
  std::vector<std::string> insecure_registries;
  std::function<std::string(const InstanceSpec&)> log_uri;
  // Told about every image pull from a registry: whether it worked and how long it took (called
  // on a pool thread). May be empty.
  std::function<void(bool ok, std::chrono::steady_clock::duration took)> on_pull;
  // Polled during image pulls: true (the worker is stopping) aborts them. May be empty.
  std::function<bool()> stopping;
};

// Builds the runtime and probes containerd (the runtime reports itself unavailable when that
// fails, with the reason in `*error`). Nullptr and `*error` when it cannot be built at all.
using ModuleFactory = Runtime* (*)(TaskRunner* loop, const ModuleConfig* config,
                                   std::string* error);
inline constexpr char kModuleFile[] = "oakestra-containerd.so";
inline constexpr char kModuleFactory[] = "oak_containerd_runtime";

}  // namespace oak::worker::containerd
