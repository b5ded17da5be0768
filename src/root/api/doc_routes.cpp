// The OpenAPI document (built from the route table) and a liveness probe.

#include <boost/json.hpp>

#include "http/openapi.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

namespace {

bj::object obj(std::initializer_list<std::pair<bj::string_view, bj::value_ref>> props,
               std::initializer_list<bj::string_view> required = {}) {
  bj::object o{{"type", "object"}, {"properties", bj::object(props)}};
  if (required.size() > 0) {
    bj::array req;
    for (auto r : required) req.emplace_back(r);
    o["required"] = std::move(req);
  }
  return o;
}

bj::object ref(std::string_view name) {
  return bj::object{{"$ref", "#/components/schemas/" + std::string(name)}};
}
bj::object arrayOf(std::string_view name) {
  return bj::object{{"type", "array"}, {"items", ref(name)}};
}
const bj::object kString{{"type", "string"}};
const bj::object kStrings{{"type", "array"}, {"items", {{"type", "string"}}}};
const bj::object kOid = obj({{"$oid", kString}});

}  // namespace

bj::object apiSchemas() {
  bj::object s;
  s["Login"] = obj({{"username", kString}, {"password", kString}, {"organization_name", kString}},
                   {"username", "password"});
  s["Tokens"] = obj({{"token", kString}, {"refresh_token", kString}}, {"token"});
  s["NewUser"] =
      obj({{"name", kString}, {"password", kString}, {"email", kString}, {"roles", kStrings}},
          {"name", "password"});
  s["User"] = obj({{"_id", kOid},
                   {"name", kString},
                   {"email", kString},
                   {"created_at", kString},
                   {"roles", kStrings}});
  s["UserList"] = arrayOf("User");
  s["UserUpdate"] = obj({{"email", kString}, {"roles", kStrings}});
  s["PasswordChange"] =
      obj({{"oldPassword", kString}, {"newPassword", kString}}, {"oldPassword", "newPassword"});
  s["Roles"] = obj({{"roles", kStrings}}, {"roles"});
  s["Member"] = obj({{"user_id", kString}, {"roles", kStrings}}, {"user_id"});
  s["Organization"] =
      obj({{"_id", kOid}, {"name", kString}, {"member", arrayOf("Member")}}, {"name"});
  s["OrganizationList"] = arrayOf("Organization");
  s["Microservice"] =
      obj({{"microservice_name", kString},
           {"microservice_namespace", kString},
           {"virtualization", kString},
           {"code", kString},
           {"memory", {{"type", "integer"}}},
           {"vcpus", {{"type", "integer"}}},
           {"port", kString},
           {"one_shot", {{"type", "boolean"}}},
           {"cmd", kStrings},
           {"environment", kStrings},
           {"arch", kStrings},
           {"addresses", obj({{"rr_ip", kString}, {"rr_ip_v6", kString}})},
           {"constraints", {{"type", "array"}, {"items", {{"type", "object"}}}}}},
          {"microservice_name", "microservice_namespace", "virtualization", "code"});
  s["SlaApplication"] = obj({{"applicationID", kString},
                             {"application_name", kString},
                             {"application_namespace", kString},
                             {"application_desc", kString},
                             {"microservices", arrayOf("Microservice")}},
                            {"application_name", "application_namespace", "microservices"});
  s["SLA"] = obj({{"sla_version", kString},
                  {"customerID", kString},
                  {"applications", arrayOf("SlaApplication")}},
                 {"sla_version", "customerID", "applications"});
  s["Application"] = obj({{"_id", kOid},
                          {"applicationID", kString},
                          {"application_name", kString},
                          {"application_namespace", kString},
                          {"application_desc", kString},
                          {"userId", kString},
                          {"microservices", kStrings}});
  s["ApplicationList"] = arrayOf("Application");
  s["ApplicationUpdate"] = obj({{"application_name", kString},
                                {"application_namespace", kString},
                                {"application_desc", kString}});
  s["Service"] = obj({{"_id", kOid},
                      {"microserviceID", kString},
                      {"applicationID", kString},
                      {"job_name", kString},
                      {"image", kString},
                      {"status", kString},
                      {"status_detail", kString},
                      {"RR_ip", kString},
                      {"RR_ip_v6", kString},
                      {"next_instance_progressive_number", {{"type", "integer"}}},
                      {"instance_list", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"service_ip_list", {{"type", "array"}, {"items", {{"type", "object"}}}}}});
  s["ServiceList"] = arrayOf("Service");
  s["JobId"] = obj({{"job_id", kString}}, {"job_id"});
  s["Message"] = obj({{"message", kString}}, {"message"});
  s["Cluster"] = obj({{"_id", kOid}, {"cluster_name", kString}, {"cluster_location", kString}});
  s["ClusterList"] = arrayOf("Cluster");
  s["ClusterToken"] = obj({{"token", kString}}, {"token"});
  s["ClusterResources"] = obj({{"_id", kOid},
                               {"cluster_name", kString},
                               {"cluster_location", kString},
                               {"connected", {{"type", "boolean"}}},
                               {"active", {{"type", "boolean"}}},
                               {"last_modified_timestamp", {{"type", "number"}}},
                               {"resources", {{"type", "object"}}}});
  s["ClusterResourcesList"] = arrayOf("ClusterResources");
  s["FreeServiceIp"] = obj({{"ipv4", kString}, {"ipv6", kString}}, {"ipv4", "ipv6"});
  s["Health"] = obj({{"status", kString}}, {"status"});
  s["LogLine"] = obj({{"time", kString}, {"stream", kString}, {"line", kString}});
  s["ServiceLogs"] = obj({{"service_id", kString},
                          {"instance_number", {{"type", "integer"}}},
                          {"stream", kString},
                          {"lines", arrayOf("LogLine")},
                          {"dropped", {{"type", "integer"}}}},
                         {"service_id", "instance_number", "stream", "lines"});
  s["LogRecord"] = obj({{"time", kString},
                        {"level", kString},
                        {"component", kString},
                        {"node", kString},
                        {"cluster", kString},
                        {"msg", kString}},
                       {"time", "level", "component", "node", "msg"});
  s["ControlLogs"] = obj({{"lines", arrayOf("LogRecord")}}, {"lines"});
  s["Alert"] = obj({{"name", kString},
                    {"severity", kString},
                    {"state", kString},
                    {"labels", {{"type", "object"}}},
                    {"summary", kString},
                    {"active_since", kString}},
                   {"name", "severity", "state", "labels", "summary", "active_since"});
  s["AlertList"] = arrayOf("Alert");
  s["Worker"] = obj({{"id", kString},
                     {"name", kString},
                     {"active", {{"type", "boolean"}}},
                     {"cluster_id", kString},
                     {"cluster_name", kString},
                     {"cores_total", {{"type", "number"}}},
                     {"memory_total_mb", {{"type", "number"}}},
                     {"runtimes", {{"type", "array"}, {"items", kString}}},
                     {"archs", {{"type", "array"}, {"items", kString}}},
                     {"acceleration", kString}},
                    {"id", "name", "active", "cluster_id", "cluster_name"});
  s["WorkerList"] = arrayOf("Worker");
  s["OpenApi"] = bj::object{{"type", "object"}};
  return s;
}

void addDocRoutes(http::Router& r) {
  r.add(Method::kGet, "/healthz", {"Liveness probe", "meta", false, "", "", "Health"},
        [](const http::Request&) {
          return http::jsonResponse(200, bj::object{{"status", "ok"}});
        });
  // The document covers every route registered so far plus the two below; it is built at the
  // first request, once the table is complete.
  auto cached = std::make_shared<std::string>();
  auto handler = [&r, cached](const http::Request&) {
    if (cached->empty()) {
      http::OpenApiInfo info{
          "Oakestra root orchestrator API", "v1",
          "REST API of the root orchestrator; compatible with Oakestra v0.4.301 clients.",
          apiSchemas()};
      *cached = bj::serialize(http::buildOpenApi(r, info));
    }
    return http::Response{200, "application/json", *cached, {}};
  };
  r.add(Method::kGet, "/api/docs/openapi.json",
        {"This OpenAPI document", "meta", false, "", "", "OpenApi"}, handler);
  r.add(Method::kGet, "/docs/openapi.json",
        {"This OpenAPI document (the original's path)", "meta", false, "", "", "OpenApi"}, handler);
}

}  // namespace oak::root::api
