#pragma once
// The cluster's brain, free of transports: it keeps the workers (registration, reports, leases),
// the instances the root delegated to this cluster, and the cluster-level scheduler. Messages
// arrive through `onRootMessage` (the root link) and `onBusMessage` (MQTT from workers); messages
// leave through the bus and the `to_root` callback. Time comes from the injected clock and
// `tick()` is called periodically, so tests drive leases and retries without sleeping.
//
// Instance lifecycle here: CLUSTER_SCHEDULED (received) → NODE_SCHEDULED (sent to a worker) →
// RUNNING (worker started it) → DEAD / FAILED (placed again on the next tick) or COMPLETED
// (one-shot, terminal). NO_WORKER_CAPACITY is retried on every tick.

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "link/messages.h"
#include "mqtt/bus.h"
#include "scheduler/scheduler.h"
#include "store/store.h"

namespace oak::cluster {

struct OrchestratorMetrics;  // cluster_metrics.h

struct OrchestratorOptions {
  std::string name;
  std::optional<sched::GeoPoint> location;
  double radius_km = 0;
  std::string location_text;
  std::chrono::seconds worker_lease{30};
  // The root hears from the cluster at least this often even when nothing changes.
  std::chrono::seconds root_heartbeat{30};
};

class Orchestrator {
 public:
  struct Deps {
    store::Store& store;
    const Clock& clock;
    mqtt::MessageBus& bus;
    std::function<void(std::string)> to_root;  // sends a link message if the root is connected
  };
  Orchestrator(Deps deps, OrchestratorOptions options);

  // Loads workers and instances from the store after a restart.
  Status recover();

  // A worker joined (or re-joined under the same name): its stable id and a fresh broker
  // password (every registration rotates it).
  struct WorkerAccount {
    std::string id;
    std::string name;
    std::string password;
    bool created = false;  // first registration of this name
  };
  Result<WorkerAccount> registerWorker(const std::string& name);
  // Every worker's broker account, to re-create them when the broker starts.
  std::vector<WorkerAccount> accounts() const;

  // The worker topics the cluster subscribes to (`nodes/+/...`).
  static std::vector<std::string> subscriptions();
  void onBusMessage(const mqtt::Message& m);
  void onRootMessage(std::string_view text);
  // The first message on every (re)connection to the root.
  std::string hello() const;

  // Lease expiry, retries, resource reports to the root.
  void tick();

  // The workers as the resource abstractor describes them.
  boost::json::array workerResources() const;
  // The instances this cluster holds (for tests and the API).
  boost::json::array instances() const;

  // The worker to ask about an instance (service logs); an error says why there is none.
  struct Placement {
    std::string worker_id;
    std::string worker_name;
    std::string task_id;  // "<job_name>.instance.<n>", the worker's name of the instance
  };
  Result<Placement> placementOf(const std::string& service_id, int64_t n) const;

  // Counts scheduling decisions, failures and lost workers there; null (the default): nothing.
  void setMetrics(const OrchestratorMetrics* metrics) { metrics_ = metrics; }
  // What metrics read at scrape time.
  struct WorkerView {
    const std::string& id;
    const std::string& name;
    bool active;
    Clock::TimePoint last_seen;
    const sched::Resources& resources;
  };
  void forEachWorker(const std::function<void(const WorkerView&)>& fn) const;
  std::map<std::string, size_t> instanceCounts() const;  // by status
  // The name of a known worker; nullopt for an unknown id.
  std::optional<std::string> workerName(const std::string& id) const;

 private:
  struct Worker {
    std::string id;
    std::string name;
    std::string password;
    sched::Resources resources;
    Clock::TimePoint last_seen{};
    bool active = false;
    // When the cluster last asked it for a full report (it heard from it while inactive).
    Clock::TimePoint report_requested{};
    // It said it is stopping (`leave`): inactive until it registers again, whatever it sends.
    bool leaving = false;
  };
  struct Instance {
    std::string service_id;
    int64_t number = 0;
    std::string job_name;
    boost::json::object service;
    std::string worker_id;
    std::string status;
    std::string status_detail;
    std::string publicip;
    double cpu = 0, memory = 0;
    std::string logs;  // the last lines the worker sent when the instance ended
    // Overlay addresses the worker reported with RUNNING.
    std::string namespace_ip, namespace_ip_v6, host_ip;
    int64_t host_port = 0;
    // Since when the worker has not confirmed holding it: set when the instance is sent, and when
    // a usage report does not list it; cleared by a report or status about it (zero: confirmed).
    Clock::TimePoint missing_since{};
  };
  static std::string key(const std::string& service_id, int64_t n);

  void onDeploy(const link::Deploy& d);
  void onUndeploy(const link::Undeploy& u);
  void onInformation(const std::string& worker_id, const boost::json::object& payload);
  void onJobStatus(const std::string& worker_id, const boost::json::object& payload);
  void onJobResources(const std::string& worker_id, const boost::json::object& payload);
  void heardFrom(Worker& w, std::string_view suffix);
  void onLeave(Worker& w);
  // What the root learns about a worker (`workers` message).
  static link::WorkerSummary summaryOf(const Worker& w);

  void place(Instance& inst);
  void sendDelete(const std::string& worker_id, const Instance& inst);
  void setStatus(Instance& inst, std::string status, std::string detail);
  void persist(const Instance& inst);
  void erase(const Instance& inst);
  void persistWorker(const Worker& w);
  void reportResources(bool force);
  Instance* findByJob(const std::string& job_name, int64_t n);
  link::InstanceState stateOf(const Instance& inst) const;

  Deps deps_;
  OrchestratorOptions options_;
  sched::Scheduler scheduler_{sched::Level::kCluster};
  std::map<std::string, Worker> workers_;  // by id
  std::map<std::string, std::string> ids_by_name_;
  std::map<std::string, Instance> instances_;  // by key(service_id, n)
  std::string last_resources_;
  std::string last_workers_;  // the last `workers` message the root got
  Clock::TimePoint last_root_report_{};
  const OrchestratorMetrics* metrics_ = nullptr;
};

}  // namespace oak::cluster
