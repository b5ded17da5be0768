#include "worker/runtime/containerd/image_config.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "common/json.h"
#include "oci/digest.h"

namespace oak::worker::containerd {
namespace {

namespace bj = boost::json;

Result<std::vector<std::string>> strings(const bj::object& o, std::string_view key,
                                         std::string_view path) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array()) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("image config: {}.{}: expected an array of strings", path, key));
  }
  for (const auto& v : it->value().as_array()) {
    if (!v.is_string()) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("image config: {}.{}: expected an array of strings", path, key));
    }
    out.emplace_back(v.as_string());
  }
  return out;
}

}  // namespace

Result<ImageConfig> ImageConfig::parse(std::string_view text) {
  auto parsed = oak::json::parse(text);
  if (!parsed || !parsed->is_object()) {
    return makeError(ErrorCode::kUnprocessable, "image config: not a JSON object");
  }
  const auto& root = parsed->as_object();
  ImageConfig c;
  c.os = oak::json::getString(root, "os").value_or("");
  c.architecture = oak::json::getString(root, "architecture").value_or("");
  if (const auto* config = oak::json::findObject(root, "config")) {
    OAK_ASSIGN_OR_RETURN(c.entrypoint, strings(*config, "Entrypoint", "config"));
    OAK_ASSIGN_OR_RETURN(c.cmd, strings(*config, "Cmd", "config"));
    OAK_ASSIGN_OR_RETURN(c.env, strings(*config, "Env", "config"));
    c.working_dir = oak::json::getString(*config, "WorkingDir").value_or("");
    c.user = oak::json::getString(*config, "User").value_or("");
  }
  const auto* rootfs = oak::json::findObject(root, "rootfs");
  if (rootfs == nullptr) {
    return makeError(ErrorCode::kUnprocessable, "image config: rootfs: missing");
  }
  OAK_ASSIGN_OR_RETURN(c.diff_ids, strings(*rootfs, "diff_ids", "rootfs"));
  for (const auto& d : c.diff_ids) {
    if (auto s = oci::checkDigest(d); !s) {
      return makeError(ErrorCode::kUnprocessable,
                       "image config: rootfs.diff_ids: " + s.error().message);
    }
  }
  return c;
}

std::vector<std::string> chainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& d : diff_ids) {
    out.push_back(out.empty() ? d : oci::sha256Digest(out.back() + " " + d));
  }
  return out;
}

}  // namespace oak::worker::containerd
