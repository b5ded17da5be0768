#include "common/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/unique_fd.h"

namespace oak::process {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollStep = std::chrono::milliseconds(10);

Error sysError(const std::string& what) {
  return makeError(ErrorCode::kInternal, fmt::format("{}: {}", what, std::strerror(errno)));
}

// Everything the child does between fork and exec is async-signal-safe (the parent has threads).
[[noreturn]] void execChild(char* const* argv, int in_fd, int out_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(126);
  // A parent that waits for signals with them blocked must not pass the block on.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(126);
  // What the child writes (the broker's account file holds password hashes) stays private.
  ::umask(077);
  // Inherited descriptors (listening sockets of the parent) must not leak into the child.
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  ::execv(argv[0], argv);
  ::_exit(127);
}

Result<pid_t> forkExec(const std::vector<std::string>& args, int in_fd, int out_fd) {
  if (args.empty() || args[0].empty() || args[0][0] != '/') {
    return makeError(ErrorCode::kInvalidArgument, "binary: must be an absolute path");
  }
  if (::access(args[0].c_str(), X_OK) != 0) return sysError("cannot execute " + args[0]);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return sysError("fork");
  if (pid == 0) execChild(argv.data(), in_fd, out_fd, parent);
  return pid;
}

// Waits (bounded) for `pid`; nullopt on timeout.
std::optional<int> waitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto st = reapIfExited(pid)) return st;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollStep);
  }
}

}  // namespace

Result<pid_t> spawnDaemon(const std::vector<std::string>& argv, const std::string& output_file) {
  UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return sysError("cannot open /dev/null");
  UniqueFd out(::open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!out.valid()) return sysError("cannot open " + output_file);
  return forkExec(argv, in.get(), out.get());
}

std::optional<int> reapIfExited(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return status;
  if (r < 0) return 0;  // not our child (already reaped): treat as gone
  return std::nullopt;
}

int terminate(pid_t pid, std::chrono::milliseconds grace) {
  ::kill(pid, SIGTERM);
  if (auto st = waitExit(pid, grace)) return *st;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describeExit(int st) {
  if (WIFEXITED(st)) return fmt::format("exit code {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return fmt::format("signal {}", WTERMSIG(st));
  return "unknown status";
}

}  // namespace oak::process
