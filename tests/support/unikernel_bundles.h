#pragma once
// Kernel bundles for unikernel tests, made on the spot: a tiny multiboot kernel (built with
// gcc -m32) that prints to the serial port and then exits through isa-debug-exit or halts,
// tar.gz archives of any shape (hostile ones too), and an HTTP server on loopback that serves
// them.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace oak::testing {

struct TarEntry {
  std::string name;
  std::string content;
  unsigned type = 0;  // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR
  std::string link;   // symlink target, or the source of a hard link
};
TarEntry tarFile(std::string name, std::string content);
TarEntry tarFolder(std::string name);
TarEntry tarSymlink(std::string name, std::string target);
TarEntry tarHardlink(std::string name, std::string target);
TarEntry tarDevice(std::string name);

std::string packTarGz(const std::vector<TarEntry>& entries);

// A multiboot kernel printing `message` (escape sequences as in C strings, e.g. "hi\\n") on COM1,
// then exiting QEMU with `exit_code` (guest code; QEMU's status is code*2+1), or halting forever
// when there is none. `work_dir` holds the build.
Result<std::string> buildTestKernel(const std::string& work_dir, const std::string& message,
                                    std::optional<int> exit_code);

// The UDP echo guest (guest/udp_echo_kernel.c): a long-running, networked kernel that answers
// UDP on the port of its first argument (default 8080) with "unikernel <address> <peer>:<port>".
Result<std::string> buildEchoKernel(const std::string& work_dir);

// The release layout: `kernel` and a folder `files1/` holding `hello.txt`.
std::string kernelBundle(const std::string& kernel);

// Serves `files` at /k/<name> on `host` (an address of this network namespace) from its own
// thread; 404 for other names.
class FileServer {
 public:
  static Result<std::unique_ptr<FileServer>> start(std::map<std::string, std::string> files,
                                                   std::string host = "127.0.0.1");
  ~FileServer();
  std::string url(const std::string& name) const;

 private:
  struct Impl;
  explicit FileServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::testing
