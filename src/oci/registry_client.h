#pragma once
// Pulls images from OCI distribution (registry v2) servers: resolves a reference to the image
// manifest of one platform plus its verified config, and streams blobs with digest checks.
// Calls block: run them on a blocking pool, never on the event loop. One client may serve
// several calls on different threads at once (tokens are shared, connections are per call).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "oci/reference.h"

namespace oak::oci {

struct ResolvedImage {
  Reference reference;
  Descriptor manifest;              // the platform's image manifest (after index selection)
  std::string manifest_bytes;       // exactly as served; sha256(manifest_bytes) == manifest.digest
  std::optional<Descriptor> index;  // when the reference named an index or manifest list
  std::string index_bytes;
  Descriptor config;
  std::string config_bytes;  // fetched and verified
  std::vector<Descriptor> layers;
};

struct RegistryOptions {
  std::vector<std::string> insecure_registries;  // "host:port" spoken to over plain HTTP
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds low_speed_timeout{30};  // abort when below 1 KiB/s for this long
  std::string user_agent = "oakestra";
  std::optional<std::pair<std::string, std::string>> credentials;  // user, password
  std::function<bool()> cancelled;  // polled during transfers; true aborts with kUnavailable
  const Clock* clock = nullptr;     // token expiry; the system clock when null
};

using BlobSink = std::function<Status(std::string_view chunk)>;

// The seam the container runtime pulls through (a fake can stand in for a registry).
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual Result<ResolvedImage> resolve(const Reference& ref, const Platform& platform) = 0;
  // Streams the blob to `sink` and checks its size and digest at the end: on an error the caller
  // discards what it wrote. A sink error aborts the transfer with that error. `offset` > 0
  // resumes with a Range request; then only `d.size` is checked unless `prefix` (fed with the
  // first `offset` bytes, e.g. re-read from the partial file) lets the digest be checked too.
  virtual Status fetchBlob(const Reference& ref, const Descriptor& d, const BlobSink& sink,
                           int64_t offset = 0, const Sha256* prefix = nullptr) = 0;
};

class RegistryClient final : public ImageSource {
 public:
  explicit RegistryClient(RegistryOptions options);
  ~RegistryClient() override;
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // Errors name the image: kNotFound (unknown repository, tag or digest), kUnavailable
  // (unreachable, timeout, 5xx, 429, cancelled), kUnauthenticated (refused after authenticating),
  // kPermissionDenied (403), kUnprocessable (schema 1, no manifest for the platform, digest or
  // size mismatch, unsupported digest algorithm, manifest over 4 MiB).
  Result<ResolvedImage> resolve(const Reference& ref, const Platform& platform) override;
  Status fetchBlob(const Reference& ref, const Descriptor& d, const BlobSink& sink,
                   int64_t offset = 0, const Sha256* prefix = nullptr) override;

  // "http" or "https" for a registry (plain HTTP for loopback and insecure registries).
  std::string schemeFor(std::string_view registry) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Manifests and configs larger than this are refused before they are read to the end.
inline constexpr int64_t kMaxManifestBytes = 4 << 20;

}  // namespace oak::oci
