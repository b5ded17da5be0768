#pragma once
// The root's REST API as `oak` uses it: one call per endpoint, answers as JSON documents in the
// shapes the root serves (see docs/design/root-api.md).

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "cli/oak/session.h"

namespace oak::cli {

struct LogQuery {
  std::string service_id;
  int64_t instance = 0;
  std::string stream = "all";  // stdout, stderr or all
  std::optional<int64_t> tail;
};

// GET /api/logs: the control plane's records (Admins only); empty fields are not sent.
struct ControlLogQuery {
  std::string component;  // root, cluster or worker
  std::string level;      // the lowest
  std::string since;      // RFC 3339, or 90s, 15m, 2h, 1d back from now
  std::string node;
  std::string cluster;
  std::optional<int64_t> limit;
};

class RootApi {
 public:
  explicit RootApi(Session& session) : session_(session) {}
  Session& session() { return session_; }

  // The caller's own applications.
  Result<boost::json::array> myApplications();
  // Every user's applications (Admins only).
  Result<boost::json::array> allApplications();
  Result<boost::json::object> application(std::string_view id);
  // POST /api/application: answers with all of the caller's applications.
  Result<boost::json::array> createApplications(const boost::json::object& sla);
  // POST /api/service: adds the SLA's services to applications[0].applicationID.
  Status addServices(const boost::json::object& sla);
  Status deleteApplication(std::string_view id);

  Result<boost::json::array> services(std::string_view application_id);
  Result<boost::json::object> service(std::string_view id);
  Status requestInstance(std::string_view service_id);
  // Instance `number`, or every instance with -1.
  Status removeInstance(std::string_view service_id, int64_t number);
  Status deleteService(std::string_view id);

  // GET /api/v1/resources/clusters: every cluster with its aggregated resources.
  Result<boost::json::array> clusters();
  // GET /api/workers: every cluster's workers as their clusters last reported them.
  Result<boost::json::array> workers();
  // GET /api/alerts: what the root finds wrong now, firing first.
  Result<boost::json::array> alerts();

  Result<boost::json::object> logs(const LogQuery& q);
  // The follow's event stream (text/event-stream), handed to `sink` as it arrives.
  Status followLogs(const LogQuery& q, const DataSink& sink);
  Result<boost::json::object> controlLogs(const ControlLogQuery& q);
  Status followControlLogs(const ControlLogQuery& q, const DataSink& sink);

 private:
  Result<boost::json::array> array(http::Method m, const std::string& target,
                                   const std::string& body = {});
  Result<boost::json::object> object(http::Method m, const std::string& target,
                                     const std::string& body = {});
  Result<std::string> myUserId();
  Status follow(const std::string& target, const DataSink& sink);

  Session& session_;
  std::string user_id_;
};

// The document's id: "_id": {"$oid": ...}, else its string `applicationID`/`microserviceID`.
std::string idOf(const boost::json::object& doc);

}  // namespace oak::cli
