#include "oci/platform.h"

#include <fmt/format.h>
#include <sys/utsname.h>

namespace oak::oci {

namespace {

// The variant a platform means when it names none.
std::string_view effectiveVariant(const Platform& p) {
  if (!p.variant.empty()) return p.variant;
  if (p.architecture == "arm64") return "v8";
  if (p.architecture == "arm") return "v7";
  return {};
}

}  // namespace

Platform Platform::fromMachine(std::string_view machine) {
  Platform p;
  if (machine == "x86_64" || machine == "amd64") {
    p.architecture = "amd64";
  } else if (machine == "aarch64" || machine == "arm64" || machine == "armv8l") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (machine == "armv7l" || machine == "armv7") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (machine == "armv6l") {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (machine == "i386" || machine == "i686") {
    p.architecture = "386";
  } else if (machine == "ppc64le" || machine == "s390x" || machine == "riscv64") {
    p.architecture = std::string(machine);
  }
  return p;
}

Platform Platform::host() {
  utsname u{};
  if (::uname(&u) != 0) return Platform{};
  return fromMachine(u.machine);
}

Result<Platform> Platform::parse(std::string_view text) {
  Platform p;
  std::string_view parts[3];
  size_t n = 0;
  for (size_t start = 0;;) {
    size_t slash = text.find('/', start);
    std::string_view part = text.substr(start, slash == text.npos ? slash : slash - start);
    if (part.empty() || n == 3) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("platform '{}' is not OS/ARCHITECTURE[/VARIANT]", text));
    }
    parts[n++] = part;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n < 2) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("platform '{}' is not OS/ARCHITECTURE[/VARIANT]", text));
  }
  p.os = std::string(parts[0]);
  p.architecture = std::string(parts[1]);
  if (n == 3) p.variant = std::string(parts[2]);
  return p;
}

std::string Platform::str() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

bool Platform::accepts(const Platform& offered) const {
  if (offered.os != os || offered.architecture != architecture) return false;
  return variant.empty() || effectiveVariant(offered) == effectiveVariant(*this);
}

}  // namespace oak::oci
