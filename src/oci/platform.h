#pragma once
// The platform an image must run on, in the OCI spelling (GOOS/GOARCH and a variant).

#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::oci {

struct Platform {
  std::string os = "linux";
  std::string architecture;  // "amd64", "arm64", "arm", ...
  std::string variant;       // "v8", "v7", ... or empty

  // This machine, from uname: x86_64 -> amd64, aarch64 -> arm64/v8, armv7l -> arm/v7.
  static Platform host();
  // "linux/amd64", "linux/arm/v7"; kUnprocessable when malformed.
  static Result<Platform> parse(std::string_view text);
  // Maps a kernel machine name (uname -m) to the OCI spelling; empty fields when unknown.
  static Platform fromMachine(std::string_view machine);

  // "linux/amd64", "linux/arm/v7".
  std::string str() const;

  // Whether an image built for `offered` runs here: same os and architecture, and the same
  // variant when this platform names one. A missing variant reads as v8 on arm64 and v7 on arm.
  bool accepts(const Platform& offered) const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

}  // namespace oak::oci
