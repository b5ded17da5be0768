#include "oci/manifest.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/json.h"
#include "oci/digest.h"

namespace oak::oci {

namespace media {

std::string_view manifestAccept() {
  static const std::string accept =
      fmt::format("{}, {}, {}, {}", kOciIndex, kDockerList, kOciManifest, kDockerManifest);
  return accept;
}

bool isIndex(std::string_view media_type) {
  return media_type == kOciIndex || media_type == kDockerList;
}

bool isImageManifest(std::string_view media_type) {
  return media_type == kOciManifest || media_type == kDockerManifest;
}

}  // namespace media

namespace {

Error invalid(std::string message) {
  return makeError(ErrorCode::kUnprocessable, std::move(message));
}

Error schema1() {
  return invalid(
      "Docker schema 1 manifests are not supported (push the image again with a current tool)");
}

Result<Descriptor> parseDescriptor(const boost::json::value& v, std::string_view where) {
  const auto* o = v.if_object();
  if (!o) return invalid(fmt::format("manifest: {} is not an object", where));
  Descriptor d;
  auto media_type = json::getString(*o, "mediaType");
  auto digest = json::getString(*o, "digest");
  auto size = json::getInt(*o, "size");
  if (!media_type) return invalid(fmt::format("manifest: {}.mediaType is missing", where));
  if (!digest) return invalid(fmt::format("manifest: {}.digest is missing", where));
  if (auto ok = checkDigest(*digest); !ok) {
    return invalid(fmt::format("manifest: {}.digest: {}", where, ok.error().message));
  }
  if (!size || *size < 0) {
    return invalid(fmt::format("manifest: {}.size is missing or negative", where));
  }
  d.media_type = std::move(*media_type);
  d.digest = std::move(*digest);
  d.size = *size;
  return d;
}

Status checkSchemaVersion(const boost::json::object& document) {
  auto version = json::getInt(document, "schemaVersion");
  if (version == 1) return schema1();
  if (version != 2) return invalid("manifest: schemaVersion is not 2");
  return {};
}

}  // namespace

Result<boost::json::object> parseDocument(std::string_view bytes) {
  auto parsed = json::parse(bytes);
  if (!parsed) return invalid("manifest: " + parsed.error().message);
  if (!parsed->is_object()) return invalid("manifest: not a JSON object");
  return std::move(parsed->get_object());
}

Result<std::string> manifestMediaType(std::string_view content_type,
                                      const boost::json::object& document) {
  std::string type;
  if (auto declared = json::getString(document, "mediaType")) {
    type = std::move(*declared);
  } else {
    std::string_view header = content_type.substr(0, content_type.find(';'));
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    type = std::string(header);
  }
  if (type == media::kDockerSchema1 || type == media::kDockerSchema1Signed) return schema1();
  if (media::isIndex(type) || media::isImageManifest(type)) return type;
  // Generic types ("application/json") or none: OCI documents may omit mediaType.
  if (json::getInt(document, "schemaVersion") == 1) return schema1();
  if (document.contains("manifests")) return std::string(media::kOciIndex);
  if (document.contains("config") && document.contains("layers")) {
    return std::string(media::kOciManifest);
  }
  return invalid(fmt::format("manifest has unsupported media type '{}'", type));
}

Result<std::vector<IndexEntry>> parseIndex(const boost::json::object& document) {
  OAK_TRY(checkSchemaVersion(document));
  const auto* manifests = json::findArray(document, "manifests");
  if (!manifests) return invalid("manifest: index has no manifests array");
  std::vector<IndexEntry> entries;
  for (size_t i = 0; i < manifests->size(); ++i) {
    std::string where = fmt::format("manifests[{}]", i);
    OAK_ASSIGN_OR_RETURN(auto descriptor, parseDescriptor((*manifests)[i], where));
    IndexEntry entry{std::move(descriptor), Platform{"", "", ""}};
    if (const auto* p = json::findObject((*manifests)[i].get_object(), "platform")) {
      entry.platform.os = json::getString(*p, "os").value_or("");
      entry.platform.architecture = json::getString(*p, "architecture").value_or("");
      entry.platform.variant = json::getString(*p, "variant").value_or("");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<ImageManifest> parseImageManifest(const boost::json::object& document) {
  OAK_TRY(checkSchemaVersion(document));
  const auto* config = document.if_contains("config");
  if (!config) return invalid("manifest: config is missing");
  ImageManifest m;
  OAK_ASSIGN_OR_RETURN(m.config, parseDescriptor(*config, "config"));
  if (m.config.media_type != media::kOciConfig && m.config.media_type != media::kDockerConfig) {
    return invalid(fmt::format("manifest: config has media type '{}': not a container image",
                               m.config.media_type));
  }
  const auto* layers = json::findArray(document, "layers");
  if (!layers) return invalid("manifest: layers is missing");
  for (size_t i = 0; i < layers->size(); ++i) {
    OAK_ASSIGN_OR_RETURN(auto layer, parseDescriptor((*layers)[i], fmt::format("layers[{}]", i)));
    m.layers.push_back(std::move(layer));
  }
  return m;
}

Result<Descriptor> selectManifest(const std::vector<IndexEntry>& entries, const Platform& wanted,
                                  std::string_view image) {
  std::string offered;
  for (const auto& e : entries) {
    if (wanted.accepts(e.platform) && media::isImageManifest(e.descriptor.media_type)) {
      return e.descriptor;
    }
    // Attestations and other artifacts carry no real platform ("unknown/unknown").
    if (e.platform.architecture.empty() || e.platform.architecture == "unknown") continue;
    if (!offered.empty()) offered += ", ";
    offered += e.platform.str();
  }
  return invalid(fmt::format("image {} has no manifest for {} (has: {})", image, wanted.str(),
                             offered.empty() ? "none" : offered));
}

}  // namespace oak::oci
