#pragma once
// The root's half of the overlay's control plane: it hands out worker subnets, answers the
// clusters' table queries (the routes of a service, found by job name or by any of its service
// or instance addresses) and remembers which cluster asked for which job, so that when instances
// start, move or end, exactly those clusters get the job's new routes (`table_update`).
// Interests live with the connection: a cluster that reconnects asks again for what it caches.

#include <boost/json/object.hpp>

#include <map>
#include <set>
#include <string>

#include "common/result.h"
#include "link/messages.h"
#include "root/context.h"

namespace oak::root {

class ServiceRoutes {
 public:
  explicit ServiceRoutes(RootContext& ctx) : ctx_(ctx) {}

  static bool handles(std::string_view type);
  // A message of a type `handles` from a connected cluster.
  Status onMessage(const std::string& cluster_id, const link::Envelope& e);
  void onClusterGone(const std::string& cluster_id);

  // Called after a service document was stored; interested clusters hear when its routes
  // differ from `before` (the document as it was; null for a new service).
  void changed(const boost::json::object* before, const boost::json::object& after);
  // The service was deleted.
  void gone(const std::string& job_name);

  // The routes workers need for a service: its service addresses and the instances that run,
  // with their namespace addresses and their worker's tunnel endpoint.
  static boost::json::object routesOf(const boost::json::object& service);

 private:
  Result<std::optional<boost::json::object>> lookup(const std::string& key);
  void push(const std::string& job_name, const std::optional<boost::json::object>& routes);

  RootContext& ctx_;
  std::map<std::string, std::set<std::string>> interests_;  // cluster id -> job names
};

}  // namespace oak::root
