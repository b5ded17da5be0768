#pragma once
// The unikernel runtime as a module that the worker loads only with `--unikernel`
// (`oakestra-unikernel.so` beside the binary), so that libarchive, the download client and what
// they pull in stay out of roots, clusters and container-only workers. The module reaches the
// daemon only through the interfaces below (virtual calls), never through its globals.

#include <functional>
#include <string>

#include "common/task_runner.h"
#include "worker/runtime/runtime.h"

namespace oak::worker::unikernel {

struct ModuleConfig {
  std::string run_root;   // one folder per running guest
  std::string cache_dir;  // downloaded kernel bundles
  std::string log_root;   // instance logs
  bool use_kvm = true;    // false: software emulation even where KVM works
  // Polled during kernel downloads: true (the worker is stopping) aborts them. May be empty.
  std::function<bool()> stopping;
};

// Builds the runtime on the loop thread. When QEMU is missing the runtime reports itself
// unavailable and `*error` says why.
using ModuleFactory = Runtime* (*)(TaskRunner* loop, const ModuleConfig* config,
                                   std::string* error);
inline constexpr char kModuleFile[] = "oakestra-unikernel.so";
inline constexpr char kModuleFactory[] = "oak_unikernel_runtime";

}  // namespace oak::worker::unikernel
