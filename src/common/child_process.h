#pragma once
// Just enough process control for daemons we start (the broker, `oakestra up`): start one with its
// output in a file, and stop or reap children with bounded waits.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace oak::process {

// Starts argv[0] (an absolute path) with stdin from /dev/null and stdout/stderr appended to
// `output_file`, inheriting no other descriptor. The child gets SIGTERM when the thread that
// spawned it ends (PR_SET_PDEATHSIG), so a crashed cluster leaves no broker holding its port;
// spawn from a long-lived thread (main, the loop, a pool thread of the loop).
Result<pid_t> spawnDaemon(const std::vector<std::string>& argv, const std::string& output_file);

// Reaps `pid` if it has exited; returns its wait status, or nullopt while it runs.
std::optional<int> reapIfExited(pid_t pid);

// Sends SIGTERM, waits up to `grace`, then SIGKILLs. Returns the wait status.
int terminate(pid_t pid, std::chrono::milliseconds grace);

// "exit code 1" / "signal 9" for a wait status.
std::string describeExit(int wait_status);

}  // namespace oak::process
