#pragma once
// Named network namespaces: a namespace kept alive by a bind mount of its nsfs file, so that it
// outlives the process that made it (instances keep their network across worker restarts).
// Nothing here switches the calling thread's namespace: work inside a namespace runs on a
// short-lived helper thread.

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "common/result.h"
#include "common/unique_fd.h"

namespace oak::worker {

// Creates a new network namespace bind-mounted at `path`; parent directories are created (0755)
// and the directory holding `path` becomes a shared mount point, so that unmounting the namespace
// later propagates to every mount namespace that saw it. Ok if `path` already is one.
Status createNetns(const std::string& path);

// Unmounts (lazily) and unlinks `path`; ok if it does not exist. The namespace dies when the
// last process and interface in it are gone.
Status removeNetns(const std::string& path);

// True iff `path` is a mounted network namespace.
bool isNetns(const std::string& path);

// An open network namespace (O_RDONLY | O_CLOEXEC), for setns() or veth placement.
Result<UniqueFd> openNetns(const std::string& path);

namespace detail {
// Runs `body` on a new thread that entered the namespace `netns_fd`, and waits for it; `name`
// identifies the namespace in errors.
Status runOnThreadInNetns(int netns_fd, const std::function<void()>& body, const std::string& name);
}  // namespace detail

// Runs `fn` (returning Status or Result<T>) in the network namespace `netns_fd` and returns its
// result, or the error of entering the namespace. Sockets opened by `fn` stay in that namespace.
template <class Fn>
std::invoke_result_t<Fn&> runInNetns(int netns_fd, Fn&& fn, const std::string& name = "") {
  std::optional<std::invoke_result_t<Fn&>> result;
  Status entered = detail::runOnThreadInNetns(
      netns_fd, [&] { result.emplace(fn()); }, name);
  if (!entered) return std::move(entered).error();
  return std::move(*result);
}

template <class Fn>
std::invoke_result_t<Fn&> runInNetns(const std::string& path, Fn&& fn) {
  Result<UniqueFd> fd = openNetns(path);
  if (!fd) return std::move(fd).error();
  return runInNetns(fd->get(), std::forward<Fn>(fn), path);
}

// Where the worker keeps the namespace of an instance:
// /run/oakestra/<worker_namespace>/netns/<task_id>.
std::string instanceNetnsPath(const std::string& worker_namespace, const std::string& task_id);

}  // namespace oak::worker
