#include "link/messages.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"

namespace oak::link {

namespace bj = boost::json;

namespace {

Error bad(std::string msg) {
  return makeError(ErrorCode::kInvalidArgument, std::move(msg));
}

std::string withType(std::string_view type, bj::object o) {
  o["type"] = type;
  return bj::serialize(o);
}

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

Result<std::string> requireString(const bj::object& o, std::string_view key,
                                  std::string_view where) {
  auto s = json::getString(o, key);
  if (!s) return bad(fmt::format("{}.{}: required string is missing", where, key));
  return *s;
}

}  // namespace

bj::object toJson(const InstanceState& s) {
  return bj::object{{"service_id", s.service_id}, {"instance_number", s.instance_number},
                    {"status", s.status},         {"status_detail", s.status_detail},
                    {"worker_id", s.worker_id},   {"worker_name", s.worker_name},
                    {"publicip", s.publicip},     {"cpu", s.cpu},
                    {"memory", s.memory}};
}

Result<InstanceState> instanceStateFromJson(const bj::object& o) {
  InstanceState s;
  OAK_ASSIGN_OR_RETURN(s.service_id, requireString(o, "service_id", "instance"));
  auto n = json::getInt(o, "instance_number");
  if (!n || *n < 0) return bad("instance.instance_number: required non-negative integer");
  s.instance_number = *n;
  OAK_ASSIGN_OR_RETURN(s.status, requireString(o, "status", "instance"));
  s.status_detail = json::getString(o, "status_detail").value_or("");
  s.worker_id = json::getString(o, "worker_id").value_or("");
  s.worker_name = json::getString(o, "worker_name").value_or("");
  s.publicip = json::getString(o, "publicip").value_or("");
  s.cpu = number(o, "cpu");
  s.memory = number(o, "memory");
  return s;
}

std::string encodeHello(const Hello& h) {
  bj::array instances;
  for (const auto& i : h.instances) instances.push_back(toJson(i));
  return withType("hello", bj::object{{"name", h.name},
                                      {"location", h.location},
                                      {"resources", h.resources},
                                      {"instances", std::move(instances)},
                                      {"version", h.version}});
}

std::string encodeResources(const bj::object& resources) {
  return withType("resources", bj::object{{"resources", resources}});
}

std::string encodeHeartbeat() {
  return withType("heartbeat", {});
}

std::string encodeInstanceStatus(const InstanceState& s) {
  return withType("instance_status", toJson(s));
}

std::string encodeWelcome(const std::string& cluster_id) {
  return withType("welcome", bj::object{{"cluster_id", cluster_id}});
}

std::string encodeDeploy(const Deploy& d) {
  return withType("deploy",
                  bj::object{{"service", d.service}, {"instance_number", d.instance_number}});
}

std::string encodeUndeploy(const Undeploy& u) {
  return withType("undeploy",
                  bj::object{{"service_id", u.service_id}, {"instance_number", u.instance_number}});
}

std::string encodeError(const std::string& message) {
  return withType("error", bj::object{{"message", message}});
}

Result<Envelope> decode(std::string_view text) {
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(text));
  if (!v.is_object()) return bad("message: not a JSON object");
  auto type = json::getString(v.get_object(), "type");
  if (!type) return bad("message.type: required string is missing");
  return Envelope{*type, std::move(v.get_object())};
}

Result<Hello> helloFrom(const Envelope& e) {
  Hello h;
  OAK_ASSIGN_OR_RETURN(h.name, requireString(e.body, "name", "hello"));
  h.location = json::getString(e.body, "location").value_or("");
  h.version = json::getString(e.body, "version").value_or("");
  if (const auto* r = json::findObject(e.body, "resources")) h.resources = *r;
  if (const auto* list = json::findArray(e.body, "instances")) {
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_object()) return bad(fmt::format("hello.instances[{}]: not an object", i));
      OAK_ASSIGN_OR_RETURN(auto s, instanceStateFromJson((*list)[i].get_object()));
      h.instances.push_back(std::move(s));
    }
  }
  return h;
}

Result<Deploy> deployFrom(const Envelope& e) {
  const auto* service = json::findObject(e.body, "service");
  if (!service) return bad("deploy.service: required object is missing");
  auto n = json::getInt(e.body, "instance_number");
  if (!n || *n < 0) return bad("deploy.instance_number: required non-negative integer");
  return Deploy{*service, *n};
}

Result<Undeploy> undeployFrom(const Envelope& e) {
  Undeploy u;
  OAK_ASSIGN_OR_RETURN(u.service_id, requireString(e.body, "service_id", "undeploy"));
  auto n = json::getInt(e.body, "instance_number");
  if (!n || *n < -1) return bad("undeploy.instance_number: required integer >= -1");
  u.instance_number = *n;
  return u;
}

}  // namespace oak::link
