#pragma once
// `oakestra doctor`: checks what a root, cluster or worker needs on this machine and says how to
// fix each problem. Every check is a small function of its inputs (paths, ports, URLs), so tests
// point them at temporary files and local servers.

#include <functional>
#include <string>
#include <vector>

namespace oak::doctor {

enum class Outcome { kOk, kWarning, kProblem };

struct Finding {
  std::string check;  // "containerd"
  Outcome outcome = Outcome::kOk;
  std::string detail;  // what was found
  std::string fix;     // how to fix it (problems and warnings)
};

struct DoctorOptions {
  std::string role = "worker";  // root | cluster | worker | up
  std::string parent_url;       // cluster URL (worker) or root URL (cluster); empty: not checked
  std::string containerd_socket = "/run/containerd/containerd.sock";
  std::string data_dir;               // must be creatable/writable
  bool unikernel = false;             // worker: QEMU and KVM matter
  bool overlay = true;                // worker: TUN, namespaces, nftables matter
  std::string data_plane = "kernel";  // worker with overlay: kernel (VXLAN, NAT) or userspace
  uint16_t api_port = 0;              // root 10000, cluster 10100; 0: the role's default
  uint16_t mqtt_port = 10003;
  uint16_t tunnel_port = 50103;
  std::string dev_dir = "/dev";      // for tests
  std::string bin_dir = "/usr/bin";  // where runc, mosquitto, qemu are looked for
};

// The checks of the role, in a useful order.
std::vector<Finding> runChecks(const DoctorOptions& o);

// One line per finding ("  ok  containerd  answers at /run/...") and a summary; returns the
// text. `color` adds ANSI colours.
std::string render(const std::vector<Finding>& findings, bool color);
// 0 when no finding is a problem, 1 otherwise.
int exitCode(const std::vector<Finding>& findings);

// Individual checks (also used by `oakestra up` to explain what is missing).
Finding checkUnixSocket(const std::string& name, const std::string& path, const std::string& fix);
Finding checkExecutable(const std::string& name, const std::string& path, const std::string& fix);
Finding checkTcpPortFree(const std::string& name, uint16_t port);
Finding checkUdpPortFree(const std::string& name, uint16_t port);
// In a throwaway network namespace: a VXLAN device and an nftables NAT table with `numgen`, what
// the overlay's kernel data plane is made of.
Finding checkKernelDataPlane();
// The overlay's UDP port; when it is taken, says whether the overlay's VXLAN device holds it.
Finding checkTunnelPort(uint16_t port);
Finding checkKvm(const std::string& dev_dir);
Finding checkTun(const std::string& dev_dir);
Finding checkNetworkNamespaces();
Finding checkDataDir(const std::string& path);
// GET <url>/healthz (or the URL itself) within 3 s; also compares the server's Date header with
// this machine's clock (more than 5 s apart is a problem: tokens and leases depend on it).
Finding checkParent(const std::string& name, const std::string& url);

}  // namespace oak::doctor
