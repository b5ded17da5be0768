#include "worker/agent/options.h"

#include <CLI/CLI.hpp>

namespace oak::worker {

void addWorkerFlags(CLI::App& app, WorkerOptions& o) {
  app.add_option("--cluster", o.cluster_url, "URL of the cluster, e.g. http://cluster:10100")
      ->envname("OAKESTRA_CLUSTER")
      ->required();
  app.add_option("--name", o.name, "name of this worker (default: the host name)")
      ->envname("OAKESTRA_WORKER_NAME");
  app.add_option("--data-dir", o.data_dir, "directory for the worker's state")
      ->envname("OAKESTRA_DATA_DIR")
      ->capture_default_str();
  app.add_option("--token", o.token, "the cluster's worker token")
      ->envname("OAKESTRA_TOKEN")
      ->required();
  app.add_option("--tunnel-port", o.tunnel_port, "UDP port of the overlay tunnel")
      ->envname("OAKESTRA_TUNNEL_PORT")
      ->capture_default_str();
  app.add_option("--metrics-listen", o.metrics_listen, "HOST:PORT of the metrics endpoint")
      ->envname("OAKESTRA_METRICS_LISTEN")
      ->capture_default_str();
  app.add_option("--location", o.location, "LAT,LON of this worker")->envname("OAKESTRA_LOCATION");
  app.add_option("--report-interval", o.report_interval,
                 "seconds between messages to the cluster (a heartbeat when nothing else is due)")
      ->envname("OAKESTRA_REPORT_INTERVAL")
      ->check(CLI::Range(1, 600))
      ->default_str("15");
  app.add_option("--full-report-interval", o.full_report_interval,
                 "seconds between full capacity reports when nothing changes")
      ->envname("OAKESTRA_FULL_REPORT_INTERVAL")
      ->check(CLI::Range(1, 3600))
      ->default_str("300");
  app.add_option("--containerd-socket", o.containerd_socket, "containerd's API socket")
      ->envname("OAKESTRA_CONTAINERD_SOCKET")
      ->capture_default_str();
  app.add_option("--containerd-namespace", o.containerd_namespace,
                 "containerd namespace of this worker's containers")
      ->envname("OAKESTRA_CONTAINERD_NAMESPACE")
      ->capture_default_str();
  app.add_option("--insecure-registry", o.insecure_registries,
                 "HOST:PORT of a registry reached over plain HTTP (repeatable)")
      ->envname("OAKESTRA_INSECURE_REGISTRIES")
      ->delimiter(',');
  app.add_flag("--leave-on-exit", o.leave_on_exit,
               "when stopped, remove every instance and have the cluster place them again "
               "(default: they keep running, and the worker re-attaches when it restarts)");
  app.add_flag("--unikernel", o.unikernel, "run unikernel instances under QEMU")
      ->envname("OAKESTRA_UNIKERNEL");
  app.add_flag("--unikernel-no-kvm", o.unikernel_no_kvm,
               "run unikernels under software emulation even where KVM works")
      ->envname("OAKESTRA_UNIKERNEL_NO_KVM");
  app.add_flag("--overlay", o.overlay,
               "give every instance its own network namespace on the overlay (needs root)")
      ->envname("OAKESTRA_OVERLAY");
  app.add_option("--overlay-data-plane", o.data_plane,
                 "who moves overlay packets: kernel (VXLAN and nftables NAT) or userspace (the "
                 "proxy, for kernels without VXLAN); the same on every worker")
      ->envname("OAKESTRA_OVERLAY_DATA_PLANE")
      ->check(CLI::IsMember({"kernel", "userspace"}))
      ->capture_default_str();
  app.add_option("--advertise-address", o.advertise_address,
                 "address other workers send overlay traffic to (default: this host's address "
                 "on its default route)")
      ->envname("OAKESTRA_ADVERTISE_ADDRESS");
  app.add_option("--bridge", o.bridge, "name of the instance bridge")
      ->envname("OAKESTRA_BRIDGE")
      ->capture_default_str();
}

}  // namespace oak::worker
