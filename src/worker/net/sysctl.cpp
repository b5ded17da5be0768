#include "worker/net/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace oak::worker {
namespace {

std::string pathOf(const std::string& name) {
  return "/proc/sys/" + name;
}

Error fail(const std::string& what, const std::string& name, int error) {
  return makeError(error == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                   what + " " + pathOf(name) + ": " + std::strerror(error));
}

}  // namespace

Result<std::string> readSysctl(const std::string& name) {
  UniqueFd fd(::open(pathOf(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail("read", name, errno);
  char buffer[256];
  const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
  if (n < 0) return fail("read", name, errno);
  std::string value(buffer, static_cast<size_t>(n));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

Status writeSysctl(const std::string& name, std::string_view value) {
  Result<std::string> current = readSysctl(name);
  if (current && *current == value) return {};
  UniqueFd fd(::open(pathOf(name).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return fail("write " + std::string(value) + " to", name, errno);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return fail("write " + std::string(value) + " to", name, errno);
  }
  return {};
}

}  // namespace oak::worker
