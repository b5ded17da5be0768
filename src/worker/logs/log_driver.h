#pragma once
// The log driver: a process that containerd's runc shim starts for a container whose stdout and
// stderr URIs are `binary:///<exe>?<key>=<value>&...`. The shim passes each query key and its
// value as two arguments, in no particular order; an empty environment apart from CONTAINER_ID
// and CONTAINER_NAMESPACE; the container's stdout on fd 3, its stderr on fd 4, and a pipe on
// fd 5 that the driver closes once it is ready (the shim waits for that before starting the
// container). The driver is the shim's child, so it outlives worker restarts.
//
// `oakestra` becomes the driver when `--log-driver` appears anywhere in its arguments:
//   oakestra --log-driver "" --dir /var/lib/oakestra/worker/logs/<task> --max-size N --max-files N
// It stores both streams with LogWriter, exits 0 when both reach end of file, and on SIGTERM
// (the shim's way to stop it) stores what is still readable and exits 0.

#include <string>
#include <vector>

#include "common/result.h"
#include "worker/logs/log_format.h"

namespace oak::worker {

struct LogDriverArgs {
  std::string dir;  // absolute
  LogLimits limits;
};

// Whether the process was started as the log driver.
bool isLogDriverInvocation(int argc, char** argv);

// Reads `--dir=DIR` or `--dir DIR`, `--max-size BYTES`, `--max-files N` (also `--key=value`) in
// any order; empty arguments (a key given without value) and `--log-driver` are skipped, unknown
// options are ignored. kInvalidArgument naming the option otherwise.
Result<LogDriverArgs> parseLogDriverArgs(const std::vector<std::string>& args);

// The process's main when started as the log driver (fds 3, 4, 5 as described above). Returns
// the exit code: 0 at end of streams or SIGTERM, 2 for bad arguments or missing fds.
int runLogDriver(int argc, char** argv);

// The stdout/stderr URI that makes the shim start `exe` as the driver writing to `dir` (both
// absolute paths), percent-encoded so that any path survives the shim's URL parsing.
std::string binaryLogUri(const std::string& exe, const std::string& dir, const LogLimits& limits);

// The absolute path of the running binary (/proc/self/exe, also after an upgrade replaced the
// file), for `binaryLogUri`.
Result<std::string> currentExecutable();

}  // namespace oak::worker
