#include "doctor/doctor_main.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>

#include "doctor/checks.h"

namespace oak::doctor {

void addDoctorFlags(CLI::App& app, DoctorOptions& o) {
  app.add_option("role", o.role, "what this machine will run: root, cluster, worker or up")
      ->check(CLI::IsMember({"root", "cluster", "worker", "up"}))
      ->capture_default_str();
  app.add_option("--parent", o.parent_url,
                 "the cluster's URL (worker) or the root's URL (cluster), to check the way there")
      ->envname("OAKESTRA_PARENT");
  app.add_option("--containerd-socket", o.containerd_socket, "containerd's API socket")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "the daemon's data directory (checked for writing)");
  app.add_flag("--unikernel", o.unikernel, "the worker will run unikernels (QEMU, KVM)");
  app.add_flag("!--no-overlay", o.overlay, "the worker will not use the overlay network");
  app.add_option("--overlay-data-plane", o.data_plane,
                 "the worker's overlay data plane: kernel (VXLAN, nftables NAT) or userspace")
      ->check(CLI::IsMember({"kernel", "userspace"}))
      ->capture_default_str();
  app.add_option("--port", o.api_port, "the API port the daemon will listen on");
  app.add_option("--mqtt-port", o.mqtt_port, "the cluster's MQTT port")->capture_default_str();
  app.add_option("--tunnel-port", o.tunnel_port, "the worker's overlay tunnel port")
      ->capture_default_str();
}

int runDoctor(const DoctorOptions& o) {
  auto findings = runChecks(o);
  std::fputs(render(findings, ::isatty(STDOUT_FILENO) != 0).c_str(), stdout);
  return exitCode(findings);
}

}  // namespace oak::doctor
