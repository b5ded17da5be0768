#include "worker/runtime/unikernel/archive_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace oak::worker::unikernel {
namespace {

Error bad(std::string_view entry, std::string_view what) {
  return makeError(ErrorCode::kUnprocessable, fmt::format("archive: {}: {}", entry, what));
}

Error ioError(const std::string& path, std::string_view what) {
  return makeError(ErrorCode::kInternal,
                   fmt::format("archive: {} {}: {}", what, path, std::strerror(errno)));
}

// Components of a relative archive path, without "." and empty ones; an absolute path or ".."
// is an error naming the entry.
Result<std::vector<std::string>> splitEntryPath(std::string_view path) {
  if (path.empty()) return bad("(empty name)", "entry without a name");
  if (path.front() == '/') return bad(path, "absolute path");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") return bad(path, "path leaves the archive ('..')");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string join(const std::string& root, const std::vector<std::string>& parts, size_t n) {
  std::string out = root;
  for (size_t i = 0; i < n; ++i) out += "/" + parts[i];
  return out;
}

// A symlink at depth `depth` (number of directories above it inside the root) may climb with
// leading ".." only as far as the root and must not use ".." after a name: a name may itself be
// a link, which would make a later ".." climb from somewhere else.
Status checkLinkTarget(std::string_view entry, std::string_view target, size_t depth) {
  if (target.empty()) return bad(entry, "symlink without a target");
  if (target.front() == '/') {
    return bad(entry, fmt::format("symlink to absolute path '{}'", target));
  }
  size_t ups = 0;
  bool named = false;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    std::string_view part = target.substr(start, end - start);
    if (part == "..") {
      if (named) {
        return bad(entry, fmt::format("symlink target '{}' uses '..' after a name", target));
      }
      if (++ups > depth) {
        return bad(entry, fmt::format("symlink to '{}' leaves the folder", target));
      }
    } else if (!part.empty() && part != ".") {
      named = true;
    }
    start = end + 1;
  }
  return {};
}

// Creates the parent directories of an entry; none of them may be a symlink.
Status makeParents(const std::string& root, const std::vector<std::string>& parts,
                   std::string_view entry) {
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string dir = join(root, parts, i);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) return bad(entry, "path goes through a symlink");
      if (!S_ISDIR(st.st_mode)) return bad(entry, "path goes through a file");
      continue;
    }
    if (::mkdir(dir.c_str(), 0755) != 0) return ioError(dir, "mkdir");
  }
  return {};
}

Status writeFile(archive* a, const std::string& path, std::string_view entry, uint64_t& total,
                 const ExtractLimits& limits, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (mode & 0755) | 0600);
  if (fd < 0) {
    if (errno == EEXIST) return bad(entry, "duplicate entry");
    return ioError(path, "create");
  }
  Status result;
  char buf[64 * 1024];
  while (true) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      result = bad(entry, fmt::format("corrupt data: {}", archive_error_string(a)));
      break;
    }
    total += static_cast<uint64_t>(n);
    if (total > limits.max_bytes) {
      result = bad(entry, fmt::format("archive unpacks to more than {} bytes", limits.max_bytes));
      break;
    }
    if (::write(fd, buf, static_cast<size_t>(n)) != n) {
      result = ioError(path, "write");
      break;
    }
  }
  ::close(fd);
  return result;
}

}  // namespace

Status extractArchive(const std::string& archive_path, const std::string& dest,
                      const ExtractLimits& limits) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return makeError(
        ErrorCode::kUnprocessable,
        fmt::format("archive: corrupt or not a tar archive: {}", archive_error_string(a.get())));
  }
  uint64_t total = 0;
  uint64_t entries = 0;
  while (true) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return makeError(
          ErrorCode::kUnprocessable,
          fmt::format("archive: corrupt or not a tar archive: {}", archive_error_string(a.get())));
    }
    if (++entries > limits.max_entries) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("archive: more than {} entries", limits.max_entries));
    }
    const char* raw_name = archive_entry_pathname(e);
    std::string name = raw_name != nullptr ? raw_name : "";
    OAK_ASSIGN_OR_RETURN(auto parts, splitEntryPath(name));
    if (parts.empty()) continue;  // "./"
    // Declared sizes count too, so that an oversize archive fails before it is written.
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
        total + static_cast<uint64_t>(archive_entry_size(e)) > limits.max_bytes) {
      return bad(name, fmt::format("archive unpacks to more than {} bytes", limits.max_bytes));
    }
    OAK_TRY(makeParents(dest, parts, name));
    std::string path = join(dest, parts, parts.size());

    if (const char* hard = archive_entry_hardlink(e); hard != nullptr) {
      auto target = splitEntryPath(hard);
      if (!target || target->empty()) return bad(name, fmt::format("hard link to '{}'", hard));
      std::string target_path = join(dest, *target, target->size());
      struct stat st {};
      if (::lstat(target_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return bad(name,
                   fmt::format("hard link to '{}', which is not a file of the archive", hard));
      }
      if (::link(target_path.c_str(), path.c_str()) != 0) return ioError(path, "link");
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
          if (!S_ISDIR(st.st_mode)) return bad(name, "directory over another entry");
        } else if (::mkdir(path.c_str(), 0755) != 0) {
          return ioError(path, "mkdir");
        }
        break;
      }
      case AE_IFREG:
        OAK_TRY(writeFile(a.get(), path, name, total, limits, archive_entry_perm(e)));
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        OAK_TRY(checkLinkTarget(name, target != nullptr ? target : "", parts.size() - 1));
        if (::symlink(target, path.c_str()) != 0) {
          if (errno == EEXIST) return bad(name, "duplicate entry");
          return ioError(path, "symlink");
        }
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        return bad(name, "device files are not allowed");
      case AE_IFIFO:
        return bad(name, "FIFOs are not allowed");
      default:
        return bad(name, "unsupported entry type");
    }
  }
  return {};
}

}  // namespace oak::worker::unikernel
