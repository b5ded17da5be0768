#include "worker/host/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace oak::worker {
namespace {

using Clock = std::chrono::steady_clock;

Error unavailable(const std::string& program, std::string_view what) {
  return makeError(ErrorCode::kUnavailable, fmt::format("{}: {}", program, what));
}

// Waits for `pid` until `deadline`; nullopt when it is still running then.
std::optional<int> reap(pid_t pid, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    if (r < 0 && errno != EINTR) return -1;
    // Only reached when a program closed its output but keeps running: rare, so a short poll.
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Result<CommandOutput> SystemCommandRunner::run(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) {
    return makeError(ErrorCode::kInvalidArgument, "command: empty argument list");
  }
  const std::string& program = argv[0];
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return unavailable(program, std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    if (rc == ENOENT) return makeError(ErrorCode::kNotFound, program + ": program not found");
    return unavailable(program, fmt::format("cannot start: {}", std::strerror(rc)));
  }

  const auto deadline = Clock::now() + options_.timeout;
  auto timed_out = [&] {
    return unavailable(program, fmt::format("no exit within {} ms", options_.timeout.count()));
  };
  CommandOutput result;
  std::optional<Error> failure;
  std::array<char, 4096> buf{};
  while (!failure) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      failure = timed_out();
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) failure = unavailable(program, std::strerror(errno));
    if (n <= 0) continue;
    ssize_t got = ::read(fds[0], buf.data(), buf.size());
    if (got == 0) break;  // every writer closed its end
    if (got < 0) {
      if (errno != EINTR && errno != EAGAIN) failure = unavailable(program, std::strerror(errno));
      continue;
    }
    if (result.out.size() + static_cast<size_t>(got) > options_.max_output) {
      failure = unavailable(program, fmt::format("output exceeds {} bytes", options_.max_output));
      break;
    }
    result.out.append(buf.data(), static_cast<size_t>(got));
  }
  ::close(fds[0]);

  std::optional<int> code = failure ? std::nullopt : reap(pid, deadline);
  if (!code) {
    ::kill(pid, SIGKILL);
    reap(pid, Clock::time_point::max());
    return failure ? *failure : timed_out();
  }
  result.exit_code = *code;
  return result;
}

}  // namespace oak::worker
