#pragma once
// QEMU as the unikernel runtime uses it: finding the emulator for an architecture and whether KVM
// can accelerate it, the command line of one guest, and a minimal QMP client for stopping it.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace oak::worker::unikernel {

struct QemuHost {
  std::string arch;    // Go spelling: amd64, arm64
  std::string binary;  // absolute path; empty when not installed
  bool kvm = false;    // /dev/kvm opens read-write and the guest architecture is the host's
  std::string version;

  bool available() const { return !binary.empty(); }
  // "KVM" or "emulation (no KVM: <why>)" for logs and reports.
  std::string accelerationNote() const { return kvm ? "KVM" : "emulation"; }
};

// Looks for qemu-system-<arch> in `search_path` (colon-separated, $PATH when empty), runs
// `--version`, and tries /dev/kvm.
QemuHost probeQemu(const std::string& arch, const std::string& search_path = "");

// The guest's network interface: a virtio-net device on a TAP of the namespace QEMU runs in,
// and the addresses the guest configures itself from its kernel arguments.
struct GuestNic {
  std::string tap = "tap0";
  std::string mac;      // "02:6f:0a:12:00:05"
  std::string address;  // "10.18.0.5"
  std::string gateway;  // "10.18.0.1"
  std::string netmask;  // "255.255.255.192"
  int mtu = 0;          // announced to the guest (virtio host_mtu); 0: not announced
};

// The NIC of an instance from its spec's `nsip` ("10.18.0.5/26"), `gateway` and `mtu`;
// kInvalidArgument naming the field. The MAC is 02:6f followed by the address's four octets:
// stable across restarts, locally administered, unique as the address is.
Result<GuestNic> guestNic(const std::string& nsip, const std::string& gateway, int mtu);

struct VmConfig {
  std::string name;    // -name
  std::string kernel;  // absolute path
  int64_t memory_mb = 0;
  double vcpus = 0;
  std::vector<std::pair<std::string, std::string>> shares;  // 9p mount tag, absolute folder
  std::vector<std::string> args;                            // guest application arguments
  std::optional<GuestNic> nic;
  // Relative to QEMU's working directory (the instance's run dir), so that long paths never
  // exceed the 108 bytes of a unix socket address.
  std::string console = "console.log";
  std::string qmp = "qmp.sock";
  std::string pidfile = "qemu.pid";
};

// The full command line, binary first. x86: `-M microvm` (no firmware: ~0.1 s to the guest under
// nested KVM, against seconds through SeaBIOS), isa-debug-exit at 0xf4 so that a guest can end
// with a code; arm64: `-M virt`. KVM when the host has it, otherwise TCG. With a NIC, the kernel
// arguments start with Unikraft's `netdev.ipv4_addr=... netdev.ipv4_gw_addr=...
// netdev.ipv4_subnet_mask=...`, separated from the application's by `--`.
std::vector<std::string> qemuCommand(const QemuHost& host, const VmConfig& vm);

// QEMU's exit status as the guest's exit code: isa-debug-exit makes QEMU exit with
// (code << 1) | 1, a normal shutdown with 0.
int guestExitCode(int qemu_status);

// One QMP connection (unix socket): greeting and capabilities negotiation on connect, then
// commands. Blocking with deadlines; for pool threads.
class QmpClient {
 public:
  // `path` may be long: it is reached through its directory's descriptor.
  static Result<QmpClient> connect(const std::string& path, std::chrono::milliseconds timeout);
  QmpClient(QmpClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  QmpClient& operator=(QmpClient&&) = delete;
  ~QmpClient();

  // Sends {"execute": command, "arguments": arguments} and returns the "return" value (events
  // are skipped; arguments are left out when empty).
  Result<boost::json::value> execute(const std::string& command, std::chrono::milliseconds timeout,
                                     const boost::json::object& arguments = {});

 private:
  explicit QmpClient(int fd) : fd_(fd) {}
  Result<boost::json::object> readReply(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace oak::worker::unikernel
