#pragma once
// Starts a product binary as users start it (fork/exec with flags and environment), for
// black-box tests. Output goes to a log file that the test can read when something fails.

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
  Process(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env,
          std::string log_file);
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

// Polls `port` on 127.0.0.1 until it accepts connections.
[[nodiscard]] ::testing::AssertionResult waitForPort(uint16_t port,
                                                     std::chrono::milliseconds timeout);

// Path of a product binary (build/bin/<name>), from OAK_BIN_DIR set by CMake.
std::string binaryPath(const std::string& name);

}  // namespace oak::testing
