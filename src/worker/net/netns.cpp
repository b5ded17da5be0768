#include "worker/net/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "common/files.h"

namespace oak::worker {
namespace {

std::string errnoText(int error) {
  return std::strerror(error);
}

Error fail(const std::string& what, int error) {
  return makeError(ErrorCode::kInternal, what + ": " + errnoText(error));
}

// Makes `dir` a shared mount point (bind-mounting it onto itself first if it is none), so that a
// namespace unmounted here is unmounted in every mount namespace that received a copy.
Status makeSharedMountPoint(const std::string& dir) {
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
  if (errno != EINVAL) return fail("make " + dir + " a shared mount", errno);
  if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
    return fail("bind-mount " + dir + " onto itself", errno);
  }
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    return fail("make " + dir + " a shared mount", errno);
  }
  return {};
}

// The placeholder the namespace is mounted on: created if absent; an existing one must be an
// empty regular file (left behind when a crash came between creating and mounting).
Status ensureMountTarget(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  if (errno != EEXIST) return fail("create " + path, errno);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail("stat " + path, errno);
  if (!S_ISREG(st.st_mode) || st.st_size != 0) {
    return makeError(ErrorCode::kConflict, path + ": exists and is not a network namespace");
  }
  return {};
}

// Unshares a fresh network namespace on a throwaway thread and pins it at `path`.
Status mountNewNetns(const std::string& path) {
  int error = 0;
  std::string step;
  auto body = [&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error = errno;
      step = "unshare a network namespace";
      return;
    }
    // thread-self: /proc/self names the main thread, whose namespace did not change.
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      error = errno;
      step = "bind-mount the new network namespace at " + path;
    }
  };
  try {
    std::thread(body).join();
  } catch (const std::system_error& e) {
    return makeError(ErrorCode::kInternal, "start a thread for " + path + ": " + e.what());
  }
  if (error != 0) return fail(step, error);
  return {};
}

}  // namespace

bool isNetns(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0 ||
      fs.f_type != static_cast<decltype(fs.f_type)>(NSFS_MAGIC)) {
    return false;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd.valid() && ::ioctl(fd.get(), NS_GET_NSTYPE) == CLONE_NEWNET;
}

Result<UniqueFd> openNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return makeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                     "open network namespace " + path + ": " + errnoText(errno));
  }
  return fd;
}

Status createNetns(const std::string& path) {
  if (isNetns(path)) return {};
  const std::string dir = std::filesystem::path(path).parent_path().string();
  OAK_TRY(files::ensureDirectory(dir, 0755));
  OAK_TRY(makeSharedMountPoint(dir));
  OAK_TRY(ensureMountTarget(path));
  Status mounted = mountNewNetns(path);
  if (!mounted) ::unlink(path.c_str());
  return mounted;
}

Status removeNetns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return fail("unmount network namespace " + path, errno);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail("remove network namespace file " + path, errno);
  }
  return {};
}

namespace detail {

Status runOnThreadInNetns(int netns_fd, const std::function<void()>& body,
                          const std::string& name) {
  int error = 0;
  auto entered = [&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    body();
  };
  try {
    std::thread(entered).join();
  } catch (const std::system_error& e) {
    return makeError(ErrorCode::kInternal,
                     std::string("start a thread for a network namespace: ") + e.what());
  }
  if (error != 0) return fail("enter network namespace " + name, error);
  return {};
}

}  // namespace detail

std::string instanceNetnsPath(const std::string& worker_namespace, const std::string& task_id) {
  return "/run/oakestra/" + worker_namespace + "/netns/" + task_id;
}

}  // namespace oak::worker
