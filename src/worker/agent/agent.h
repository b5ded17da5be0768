#pragma once
// The worker's control half of the node engine: once registered, it reports the host's capacity
// on `nodes/<id>/information` (when it changes noticeably, after every connect, when the cluster
// asks on `control/report`, and every `full_report_every` as a safety refresh), runs what arrives
// on `nodes/<id>/control/deploy|delete` through the instance supervisor, and publishes status
// changes on `nodes/<id>/job` and usage on `nodes/<id>/jobs/resources` (with every full report,
// when the set of instances changes, and while instances run when their usage changed). When
// nothing else went out for a report interval it sends an empty `nodes/<id>/heartbeat` (QoS 0),
// which keeps its lease at the cluster: an idle worker costs a few bytes per interval.
// Transport-free apart from the MessageBus, so tests run it against an in-memory broker.

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "http/event_loop.h"
#include "mqtt/bus.h"
#include "worker/agent/log_service.h"
#include "worker/host/host_probe.h"
#include "worker/runtime/composing_runtime.h"
#include "worker/runtime/supervisor.h"

namespace oak::worker {

struct AgentOptions {
  std::string worker_id;
  std::optional<std::pair<double, double>> location;  // lat, lon
  std::chrono::seconds report_interval{15};
  // Instance logs live in `<log_root>/<task_id>/` (see LogService); empty: no log service.
  std::string log_root{};
  // A full information report goes out at least this often even when nothing changed.
  std::chrono::seconds full_report_every{300};
  // The overlay network of instances; none: instances share the host's network.
  InstanceNetwork* network = nullptr;
  // Sees every message first (the network's topics); true when it handled it.
  std::function<bool(const mqtt::Message&)> extra_handler = {};
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
  // Leaves the cluster for a while: tells it (`nodes/<id>/leave`, so it places the instances
  // again at once), takes no more deployments and removes every instance. `done` runs once none
  // is left, or after `timeout`.
  void leave(std::chrono::milliseconds timeout, std::function<void()> done);

 private:
  void onMessage(const mqtt::Message& m);
  void removeStaleLogs(const std::vector<InstanceSpec>& recovered);
  void publishStatus(const StatusReport& r);
  void report(const HostSnapshot& s);
  // Collects the usage of `held` and publishes it when `always` or when it changed.
  void publishUsage(const std::vector<InstanceSpec>& held, bool always);
  void heartbeatIfQuiet();
  void send(std::string_view suffix, std::string payload, int qos);
  std::string topic(std::string_view suffix) const;

  EventLoop& loop_;
  const Clock& clock_;
  mqtt::MessageBus& bus_;
  HostProbe& probe_;
  ComposingRuntime& runtime_;
  AgentOptions options_;
  InstanceSupervisor supervisor_;
  std::optional<boost::json::object> last_info_;  // reset: the next tick sends a full report
  Clock::TimePoint last_info_at_{};
  Clock::TimePoint last_sent_at_{};  // of any report, for the heartbeat
  std::string last_held_;            // task ids of the last usage report
  std::string last_usage_;           // its payload
  Clock::TimePoint last_usage_at_{};
  std::string ipv4_;
  std::unique_ptr<LogService> logs_;
  bool leaving_ = false;
  std::unique_ptr<EventLoop::Periodic> leave_check_;
};

}  // namespace oak::worker
