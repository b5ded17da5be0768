#include "up/options.h"

#include <CLI/CLI.hpp>

namespace oak::up {

void addUpFlags(CLI::App& app, UpOptions& o) {
  app.add_option("--data-dir", o.data_dir, "directory for all state and logs")
      ->envname("OAKESTRA_DATA_DIR")
      ->capture_default_str();
  app.add_option("--root-listen", o.root_listen, "HOST:PORT of the API (and dashboard)")
      ->capture_default_str();
  app.add_option("--cluster-listen", o.cluster_listen, "HOST:PORT where workers register")
      ->capture_default_str();
  app.add_option("--mqtt-listen", o.mqtt_listen, "HOST:PORT of the cluster's broker")
      ->capture_default_str();
  app.add_option("--metrics-listen", o.metrics_listen, "HOST:PORT of the worker's local endpoint")
      ->capture_default_str();
  app.add_option("--cluster-name", o.cluster_name, "name of the cluster")->capture_default_str();
  app.add_option("--advertise", o.advertise,
                 "address users and other workers reach this machine at (default: detected)");
  app.add_option("--containerd-socket", o.containerd_socket, "containerd's API socket")
      ->capture_default_str();
  app.add_option("--containerd-namespace", o.containerd_namespace,
                 "containerd namespace of the worker's containers")
      ->capture_default_str();
  app.add_flag("!--no-containerd", o.start_containerd,
               "do not start containerd when it is not running");
  app.add_flag("--unikernel", o.unikernel, "let the worker run unikernels (QEMU)");
  app.add_flag("!--no-overlay", o.overlay,
               "instances share this machine's network instead of getting overlay addresses");
}

}  // namespace oak::up
