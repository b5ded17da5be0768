#pragma once
// The cluster's half of the overlay's control plane, between its workers (MQTT) and the root
// (the link). It caches the routes of the jobs its workers asked for, remembers which worker
// needs which job, and forwards every change the root pushes to exactly those workers:
//
//   worker → cluster  nodes/<w>/net/subnet              {}       (its subnets, at every start)
//   cluster → worker  nodes/<w>/net/subnet/result       {subnet, subnet_v6} or {error}
//   worker → cluster  nodes/<w>/net/tablequery/request  {key}    (a job name or an address)
//   cluster → worker  nodes/<w>/net/tablequery/result   {key, routes|null}
//   cluster → worker  nodes/<w>/net/table               {key: job name, routes|null}  (a change)
//   worker → cluster  nodes/<w>/net/interest/remove     {job_name}
//
// Queries for the same key share one question to the root; a question the root does not answer
// within the timeout is answered with no routes, so the worker can ask again (nothing stays
// pending). Subnets are stored with the cluster, so a worker gets the same ones after restarts.
// Transport-free and driven by an injected clock and `tick()`, like the orchestrator.

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "link/messages.h"
#include "mqtt/bus.h"
#include "store/store.h"

namespace oak::cluster {

class RouteCache {
 public:
  struct Deps {
    store::Store& store;
    const Clock& clock;
    mqtt::MessageBus& bus;
    // Sends a link message; false when the root is not connected.
    std::function<bool(std::string)> to_root;
  };
  static std::vector<std::string> subscriptions() {
    return {"nodes/+/net/subnet", "nodes/+/net/tablequery/request", "nodes/+/net/interest/remove"};
  }
  static constexpr std::chrono::seconds kQueryTimeout{5};

  explicit RouteCache(Deps deps) : deps_(std::move(deps)) {}

  void onBusMessage(const mqtt::Message& m);
  // True when the message was an overlay message (handled here).
  bool onRootMessage(const link::Envelope& e);
  // The link is up again: the root forgot this cluster's interests; ask again for what is cached.
  void onRootConnected();
  // Answers queries the root left unanswered.
  void tick();

  size_t cachedJobs() const { return jobs_.size(); }

 private:
  struct Job {
    boost::json::object routes;
    std::set<std::string> workers;  // interested workers
  };
  struct Pending {
    std::set<std::string> workers;
    Clock::TimePoint since;
  };
  void onSubnetRequest(const std::string& worker_id);
  void onTableQuery(const std::string& worker_id, const std::string& key);
  void onInterestRemove(const std::string& worker_id, const std::string& job_name);
  void onTable(const std::string& key, const std::optional<boost::json::object>& routes);
  void onTableUpdate(const std::string& job_name, const std::optional<boost::json::object>& routes);
  void answer(const std::string& worker_id, const std::string& key,
              const boost::json::object* routes);
  // The cached job whose name or one of whose addresses is `key`.
  Job* find(const std::string& key, std::string* job_name);
  void publish(const std::string& worker_id, std::string_view suffix, const boost::json::object& o);

  Deps deps_;
  std::map<std::string, Job> jobs_;         // by job name
  std::map<std::string, Pending> pending_;  // by query key
  std::set<std::string> subnet_waiting_;    // workers waiting for the root to give subnets
};

}  // namespace oak::cluster
