#pragma once
// Image references as users write them ("busybox", "ghcr.io/org/app:1.2",
// "127.0.0.1:5000/app@sha256:..."), normalised the way Docker Hub users expect.

#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::oci {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "[::1]:5000", "ghcr.io"
  std::string repository;  // "library/busybox"
  std::string tag;         // "latest" when neither tag nor digest was given
  std::string digest;      // "sha256:<64 hex>" when pinned, else empty

  // Canonical form: "docker.io/library/busybox:latest", "host/app@sha256:...", or both tag and
  // digest when both were given ("host/app:1@sha256:...").
  std::string str() const;
  // What to ask the registry for: the digest when pinned, else the tag.
  const std::string& target() const { return digest.empty() ? tag : digest; }

  // kUnprocessable naming what is wrong.
  static Result<Reference> parse(std::string_view text);

  friend bool operator==(const Reference&, const Reference&) = default;
};

}  // namespace oak::oci
