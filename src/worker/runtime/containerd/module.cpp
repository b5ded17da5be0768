#include "worker/runtime/containerd/module.h"

#include <unistd.h>

#include "oci/platform.h"
#include "oci/registry_client.h"
#include "worker/runtime/containerd/containerd_runtime.h"

namespace cd = oak::worker::containerd;

extern "C" __attribute__((visibility("default"))) oak::worker::Runtime* oak_containerd_runtime(
    oak::TaskRunner* loop, const cd::ModuleConfig* config, std::string* error) {
  auto client = cd::ContainerdClient::connect(config->socket, config->ns);
  if (!client) {
    *error = client.error().message;
    return nullptr;
  }
  oak::oci::RegistryOptions registry;
  registry.insecure_registries = config->insecure_registries;
  registry.cancelled = config->stopping;
  // The puller shares the runtime's connection; the runtime owns both.
  auto* client_ptr = client->get();
  auto puller = std::make_unique<cd::ImagePuller>(
      *client_ptr, std::make_unique<oak::oci::RegistryClient>(std::move(registry)), "overlayfs",
      oak::oci::Platform::host());
  puller->onPull(config->on_pull);
  cd::ContainerdRuntimeOptions options;
  options.log_uri = config->log_uri;
  options.spec.cgroups_parent = config->cgroups_parent;
  for (const char* hook :
       {"/usr/bin/nvidia-container-runtime-hook", "/usr/local/bin/nvidia-container-runtime-hook"}) {
    if (::access(hook, X_OK) == 0) {
      options.spec.gpu_hook = hook;
      break;
    }
  }
  auto runtime = std::make_unique<cd::ContainerdRuntime>(*loop, std::move(*client),
                                                         std::move(puller), options);
  if (auto s = runtime->probe(); !s) *error = s.error().message;
  return runtime.release();
}
