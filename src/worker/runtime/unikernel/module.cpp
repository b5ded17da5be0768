#include "worker/runtime/unikernel/module.h"

#include "worker/runtime/unikernel/unikernel_runtime.h"

namespace uk = oak::worker::unikernel;

extern "C" __attribute__((visibility("default"))) oak::worker::Runtime* oak_unikernel_runtime(
    oak::TaskRunner* loop, const uk::ModuleConfig* config, std::string* error) {
  uk::UnikernelOptions options;
  options.run_root = config->run_root;
  options.cache_dir = config->cache_dir;
  options.log_root = config->log_root;
  options.use_kvm = config->use_kvm;
  options.stopping = config->stopping;
  auto runtime = std::make_unique<uk::UnikernelRuntime>(*loop, options);
  if (!runtime->available()) *error = "no working qemu-system for " + runtime->host().arch;
  return runtime.release();
}
