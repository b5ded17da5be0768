#pragma once
// An in-memory root orchestrator behind the CLI's Transport: enough of the API for `oak`'s
// commands (login and refresh, applications, services, instances, clusters, workers, alerts, the
// logs of instances and of the control plane), with the shapes the real root answers in.
// Instances advance through `lifecycle` one step per read of their service, so a deployment
// progresses while `oak` polls.

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "cli/oak/transport.h"
#include "common/clock.h"

namespace oak::cli::testing {

class FakeRoot final : public Transport {
 public:
  explicit FakeRoot(const Clock& clock) : clock_(clock) {}

  Result<ApiReply> send(const ApiRequest& req) override;
  Result<ApiReply> stream(const ApiRequest& req, const DataSink& sink) override;

  // An unsigned token of the root's shape (claims sub, type, exp).
  std::string issue(const std::string& type, const std::string& user, int64_t ttl_seconds) const;

  // "METHOD target" of every request, in order.
  std::vector<std::string> requests;
  int64_t access_ttl = 600;
  int64_t refresh_ttl = 3600;
  std::string password = "Admin";
  // The statuses a new instance goes through; the last one stays. Each instance gets the detail
  // `detail_of[status]` (when set) and, once FAILED/DEAD/COMPLETED, the output `last_logs`.
  std::vector<std::string> lifecycle = {"CLUSTER_SCHEDULED", "NODE_SCHEDULED", "RUNNING"};
  std::map<std::string, std::string> detail_of;
  std::string last_logs;
  // When false, requested instances are not placed: the service says why.
  bool placeable = true;
  // Answers of GET .../logs, and the event stream of a follow.
  boost::json::array log_lines;
  std::string follow_events;

  std::map<std::string, boost::json::object> applications;  // by id
  std::map<std::string, boost::json::object> services;      // by id
  boost::json::array clusters;
  boost::json::array workers;
  boost::json::array alerts;
  // Answers of GET /api/logs (Admin only); a follow streams `follow_events`.
  boost::json::array control_lines;

 private:
  Result<ApiReply> route(const ApiRequest& req, const std::string& user);
  std::string newId();
  boost::json::object createService(const boost::json::object& ms, boost::json::object& app);
  void advance(boost::json::object& service);

  const Clock& clock_;
  int next_id_ = 0;
  std::map<std::string, std::map<int64_t, size_t>> progress_;  // service → instance → step
};

}  // namespace oak::cli::testing
