#pragma once
// A private containerd for a test: its own root, state, sockets and config under a temporary
// directory, so tests neither need nor disturb a system containerd, and may run side by side.

#include <chrono>
#include <memory>
#include <string>

#include "process.h"
#include "temp_dir.h"

namespace oak::testing {

class ContainerdDaemon {
 public:
  // Starts it; `ready()` tells whether it came up. The binary is found on PATH.
  ContainerdDaemon();
  ~ContainerdDaemon();

  // Bounded wait until its socket exists (fails early if it died).
  ::testing::AssertionResult waitReady(std::chrono::milliseconds timeout);
  const std::string& socket() const { return socket_; }
  std::string log() const;
  // Stops it (SIGTERM); running shims and containers survive, as with a real restart.
  void stop();
  // Starts it again on the same directories.
  void restart();
  const TempDir& dir() const { return dir_; }

 private:
  void start();
  TempDir dir_;
  std::string binary_;
  std::string socket_;
  std::unique_ptr<Process> process_;
};

}  // namespace oak::testing
