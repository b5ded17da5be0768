#pragma once
// The worker's control half of the node engine: once registered, it reports the host's capacity
// on `nodes/<id>/information` (when it changes noticeably, and at least every report interval),
// runs what arrives on `nodes/<id>/control/deploy|delete` through the instance supervisor, and
// publishes status changes on `nodes/<id>/job` and usage on `nodes/<id>/jobs/resources`.
// Transport-free apart from the MessageBus, so tests run it against an in-memory broker.

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "http/event_loop.h"
#include "mqtt/bus.h"
#include "worker/host/host_probe.h"
#include "worker/runtime/composing_runtime.h"
#include "worker/runtime/supervisor.h"

namespace oak::worker {

struct AgentOptions {
  std::string worker_id;
  std::optional<std::pair<double, double>> location;  // lat, lon
  std::chrono::seconds report_interval{15};
};

class WorkerAgent {
 public:
  WorkerAgent(EventLoop& loop, const Clock& clock, mqtt::MessageBus& bus, HostProbe& probe,
              ComposingRuntime& runtime, AgentOptions options);

  // Subscribes and recovers instances that survived a restart.
  void start();
  // Samples the host and publishes what changed; called periodically.
  void tick();
  // The information payload for a snapshot (the resource abstractor's worker schema).
  boost::json::object information(const HostSnapshot& s) const;

 private:
  void onMessage(const mqtt::Message& m);
  void publishStatus(const StatusReport& r);
  void publishInformation(const HostSnapshot& s, bool force);
  void publishUsage();
  std::string topic(std::string_view suffix) const;

  EventLoop& loop_;
  const Clock& clock_;
  mqtt::MessageBus& bus_;
  HostProbe& probe_;
  ComposingRuntime& runtime_;
  AgentOptions options_;
  InstanceSupervisor supervisor_;
  std::optional<boost::json::object> last_info_;
  Clock::TimePoint last_info_at_{};
  std::string ipv4_;
};

}  // namespace oak::worker
