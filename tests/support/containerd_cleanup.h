#pragma once
// Stopped workers leave their containers running, as they should; tests remove them afterwards.

#include <signal.h>

#include <chrono>
#include <string>

#include "worker/runtime/containerd/client.h"

namespace oak::testing {

// Kills and deletes every container of `containerd_namespace` at `socket`; quiet on errors.
inline void removeContainers(const std::string& socket, const std::string& containerd_namespace) {
  auto client = worker::containerd::ContainerdClient::connect(socket, containerd_namespace);
  if (!client) return;
  auto listed = (*client)->listContainers();
  if (!listed) return;
  for (const auto& c : *listed) {
    (*client)->killTask(c.id, SIGKILL);
    (*client)->waitTask(c.id, std::chrono::seconds(5));
    (*client)->deleteTask(c.id);
    (*client)->deleteContainer(c.id);
  }
}

}  // namespace oak::testing
