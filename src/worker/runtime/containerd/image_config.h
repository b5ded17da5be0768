#pragma once
// The parts of an OCI image configuration (`application/vnd.oci.image.config.v1+json`, the same
// in Docker's format) that decide how a container starts and how its layers stack.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::worker::containerd {

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
  std::string user;  // "uid", "uid:gid", "name" or empty (root)
  std::string os;
  std::string architecture;
  std::vector<std::string> diff_ids;  // uncompressed layer digests, bottom first

  // kUnprocessable naming the field when the document is not a usable image config.
  static Result<ImageConfig> parse(std::string_view json);
};

// The snapshot names of the layer stack: chain[i] identifies layers 0..i applied in order
// (OCI image spec: ChainID(L0) = DiffID(L0), ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " +
// DiffID(Ln))).
std::vector<std::string> chainIds(const std::vector<std::string>& diff_ids);

}  // namespace oak::worker::containerd
