#pragma once
// QEMU as the unikernel runtime uses it: finding the emulator for an architecture and whether KVM
// can accelerate it, the command line of one guest, and a minimal QMP client for stopping it.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
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

struct VmConfig {
  std::string name;    // -name
  std::string kernel;  // absolute path
  int64_t memory_mb = 0;
  double vcpus = 0;
  std::vector<std::pair<std::string, std::string>> shares;  // 9p mount tag, absolute folder
  std::vector<std::string> args;                            // guest application arguments
  // Relative to QEMU's working directory (the instance's run dir), so that long paths never
  // exceed the 108 bytes of a unix socket address.
  std::string console = "console.log";
  std::string qmp = "qmp.sock";
  std::string pidfile = "qemu.pid";
};

// The full command line, binary first. x86: `-M microvm` (no firmware: ~0.1 s to the guest under
// nested KVM, against seconds through SeaBIOS), isa-debug-exit at 0xf4 so that a guest can end
// with a code; arm64: `-M virt`. KVM when the host has it, otherwise TCG.
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

  // Sends {"execute": command} and returns the "return" value's object (events are skipped).
  Result<boost::json::object> execute(const std::string& command,
                                      std::chrono::milliseconds timeout);

 private:
  explicit QmpClient(int fd) : fd_(fd) {}
  Result<boost::json::object> readReply(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace oak::worker::unikernel
