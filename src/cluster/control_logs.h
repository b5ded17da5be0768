#pragma once
// Control-plane logs at the cluster. One buffer holds the cluster's own records (captured from
// its logger) and its workers' (batches on `nodes/<worker>/logs/control`); a forwarder sends
// them to the root as `control_logs` link messages while the link is up.
//
// A worker's batch is trusted for nothing but its messages, levels and times: component, node
// and cluster are stamped here from the topic's worker id, so a worker can neither pose as
// another nor as the cluster. Bad batches are dropped and counted; the warning about them is
// rate-limited so that a broken worker cannot flood the logs it is feeding.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "logs/forwarder.h"
#include "logs/log_buffer.h"
#include "mqtt/bus.h"

namespace oak::cluster {

class ControlLogs {
 public:
  struct Deps {
    const Clock& clock;
    std::shared_ptr<logs::LogBuffer> buffer;
    std::string cluster_name;
    std::function<std::optional<std::string>(const std::string& worker_id)> worker_name;
    std::function<bool(std::string text)> to_root;  // false when the link is down
  };
  static constexpr const char* kTopic = "nodes/+/logs/control";
  static constexpr size_t kMaxBatchRecords = 1000;

  explicit ControlLogs(Deps deps);

  // Batches on kTopic; false for other topics.
  bool onBusMessage(const mqtt::Message& m);
  // Sends what is new to the root (every second).
  void flush();

  uint64_t received() const { return received_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t forwarded() const { return forwarder_.forwarded(); }

 private:
  void reject(const std::string& worker, const std::string& why);

  Deps deps_;
  logs::LogForwarder forwarder_;
  uint64_t received_ = 0;
  uint64_t rejected_ = 0;
  Clock::TimePoint last_warning_{};
};

}  // namespace oak::cluster
