#pragma once
// The OCI runtime spec (runc's config.json) of an instance: the image's defaults, the service's
// overrides (`cmd`, `environment`, `memory`, `vcpus`) and the confinement every container gets.
// Pure, so that what a container is allowed to do is reviewed and tested in one place.

#include <optional>
#include <string>

#include "common/result.h"
#include "worker/runtime/containerd/image_config.h"
#include "worker/runtime/instance_spec.h"

namespace oak::worker::containerd {

struct SpecOptions {
  std::string hostname;  // defaults to the instance's task id, shortened
  std::string cgroups_parent = "/oakestra";
  std::optional<std::string> netns_path;  // the instance's network namespace; none: the host's
  bool bind_resolv_conf = true;           // the host's /etc/resolv.conf, read-only
  // NVIDIA's OCI prestart hook (nvidia-container-runtime-hook), when installed: what gives a
  // container asking for `vgpus` its GPUs.
  std::optional<std::string> gpu_hook;
};

// kUnprocessable with the reason when the instance cannot be started from this image (no
// command at all, a user name instead of a numeric id) or on this host (GPUs asked for, no hook).
Result<std::string> buildSpec(const InstanceSpec& spec, const ImageConfig& image,
                              const SpecOptions& options);

}  // namespace oak::worker::containerd
