#pragma once
// A private OCI registry for tests: the Debian `docker-registry` on 127.0.0.1 (or another local
// address) with its storage in a temporary directory, and helpers that build small busybox images
// with `umoci` and push them with `skopeo`. Nothing is pulled from the Internet.
//
//   auto registry = LocalRegistry::start();
//   ASSERT_TRUE(registry) << registry.error().message;
//   BusyboxImageOptions options;
//   options.cmd = {"sleep", "60"};
//   auto image = pushBusyboxImage(**registry, "app", "v1", options);
//   ASSERT_TRUE(image) << image.error().message;
//   // image->reference == "127.0.0.1:PORT/app:v1", image->digest == "sha256:..."

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "process.h"
#include "temp_dir.h"

namespace oak::testing {

struct LocalRegistryOptions {
  // The IPv4 address it listens on. A NetworkLab's gateway() makes it reachable from the lab's
  // hosts; workers there then need `--insecure-registry <host()>` (plain HTTP off loopback).
  std::string address = "127.0.0.1";
};

class LocalRegistry {
 public:
  // Starts `docker-registry serve` on a free port and waits (bounded) until /v2/ answers.
  static Result<std::unique_ptr<LocalRegistry>> start(LocalRegistryOptions options = {});
  ~LocalRegistry();  // stops the registry (by PID) and removes its storage
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  // "ADDRESS:PORT" ("127.0.0.1:PORT" by default): the registry part of image references. Plain
  // HTTP, which workers use by themselves for loopback only.
  std::string host() const;
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // Stops the registry early, e.g. to test pulls from a registry that went away.
  void stop();
  std::string log() const;

 private:
  LocalRegistry() = default;
  TempDir dir_;
  std::string address_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

struct BusyboxImageOptions {
  // Image config. Every busybox applet is linked in /bin (sh, echo, sleep, cat, wget, nc, ...).
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd = {"sh"};
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  std::string working_dir;
  // Push a Docker schema 2 manifest (and manifest list) instead of the OCI ones.
  bool docker_format = false;
  // Files added on top, one layer each: {path on this machine, absolute path in the image}. Mode
  // and owner are kept; the parent directory must exist in the image (/bin, /etc, /tmp do).
  //   options.extra_files = {{binaryPath("oak-nettool"), "/bin/nettool"}};
  std::vector<std::pair<std::string, std::string>> extra_files;
};

struct PushedImage {
  std::string reference;  // "ADDRESS:PORT/NAME:TAG"
  std::string digest;     // manifest digest, "sha256:..."
  std::string media_type;
  int64_t size = 0;  // manifest size in bytes
};

// Builds a one-layer image from /bin/busybox (about 1 MB compressed; the layer is built once
// per test process and reused) and pushes it as NAME:TAG.
Result<PushedImage> pushBusyboxImage(const LocalRegistry& registry, const std::string& name,
                                     const std::string& tag,
                                     const BusyboxImageOptions& options = {});

// "busybox:v1" in a registry on loopback started once per test binary (kept until it exits);
// "" after reporting a failure.
std::string sharedBusyboxImage();

struct PushedIndex {
  std::string reference;  // "ADDRESS:PORT/NAME:TAG", naming the index
  std::string digest;     // index digest
  // Per platform ("linux/arm64/v8"), the image manifest the index names.
  std::vector<std::pair<std::string, PushedImage>> manifests;
};

// Pushes one image per platform ("os/architecture[/variant]") and an index naming them under
// NAME:TAG. All carry the same busybox layer of this machine; only the config's os and
// architecture and the index entries differ, so the foreign ones are for selection, not for
// running. Each image is also tagged TAG-OS-ARCH[-VARIANT].
Result<PushedIndex> pushMultiPlatformImage(
    const LocalRegistry& registry, const std::string& name, const std::string& tag,
    const std::vector<std::string>& platforms = {"linux/amd64", "linux/arm64/v8"},
    const BusyboxImageOptions& options = {});

}  // namespace oak::testing
