#pragma once
// Starts a product binary as users start it (fork/exec with flags and environment), for
// black-box tests. Output goes to a log file that the test can read when something fails.
// A process may run in another network namespace (a host of a NetworkLab): the child joins it
// with setns() before exec, so the PID is the binary's own and signals reach it directly.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace oak::testing {

// A TCP port that was free a moment ago (bound and released).
uint16_t pickFreePort();

class Process {
 public:
  // `netns`: empty (the test's own network namespace), a name under /run/netns (`ip netns`), or
  // an absolute path to a namespace file. Only the network namespace changes: unlike `ip netns
  // exec`, the mount namespace stays the test's, so /sys/fs/cgroup stays visible and mounts the
  // process makes (namespace files under /run) are seen by containerd and runc. A namespace that
  // cannot be joined ends the child with 126 and the reason in the log.
  Process(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env,
          std::string log_file, std::string netns = {});
  ~Process();  // kills the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `sig` and waits (bounded) for the exit; returns the exit code, or -signal.
  int stop(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running();
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_file_;
  int status_ = 0;
};

// Polls `port` on 127.0.0.1 (or the IPv4 address `host`) until it accepts connections.
[[nodiscard]] ::testing::AssertionResult waitForPort(uint16_t port,
                                                     std::chrono::milliseconds timeout);
[[nodiscard]] ::testing::AssertionResult waitForPort(const std::string& host, uint16_t port,
                                                     std::chrono::milliseconds timeout);

// Path of a product binary (build/bin/<name>), from OAK_BIN_DIR set by CMake.
std::string binaryPath(const std::string& name);

// An executable on PATH (or /usr/bin, /usr/sbin, /bin, /usr/local/bin); empty when there is
// none. A name with a '/' is returned as it is.
std::string findOnPath(const std::string& name);

// Processes whose command line contains every one of `parts` (a part may span arguments with
// '\0' between them).
std::vector<pid_t> processesWith(const std::vector<std::string>& parts);

struct CommandResult {
  int exit_code = -1;  // -signal when killed, -1 when it could not start
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
};

// Runs a short command to its end (SIGKILL after `timeout`), in `netns` as for Process.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::string& netns = {});

}  // namespace oak::testing
