#pragma once
// Options of `oakestra worker`. Each field is a flag, an environment variable and a config-file
// key (see `addWorkerFlags`). Several workers can share a host with different names, data
// directories and ports.

#include <chrono>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace oak::worker {

struct WorkerOptions {
  // URL of the cluster's worker API, e.g. http://cluster:10100.
  std::string cluster_url;
  // The worker's name in its cluster (default: the host name).
  std::string name;
  // Where the worker keeps its state.
  std::string data_dir = "/var/lib/oakestra/worker";
  // The cluster's worker token (<cluster data dir>/worker-token).
  std::string token;
  // UDP port of the overlay tunnel.
  uint16_t tunnel_port = 50103;
  // HOST:PORT of the local metrics endpoint.
  std::string metrics_listen = "127.0.0.1:10120";
  // "LAT,LON" of the worker, for geo constraints; empty if unknown.
  std::string location;
  // The cluster hears from the worker at least this often (a heartbeat when nothing else is
  // due); a capacity report goes out at once when capacity changes noticeably.
  std::chrono::seconds report_interval{15};
  // A full capacity report goes out at least this often even when nothing changed.
  std::chrono::seconds full_report_interval{300};
  // containerd's socket; the container runtime is offered only when containerd answers there.
  std::string containerd_socket = "/run/containerd/containerd.sock";
  // containerd namespace of this worker's containers (also their cgroup parent): workers sharing
  // a host and its containerd need different ones.
  std::string containerd_namespace = "oakestra";
  // Registries ("host:port") spoken to over plain HTTP besides those on loopback addresses.
  std::vector<std::string> insecure_registries;
  // Run `unikernel` instances under QEMU (KVM when /dev/kvm works, software emulation otherwise).
  bool unikernel = false;
  // With `unikernel`: software emulation (TCG) even where KVM works.
  bool unikernel_no_kvm = false;
  // Instances get their own network namespaces on the overlay (bridge, TUN proxy, tunnel).
  bool overlay = false;
  // Who moves overlay packets: "kernel" (VXLAN and nftables NAT) or "userspace" (the proxy).
  // Every worker of a deployment must use the same.
  std::string data_plane = "kernel";
  // At SIGINT/SIGTERM: leave the cluster and remove every instance before exiting (oakestra up);
  // otherwise instances keep running and a restarted worker re-attaches to them.
  bool leave_on_exit = false;
  // The underlay address other workers reach this one at; empty: detected.
  std::string advertise_address;
  // Names of the host devices of the overlay.
  std::string bridge = "oak0";
  std::string tun = "oaktun0";
};

void addWorkerFlags(CLI::App& app, WorkerOptions& o);

}  // namespace oak::worker
