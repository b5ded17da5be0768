#pragma once
// Manifests as registries serve them: OCI image indexes and Docker manifest lists (one manifest
// per platform), OCI image manifests and Docker schema 2 manifests. Docker schema 1 is refused.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/platform.h"

namespace oak::oci {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";

// The Accept header of manifest requests: the four supported types.
std::string_view manifestAccept();
bool isIndex(std::string_view media_type);
bool isImageManifest(std::string_view media_type);
}  // namespace media

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

struct IndexEntry {
  Descriptor descriptor;
  Platform platform;  // empty architecture when the entry has none
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

// Parses a manifest document (a JSON object); kUnprocessable when it is not one.
Result<boost::json::object> parseDocument(std::string_view bytes);

// The media type of a served manifest: the document's own `mediaType`, else the Content-Type
// (parameters ignored), else guessed from its shape. Schema 1 and unknown types are refused.
Result<std::string> manifestMediaType(std::string_view content_type,
                                      const boost::json::object& document);

Result<std::vector<IndexEntry>> parseIndex(const boost::json::object& document);
Result<ImageManifest> parseImageManifest(const boost::json::object& document);

// The first entry whose platform `wanted` accepts; kUnprocessable
// "image X has no manifest for linux/arm64 (has: linux/amd64, linux/arm/v7)" otherwise.
Result<Descriptor> selectManifest(const std::vector<IndexEntry>& entries, const Platform& wanted,
                                  std::string_view image);

}  // namespace oak::oci
