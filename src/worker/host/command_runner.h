#pragma once
// Short helper commands the worker runs to learn about the host (nvidia-smi), behind an
// interface so that tests script their output instead of needing the hardware.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace oak::worker {

struct CommandOutput {
  int exit_code = 0;  // 128 + N when killed by signal N, as shells report it
  std::string out;    // standard output; standard error is discarded
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs `argv` (argv[0] is looked up in PATH) to completion and captures its output. Blocks the
  // calling thread. kNotFound when the program does not exist; kUnavailable when it cannot be
  // started, writes too much or does not finish in time (it is then killed).
  virtual Result<CommandOutput> run(const std::vector<std::string>& argv) = 0;
};

class SystemCommandRunner final : public CommandRunner {
 public:
  struct Options {
    // nvidia-smi can hang for a long time when the driver is wedged.
    std::chrono::milliseconds timeout{5000};
    size_t max_output = size_t{1} << 20;
  };

  SystemCommandRunner() : SystemCommandRunner(Options{}) {}
  explicit SystemCommandRunner(Options options) : options_(options) {}

  Result<CommandOutput> run(const std::vector<std::string>& argv) override;

 private:
  Options options_;
};

}  // namespace oak::worker
