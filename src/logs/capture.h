#pragma once
// Keeps what this process logs as control-plane records: a sink on the default spdlog logger
// that appends each line (at the logger's level) to a LogBuffer.

#include <memory>
#include <string>

#include "logs/log_buffer.h"

namespace oak::logs {

struct Identity {
  std::string component;  // root, cluster or worker
  std::string node;
  std::string cluster;
};

// Adds the sink to the current default logger. Call at start-up, before other threads log
// (spdlog does not add sinks thread-safely); the buffer lives as long as the logger holds it.
void captureLogs(std::shared_ptr<LogBuffer> buffer, Identity identity);

}  // namespace oak::logs
