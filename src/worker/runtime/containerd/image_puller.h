#pragma once
// Makes an image ready to run: present in containerd's content store, recorded as an image, and
// unpacked into snapshots, pulling from its registry only what is missing. Blocking: runs on a
// pool thread.
//
// Pull policy: an image that is already complete locally is used without asking the registry
// (tags do not move under running edge deployments; a digest-pinned reference is exact anyway).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "oci/registry_client.h"
#include "worker/runtime/containerd/client.h"
#include "worker/runtime/containerd/image_config.h"

namespace oak::worker::containerd {

struct PulledImage {
  std::string name;      // canonical reference, the containerd image record's name
  std::string chain_id;  // the committed snapshot of the whole layer stack
  ImageConfig config;
};

class ImagePuller {
 public:
  // Called during a pull with a human-readable progress line.
  using Progress = std::function<void(const std::string&)>;
  // Called after each pull from a registry (not for images found locally), on the pulling thread.
  using PullObserver = std::function<void(bool ok, std::chrono::steady_clock::duration took)>;

  ImagePuller(ContainerdClient& client, std::unique_ptr<oci::ImageSource> source,
              std::string snapshotter, oci::Platform platform);

  // Thread-safe. Images found ready before are answered from memory, without asking
  // containerd: call `forget` when using one failed because it is gone after all.
  Result<PulledImage> ensure(const std::string& image, const Progress& progress);
  void forget(const std::string& image);
  // Set before the first `ensure`.
  void onPull(PullObserver observer) { on_pull_ = std::move(observer); }

 private:
  Result<PulledImage> local(const oci::Reference& ref);
  Result<PulledImage> pull(const oci::Reference& ref, const Progress& progress);
  Status ingest(ContainerdClient& leased, const oci::Reference& ref,
                const oci::ResolvedImage& image, const Progress& progress);
  Result<std::string> unpack(ContainerdClient& leased, const oci::ResolvedImage& image,
                             const ImageConfig& config, const Progress& progress);

  ContainerdClient& client_;
  std::unique_ptr<oci::ImageSource> registry_;
  std::mutex pull_mu_;  // one pull at a time: they share the network and the unpacker
  std::mutex cache_mu_;
  std::map<std::string, PulledImage> ready_;  // by the reference as the service names it
  std::string snapshotter_;
  oci::Platform platform_;
  PullObserver on_pull_;
};

}  // namespace oak::worker::containerd
