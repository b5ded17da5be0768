#pragma once
// The root's own alerting: the conditions of deploy/prometheus/alerts.yml, evaluated here from
// what the root knows, so that a deployment without Prometheus still shows its problems
// (GET /api/alerts, the dashboard). Like Prometheus, an alert is "pending" while its condition
// holds for less than its hold time, then "firing"; it disappears when the condition ends.
//
// Differences from the rule file, where the root knows more than a scrape does:
//   - OakestraWorkerLost fires at once: the cluster declares a worker lost only after its lease,
//     so the condition is already debounced (the rule's `for` only rides out scrape gaps).
//   - OakestraInstancesFailingRepeatedly is per service (the rule is per cluster): the root
//     sees every instance's status.
// Transport-free: callers feed events and observations; `evaluate` runs on the root's tick.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"

namespace oak::root {

struct Alert {
  std::string name;
  std::string severity;  // critical, warning
  std::map<std::string, std::string> labels;
  std::string summary;
  bool firing = false;  // false: pending
  Clock::TimePoint active_since{};
};

struct AlertInputs {
  struct Cluster {
    std::string name;
    bool active = false;  // connected and reporting (the scheduler's view)
  };
  struct Worker {
    std::string cluster;
    std::string name;
    bool active = false;
  };
  std::vector<Cluster> clusters;
  std::vector<Worker> workers;  // of every cluster that reported its workers
  // Error and critical control-plane records per daemon in the last `kErrorWindow`, keyed by
  // "<component> <node>".
  std::map<std::string, size_t> recent_errors;
};

class Alerts {
 public:
  static constexpr auto kClusterHold = std::chrono::minutes(1);
  static constexpr auto kFailureWindow = std::chrono::minutes(15);
  static constexpr size_t kFailureThreshold = 3;
  static constexpr auto kErrorWindow = std::chrono::minutes(5);
  static constexpr size_t kErrorThreshold = 5;
  static constexpr auto kErrorHold = std::chrono::minutes(2);
  static constexpr auto kSchedulingWindow = std::chrono::minutes(10);

  explicit Alerts(const Clock& clock) : clock_(clock) {}

  // An instance of the service went FAILED or DEAD.
  void instanceFailed(const std::string& service);
  // A placement failed: at the root (`where` = "root") or in a cluster (its name).
  void placementFailed(const std::string& where);

  // Re-evaluates every rule; logs alerts that start firing and those that end.
  void evaluate(const AlertInputs& inputs);
  // Firing alerts first, then pending; critical before warning.
  std::vector<Alert> active() const;

 private:
  struct State {
    Alert alert;
    std::chrono::system_clock::duration hold{};
    bool seen = false;  // in the current evaluation
  };
  // Marks the alert's condition as holding in this evaluation.
  void hold(Alert alert, std::chrono::system_clock::duration hold_for);
  // Drops events older than `window`; returns how many are left per key.
  static std::map<std::string, size_t> countRecent(
      std::deque<std::pair<Clock::TimePoint, std::string>>& events, Clock::TimePoint now,
      std::chrono::system_clock::duration window);

  const Clock& clock_;
  std::map<std::string, State> states_;
  std::deque<std::pair<Clock::TimePoint, std::string>> failures_;    // service
  std::deque<std::pair<Clock::TimePoint, std::string>> placements_;  // where
};

}  // namespace oak::root
