#include "mqtt/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "mqtt/unique_fd.h"

namespace oak::mqtt::detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollStep = std::chrono::milliseconds(10);

Error sysError(const std::string& what) {
  return makeError(ErrorCode::kInternal, fmt::format("{}: {}", what, std::strerror(errno)));
}

// Everything the child does between fork and exec is async-signal-safe (the parent has threads).
[[noreturn]] void execChild(char* const* argv, int in_fd, int out_fd, pid_t parent,
                            bool die_with_parent) {
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);
  }
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(126);
  // Inherited descriptors (listening sockets of the parent) must not leak into the child.
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  ::execv(argv[0], argv);
  ::_exit(127);
}

Result<pid_t> forkExec(const std::vector<std::string>& args, int in_fd, int out_fd,
                       bool die_with_parent) {
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
  if (pid == 0) execChild(argv.data(), in_fd, out_fd, parent, die_with_parent);
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
  return forkExec(argv, in.get(), out.get(), true);
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

Result<CommandOutput> runCommand(const std::vector<std::string>& argv, std::string_view input,
                                 std::chrono::milliseconds timeout) {
  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  if (::pipe2(in.data(), O_CLOEXEC) != 0) return sysError("pipe");
  UniqueFd in_r(in[0]);
  UniqueFd in_w(in[1]);
  if (::pipe2(out.data(), O_CLOEXEC) != 0) return sysError("pipe");
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  OAK_ASSIGN_OR_RETURN(pid_t pid, forkExec(argv, in_r.get(), out_w.get(), false));
  in_r.reset();
  out_w.reset();

  // Input is small (well below a pipe buffer), so writing it all first cannot deadlock.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = ::write(in_w.get(), input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the helper stopped reading; its exit code tells why
    off += static_cast<size_t>(n);
  }
  in_w.reset();

  CommandOutput result;
  auto deadline = Clock::now() + timeout;
  std::array<char, 4096> buf{};
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{out_r.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t n = ::read(out_r.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf.data(), static_cast<size_t>(n));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  auto status = waitExit(pid, std::max(left, std::chrono::milliseconds(0)));
  if (!status) {
    terminate(pid, std::chrono::milliseconds(0));
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("{} did not finish within {} ms", argv[0], timeout.count()));
  }
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return result;
}

}  // namespace oak::mqtt::detail
