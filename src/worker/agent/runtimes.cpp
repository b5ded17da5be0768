#include "worker/agent/runtimes.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "oci/platform.h"
#include "oci/registry_client.h"
#include "worker/logs/log_driver.h"
#include "worker/logs/log_format.h"
#include "worker/runtime/containerd/containerd_runtime.h"

namespace oak::worker {
namespace {

// The small `oakestra-logd` installed beside this binary; this binary itself (which can act as
// the driver too, at a few MB more per container) when it is missing.
Result<std::string> logDriverExecutable() {
  OAK_ASSIGN_OR_RETURN(auto self, currentExecutable());
  auto logd = std::filesystem::path(self).parent_path() / "oakestra-logd";
  if (::access(logd.c_str(), X_OK) == 0) return logd.string();
  spdlog::warn("{} not found: containers' log drivers run as {}", logd.string(), self);
  return self;
}

std::unique_ptr<Runtime> makeContainerd(EventLoop& loop, const WorkerOptions& o,
                                        const std::string& log_root) {
  namespace cd = containerd;
  auto client = cd::ContainerdClient::connect(o.containerd_socket, o.containerd_namespace);
  if (!client) {
    spdlog::warn("containers unavailable: {}", client.error().message);
    return nullptr;
  }
  auto exe = logDriverExecutable();
  if (!exe) {
    spdlog::warn("containers unavailable: {}", exe.error().message);
    return nullptr;
  }
  oci::RegistryOptions registry;
  registry.insecure_registries = o.insecure_registries;
  // The puller shares the runtime's connection; the runtime owns both.
  auto* client_ptr = client->get();
  auto puller = std::make_unique<cd::ImagePuller>(
      *client_ptr, std::make_unique<oci::RegistryClient>(std::move(registry)), "overlayfs",
      oci::Platform::host());
  cd::ContainerdRuntimeOptions options;
  options.spec.cgroups_parent = "/" + o.containerd_namespace;
  options.log_uri = [exe = *exe, log_root](const InstanceSpec& spec) {
    return binaryLogUri(exe, logDirFor(log_root, spec.taskId()), LogLimits{});
  };
  auto runtime =
      std::make_unique<cd::ContainerdRuntime>(loop, std::move(*client), std::move(puller), options);
  if (auto s = runtime->probe(); !s) {
    spdlog::warn("containers unavailable: {}", s.error().message);
  }
  return runtime;
}

}  // namespace

std::vector<std::unique_ptr<Runtime>> makeRuntimes(EventLoop& loop, const WorkerOptions& options,
                                                   const std::string& log_root) {
  std::vector<std::unique_ptr<Runtime>> out;
  if (auto c = makeContainerd(loop, options, log_root)) out.push_back(std::move(c));
  return out;
}

}  // namespace oak::worker
