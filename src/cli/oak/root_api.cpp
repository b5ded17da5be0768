#include "cli/oak/root_api.h"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;
using http::Method;

namespace {

Error unexpected(std::string_view method, const std::string& target) {
  return makeError(ErrorCode::kUnavailable,
                   fmt::format("unexpected answer from the root to {} {}", method, target));
}

std::string logTarget(const LogQuery& q, bool follow) {
  std::string t =
      fmt::format("/api/service/{}/instance/{}/logs?stream={}", q.service_id, q.instance, q.stream);
  if (q.tail) t += fmt::format("&tail={}", *q.tail);
  if (follow) t += "&follow=true";
  return t;
}

std::string controlLogTarget(const ControlLogQuery& q, bool follow) {
  std::string t = "/api/logs";
  char sep = '?';
  auto add = [&](std::string_view name, std::string_view value) {
    if (value.empty()) return;
    t += fmt::format("{}{}={}", sep, name,
                     boost::urls::encode(value, boost::urls::unreserved_chars));
    sep = '&';
  };
  add("component", q.component);
  add("level", q.level);
  add("since", q.since);
  add("node", q.node);
  add("cluster", q.cluster);
  if (q.limit) add("limit", std::to_string(*q.limit));
  if (follow) add("follow", "true");
  return t;
}

}  // namespace

std::string idOf(const bj::object& doc) {
  if (const auto* id = json::findObject(doc, "_id")) {
    if (auto oid = json::getString(*id, "$oid")) return *oid;
  }
  if (auto id = json::getString(doc, "microserviceID"); id && !id->empty()) return *id;
  return json::getString(doc, "applicationID").value_or("");
}

Result<bj::array> RootApi::array(Method m, const std::string& target, const std::string& body) {
  OAK_ASSIGN_OR_RETURN(auto v, session_.call(m, target, body));
  if (!v.is_array()) return unexpected(http::methodName(m), target);
  return std::move(v.get_array());
}

Result<bj::object> RootApi::object(Method m, const std::string& target, const std::string& body) {
  OAK_ASSIGN_OR_RETURN(auto v, session_.call(m, target, body));
  if (!v.is_object()) return unexpected(http::methodName(m), target);
  return std::move(v.get_object());
}

Result<std::string> RootApi::myUserId() {
  if (!user_id_.empty()) return user_id_;
  std::string name = session_.username();
  if (name.empty()) {
    // Without a session the root's answer tells best what is wrong (unreachable, refused).
    OAK_TRY(session_.call(Method::kGet, "/api/applications"));
    return makeError(ErrorCode::kUnauthenticated,
                     fmt::format("not logged in to {}: run oak login", session_.url()));
  }
  OAK_ASSIGN_OR_RETURN(auto user, object(Method::kGet, "/api/user/" + name));
  user_id_ = idOf(user);
  if (user_id_.empty()) return unexpected("GET", "/api/user/" + name);
  return user_id_;
}

Result<bj::array> RootApi::myApplications() {
  OAK_ASSIGN_OR_RETURN(auto id, myUserId());
  return array(Method::kGet, "/api/applications/" + id);
}

Result<bj::array> RootApi::allApplications() {
  return array(Method::kGet, "/api/applications");
}

Result<bj::object> RootApi::application(std::string_view id) {
  return object(Method::kGet, fmt::format("/api/application/{}", id));
}

Result<bj::array> RootApi::createApplications(const bj::object& sla) {
  return array(Method::kPost, "/api/application", bj::serialize(sla));
}

Status RootApi::addServices(const bj::object& sla) {
  OAK_TRY(session_.call(Method::kPost, "/api/service", bj::serialize(sla)));
  return {};
}

Status RootApi::deleteApplication(std::string_view id) {
  OAK_TRY(session_.call(Method::kDelete, fmt::format("/api/application/{}", id)));
  return {};
}

Result<bj::array> RootApi::services(std::string_view application_id) {
  return array(Method::kGet, fmt::format("/api/services/{}", application_id));
}

Result<bj::object> RootApi::service(std::string_view id) {
  return object(Method::kGet, fmt::format("/api/service/{}", id));
}

Status RootApi::requestInstance(std::string_view service_id) {
  OAK_TRY(session_.call(Method::kPost, fmt::format("/api/service/{}/instance", service_id)));
  return {};
}

Status RootApi::removeInstance(std::string_view service_id, int64_t number) {
  OAK_TRY(session_.call(Method::kDelete,
                        fmt::format("/api/service/{}/instance/{}", service_id, number)));
  return {};
}

Status RootApi::deleteService(std::string_view id) {
  OAK_TRY(session_.call(Method::kDelete, fmt::format("/api/service/{}", id)));
  return {};
}

Result<bj::array> RootApi::clusters() {
  return array(Method::kGet, "/api/v1/resources/clusters");
}

Result<bj::array> RootApi::workers() {
  return array(Method::kGet, "/api/workers");
}

Result<bj::array> RootApi::alerts() {
  return array(Method::kGet, "/api/alerts");
}

Result<bj::object> RootApi::logs(const LogQuery& q) {
  return object(Method::kGet, logTarget(q, false));
}

Status RootApi::followLogs(const LogQuery& q, const DataSink& sink) {
  return follow(logTarget(q, true), sink);
}

Result<bj::object> RootApi::controlLogs(const ControlLogQuery& q) {
  return object(Method::kGet, controlLogTarget(q, false));
}

Status RootApi::followControlLogs(const ControlLogQuery& q, const DataSink& sink) {
  return follow(controlLogTarget(q, true), sink);
}

Status RootApi::follow(const std::string& target, const DataSink& sink) {
  OAK_ASSIGN_OR_RETURN(auto reply, session_.stream(target, sink));
  if (reply.status / 100 != 2) return replyError(reply);
  return {};
}

}  // namespace oak::cli
