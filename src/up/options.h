#pragma once
// Options of `oakestra up`: a whole deployment (root, one cluster, one worker) on this machine.

#include <string>

namespace CLI {
class App;
}

namespace oak::up {

struct UpOptions {
  // Everything lives below: root/, cluster/, worker/, and the logs of each daemon.
  std::string data_dir = "/var/lib/oakestra";
  std::string root_listen = "0.0.0.0:10000";
  std::string cluster_listen = "0.0.0.0:10100";
  std::string mqtt_listen = "0.0.0.0:10003";
  std::string metrics_listen = "127.0.0.1:10120";
  std::string cluster_name = "local";
  // The address printed for users and other workers; detected when empty.
  std::string advertise;
  // Start containerd when its socket is missing (and stop it again on exit).
  bool start_containerd = true;
  std::string containerd_socket = "/run/containerd/containerd.sock";
  // The worker's containerd namespace; deployments sharing a host's containerd need their own.
  std::string containerd_namespace = "oakestra";
  // Let the worker run unikernels too (QEMU).
  bool unikernel = false;
  // The worker gives instances overlay addresses (when run as root with a TUN device).
  bool overlay = true;
};

void addUpFlags(CLI::App& app, UpOptions& o);

}  // namespace oak::up
