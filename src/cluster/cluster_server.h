#pragma once
// `oakestra cluster`: the cluster orchestrator as one object — its store, its broker (mosquitto,
// started and configured here unless --mqtt-url names one), the MQTT client to its workers, the
// link to the root, the worker API and the periodic tick.

#include <memory>

#include "cluster/options.h"
#include "common/clock.h"
#include "common/result.h"
#include "http/event_loop.h"
#include "logs/log_buffer.h"

namespace oak::cluster {

class ClusterServer {
 public:
  // `control_logs` holds the cluster's own log records (runCluster captures them); null: only
  // the workers' records are kept and forwarded.
  static Result<std::unique_ptr<ClusterServer>> create(
      const ClusterOptions& options, EventLoop& loop, const Clock& clock = SystemClock::instance(),
      std::shared_ptr<logs::LogBuffer> control_logs = nullptr);
  ~ClusterServer();
  uint16_t port() const;
  void stop();

 private:
  struct Impl;
  explicit ClusterServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `oakestra cluster` until SIGINT/SIGTERM. Returns the process exit code.
int runCluster(const ClusterOptions& options);

}  // namespace oak::cluster
