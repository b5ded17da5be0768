#include "worker/agent/runtimes.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "worker/logs/log_driver.h"
#include "worker/logs/log_format.h"
#include "worker/runtime/containerd/module.h"
#include "worker/runtime/unikernel/module.h"

namespace oak::worker {
namespace {

// A file installed beside this binary (`oakestra-logd`, the container module).
Result<std::string> besideExecutable(const std::string& name) {
  OAK_ASSIGN_OR_RETURN(auto self, currentExecutable());
  return (std::filesystem::path(self).parent_path() / name).string();
}

// The small `oakestra-logd`; this binary itself (which can act as the driver too, at a few MB
// more per container) when it is missing.
Result<std::string> logDriverExecutable() {
  OAK_ASSIGN_OR_RETURN(auto logd, besideExecutable("oakestra-logd"));
  if (::access(logd.c_str(), X_OK) == 0) return logd;
  OAK_ASSIGN_OR_RETURN(auto self, currentExecutable());
  spdlog::warn("{} not found: containers' log drivers run as {}", logd, self);
  return self;
}

// The factory `symbol` of the module `file` beside the executable. The module stays loaded for
// the life of the process: the runtime's code lives in it.
template <typename Factory>
Result<Factory> loadFactory(const std::string& file, const char* symbol) {
  OAK_ASSIGN_OR_RETURN(auto module, besideExecutable(file));
  void* handle = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return makeError(ErrorCode::kUnavailable, "cannot load " + module + ": " + ::dlerror());
  }
  auto factory = reinterpret_cast<Factory>(::dlsym(handle, symbol));
  if (factory == nullptr) {
    return makeError(ErrorCode::kUnavailable, module + " has no " + symbol);
  }
  return factory;
}

std::unique_ptr<Runtime> makeContainerd(EventLoop& loop, const WorkerOptions& o,
                                        const std::string& log_root, PullListener on_pull,
                                        std::function<bool()> stopping) {
  namespace cd = containerd;
  // Without containerd there is no point in mapping its client into this process.
  if (!std::filesystem::is_socket(o.containerd_socket)) {
    spdlog::warn("containers unavailable: no containerd socket at {}", o.containerd_socket);
    return nullptr;
  }
  auto exe = logDriverExecutable();
  if (!exe) {
    spdlog::warn("containers unavailable: {}", exe.error().message);
    return nullptr;
  }
  auto factory = loadFactory<cd::ModuleFactory>(cd::kModuleFile, cd::kModuleFactory);
  if (!factory) {
    spdlog::warn("containers unavailable: {}", factory.error().message);
    return nullptr;
  }
  cd::ModuleConfig config;
  config.socket = o.containerd_socket;
  config.ns = o.containerd_namespace;
  // The namespace is also the cgroup parent, so that workers sharing a host stay apart.
  config.cgroups_parent = "/" + o.containerd_namespace;
  config.insecure_registries = o.insecure_registries;
  config.log_uri = [exe = *exe, log_root](const InstanceSpec& spec) {
    return binaryLogUri(exe, logDirFor(log_root, spec.taskId()), LogLimits{});
  };
  config.on_pull = std::move(on_pull);
  config.stopping = std::move(stopping);
  std::string error;
  std::unique_ptr<Runtime> runtime((*factory)(&loop, &config, &error));
  if (!error.empty()) spdlog::warn("containers unavailable: {}", error);
  return runtime;
}

std::unique_ptr<Runtime> makeUnikernel(EventLoop& loop, const WorkerOptions& o,
                                       const std::string& log_root,
                                       std::function<bool()> stopping) {
  namespace uk = unikernel;
  if (!o.unikernel) return nullptr;
  auto factory = loadFactory<uk::ModuleFactory>(uk::kModuleFile, uk::kModuleFactory);
  if (!factory) {
    spdlog::warn("unikernels unavailable: {}", factory.error().message);
    return nullptr;
  }
  uk::ModuleConfig config;
  config.run_root = o.data_dir + "/unikernel/run";
  config.cache_dir = o.data_dir + "/unikernel/cache";
  config.log_root = log_root;
  config.use_kvm = !o.unikernel_no_kvm;
  config.stopping = std::move(stopping);
  std::string error;
  std::unique_ptr<Runtime> runtime((*factory)(&loop, &config, &error));
  if (!error.empty()) spdlog::warn("unikernels unavailable: {}", error);
  return runtime;
}

}  // namespace

std::vector<std::unique_ptr<Runtime>> makeRuntimes(EventLoop& loop, const WorkerOptions& options,
                                                   const std::string& log_root,
                                                   PullListener on_pull,
                                                   std::function<bool()> stopping) {
  std::vector<std::unique_ptr<Runtime>> out;
  if (auto c = makeContainerd(loop, options, log_root, std::move(on_pull), stopping)) {
    out.push_back(std::move(c));
  }
  if (auto u = makeUnikernel(loop, options, log_root, std::move(stopping))) {
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace oak::worker
