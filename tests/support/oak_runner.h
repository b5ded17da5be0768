#pragma once
// Runs the `oak` CLI as users run it, for black-box tests: its own session file under a test's
// directory (OAK_CONFIG, HOME), only the environment given (no OAK_* of the caller leaks in),
// stdout and stderr kept apart.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "process.h"
#include "temp_dir.h"

namespace oak::testing {

struct OakRun {
  int exit_code = -1;  // -signal when killed
  std::string out;
  std::string err;
};

// "exit N", then stdout and stderr: for failure messages.
std::string describe(const OakRun& r);

class OakRunner {
 public:
  explicit OakRunner(const TempDir& dir) : dir_(dir) {}

  std::map<std::string, std::string> environment(
      const std::map<std::string, std::string>& extra = {}) const;
  std::string configPath() const { return dir_.file("oak-home/config.json"); }

  // Runs `oak args...` to its end; killed after `timeout`.
  OakRun run(std::vector<std::string> args, const std::map<std::string, std::string>& extra = {},
             std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

  // `oak` left running (for -f), its output (stdout and stderr) in `log_name`.
  std::unique_ptr<Process> start(std::vector<std::string> args, const std::string& log_name) const;

  static std::string readAll(const std::string& path);

 private:
  const TempDir& dir_;
};

}  // namespace oak::testing
