#pragma once

#include "worker/agent/options.h"

namespace oak::worker {

// Runs `oakestra worker` until SIGINT/SIGTERM: registers with the cluster (retrying with backoff
// while it is unreachable), connects to the broker with the credentials it got, and reports.
// Returns the process exit code.
int runWorker(WorkerOptions options);

}  // namespace oak::worker
