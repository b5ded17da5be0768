#pragma once
// Kernel bundles of unikernel instances: `.tar.gz` archives holding a `kernel` file and optional
// folders (`files/`, `files1/`, ...) that the guest mounts over 9p. Downloaded once per URL into a
// cache (`<cache>/<sha256 of the URL>/<sha256 of the content>/`) and unpacked safely; later
// launches of the same URL use the cached copy without asking the server.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "worker/runtime/unikernel/archive_extract.h"

namespace oak::worker::unikernel {

struct KernelBundle {
  std::string dir;     // the unpacked archive
  std::string kernel;  // <dir>/kernel
  // Folders for 9p: mount tag ("fs0" for files/, "fs<N>" for files<N>/) and path.
  std::vector<std::pair<std::string, std::string>> shares;
  std::string digest;  // "sha256:<hex>" of the archive
};

// This machine's architecture in Go's spelling ("amd64", "arm64").
std::string hostArch();

// `code` holds one URL or several, comma-separated, in the order of `arch`: the URL for
// `host_arch`. Without `arch` a single URL is taken as is. kUnprocessable naming the field
// otherwise ("arch: no kernel for amd64 (offered: arm64)").
Result<std::string> selectKernelUrl(const std::string& code, const std::vector<std::string>& arch,
                                    const std::string& host_arch);

class KernelStore {
 public:
  // `cancelled`, polled during downloads, aborts them when it turns true (may be empty).
  explicit KernelStore(std::string cache_dir, ExtractLimits limits = {},
                       std::function<bool()> cancelled = {});

  // Blocking (download and unpack); thread-safe. Errors: kNotFound (HTTP 404), kUnavailable
  // (unreachable, other HTTP errors), kUnprocessable (hostile or corrupt archive, no `kernel`),
  // each naming the URL. Nothing of a failed fetch stays in the cache.
  Result<KernelBundle> fetch(const std::string& url);

  const std::string& cacheDir() const { return cache_dir_; }

 private:
  Result<KernelBundle> download(const std::string& url, const std::string& url_dir);

  std::string cache_dir_;
  ExtractLimits limits_;
  std::function<bool()> cancelled_;
  std::mutex mutex_;  // one fetch at a time: two launches of one URL share the download
};

}  // namespace oak::worker::unikernel
