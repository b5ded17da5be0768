#include "root/service_docs.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <array>

#include "common/json.h"
#include "common/object_id.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

// Fields of a service document that the server owns; an SLA cannot set them.
constexpr std::array<std::string_view, 15> kServerFields = {"_id",
                                                            "microserviceID",
                                                            "applicationID",
                                                            "app_name",
                                                            "app_ns",
                                                            "service_name",
                                                            "service_ns",
                                                            "job_name",
                                                            "instance_list",
                                                            "next_instance_progressive_number",
                                                            "status",
                                                            "status_detail",
                                                            "service_ip_list",
                                                            "RR_ip",
                                                            "RR_ip_v6"};

bool isServerField(std::string_view k) {
  for (auto f : kServerFields) {
    if (f == k) return true;
  }
  return false;
}

}  // namespace

std::string jobName(std::string_view app, std::string_view app_ns, std::string_view service,
                    std::string_view service_ns) {
  return fmt::format("{}.{}.{}.{}", app, app_ns, service, service_ns);
}

void deriveServiceFields(bj::object& s, const bj::object& app) {
  auto app_name = json::getString(app, "application_name").value_or("");
  auto app_ns = json::getString(app, "application_namespace").value_or("");
  auto name = json::getString(s, "microservice_name").value_or("");
  auto ns = json::getString(s, "microservice_namespace").value_or("");
  s["applicationID"] = json::getString(app, "applicationID").value_or("");
  s["app_name"] = app_name;
  s["app_ns"] = app_ns;
  s["service_name"] = name;
  s["service_ns"] = ns;
  s["job_name"] = jobName(app_name, app_ns, name, ns);
  s["image"] = json::getString(s, "code").value_or("");
  // The original's wire format calls containers "docker"; schedulers and workers match on it.
  if (json::getString(s, "virtualization") == "container") s["virtualization"] = "docker";
}

bj::object newServiceDoc(const bj::object& microservice, const bj::object& app,
                         const std::string& id) {
  bj::object s;
  for (const auto& [k, v] : microservice) {
    if (!isServerField(k)) s[k] = v;
  }
  s["_id"] = oidJson(id);
  s["microserviceID"] = id;
  s["next_instance_progressive_number"] = 0;
  s["instance_list"] = bj::array{};
  deriveServiceFields(s, app);
  return s;
}

bj::object replaceServiceDefinition(const bj::object& current, const bj::object& microservice) {
  bj::object s;
  for (const auto& [k, v] : current) {
    if (isServerField(k)) s[k] = v;
  }
  for (const auto& [k, v] : microservice) {
    if (!isServerField(k)) s[k] = v;
  }
  return s;
}

}  // namespace oak::root
