#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace oak::files {
namespace {

Error ioError(const std::string& what, const std::string& path) {
  return makeError(ErrorCode::kInternal,
                   fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

Status ensureDirectory(const std::string& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return makeError(ErrorCode::kInternal,
                     fmt::format("cannot create directory {}: {}", path, ec.message()));
  }
  if (::chmod(path.c_str(), mode) != 0) return ioError("cannot chmod", path);
  return {};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError("cannot open", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status writeAtomic(const std::string& path, std::string_view content, unsigned mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ioError("cannot create", tmp);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return ioError("cannot write", tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    ::close(fd);
    return ioError("cannot sync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ioError("cannot rename to", path);
  return {};
}

}  // namespace oak::files
