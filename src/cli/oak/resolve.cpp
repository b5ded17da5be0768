#include "cli/oak/resolve.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <functional>
#include <vector>

#include "common/json.h"
#include "common/object_id.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

using Key = std::function<std::string(const bj::object&)>;

std::string field(const bj::object& o, std::string_view key) {
  return json::getString(o, key).value_or("");
}

std::string applicationName(const bj::object& app) {
  return field(app, "application_name") + "." + field(app, "application_namespace");
}

// The documents whose first key (in order of precedence) that matches `ref` at all matches.
Result<bj::object> findOne(const bj::array& docs, std::string_view ref,
                           const std::vector<Key>& keys, std::string_view kind, const Key& display,
                           std::string_view hint) {
  for (const auto& key : keys) {
    std::vector<const bj::object*> found;
    for (const auto& d : docs) {
      if (d.is_object() && key(d.get_object()) == ref) found.push_back(&d.get_object());
    }
    if (found.size() == 1) return *found.front();
    if (found.size() > 1) {
      std::vector<std::string> names;
      for (const auto* f : found) names.push_back(display(*f));
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("'{}' names {} {}s: {}; {}", ref, found.size(), kind,
                                   fmt::join(names, ", "), hint));
    }
  }
  return makeError(ErrorCode::kNotFound, fmt::format("no {} '{}' (oak {} ls lists yours)", kind,
                                                     ref, kind == "service" ? "service" : "app"));
}

bool notFound(const Error& e) {
  return e.code == ErrorCode::kNotFound;
}

}  // namespace

std::string serviceName(const bj::object& service) {
  if (auto job = json::getString(service, "job_name"); job && !job->empty()) return *job;
  return field(service, "microservice_name");
}

Result<bj::object> findApplication(const bj::array& applications, std::string_view ref) {
  std::vector<Key> keys{[](const bj::object& a) { return idOf(a); }, applicationName,
                        [](const bj::object& a) { return field(a, "application_name"); }};
  return findOne(applications, ref, keys, "application", applicationName,
                 "use NAME.NAMESPACE or the id");
}

Result<bj::object> findService(const bj::array& services, std::string_view ref) {
  std::vector<Key> keys{[](const bj::object& s) { return idOf(s); }, serviceName,
                        [](const bj::object& s) {
                          return field(s, "app_name") + "." + field(s, "microservice_name");
                        },
                        [](const bj::object& s) { return field(s, "microservice_name"); }};
  return findOne(services, ref, keys, "service", serviceName, "use the full name or the id");
}

Result<bj::object> resolveApplication(RootApi& api, std::string_view ref) {
  if (isObjectId(ref)) {
    auto app = api.application(ref);
    if (app || !notFound(app.error())) return app;
  }
  OAK_ASSIGN_OR_RETURN(auto apps, api.myApplications());
  return findApplication(apps, ref);
}

Result<bj::array> myServices(RootApi& api) {
  OAK_ASSIGN_OR_RETURN(auto apps, api.myApplications());
  bj::array all;
  for (const auto& app : apps) {
    if (!app.is_object()) continue;
    OAK_ASSIGN_OR_RETURN(auto services, api.services(idOf(app.get_object())));
    for (auto& s : services) all.push_back(std::move(s));
  }
  return all;
}

Result<bj::object> resolveService(RootApi& api, std::string_view ref) {
  if (isObjectId(ref)) {
    auto service = api.service(ref);
    if (service || !notFound(service.error())) return service;
  }
  OAK_ASSIGN_OR_RETURN(auto services, myServices(api));
  return findService(services, ref);
}

}  // namespace oak::cli
