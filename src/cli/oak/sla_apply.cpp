#include "cli/oak/sla_apply.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <set>

#include "cli/oak/resolve.h"
#include "common/files.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

std::string field(const bj::object& o, std::string_view key) {
  return json::getString(o, key).value_or("");
}

std::string appKey(const bj::object& app) {
  return field(app, "application_name") + "." + field(app, "application_namespace");
}

std::string serviceKey(const bj::object& service) {
  return field(service, "microservice_name") + "." + field(service, "microservice_namespace");
}

Status requireNames(const bj::object& o, std::string_view path,
                    std::initializer_list<std::string_view> keys) {
  for (auto key : keys) {
    if (!json::findString(o, key)) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("{}.{}: required (a string)", path, key));
    }
  }
  return {};
}

// The SLA's microservices, which readSla checked.
const bj::array& microservices(const bj::object& app) {
  return app.at("microservices").get_array();
}

}  // namespace

Result<bj::object> readSla(const std::string& path) {
  if (!files::exists(path)) {
    return makeError(ErrorCode::kNotFound, fmt::format("{}: no such file", path));
  }
  OAK_ASSIGN_OR_RETURN(auto text, files::read(path));
  auto parsed = json::parse(text);
  if (!parsed) {
    std::string why = parsed.error().message;
    if (why.starts_with("malformed JSON body: ")) why = why.substr(21);
    return makeError(ErrorCode::kInvalidArgument, fmt::format("{}: not JSON: {}", path, why));
  }
  auto fail = [&](std::string what) {
    return makeError(ErrorCode::kUnprocessable, fmt::format("{}: {}", path, what));
  };
  if (!parsed->is_object()) return fail("an SLA is a JSON object");
  const auto* apps = json::findArray(parsed->get_object(), "applications");
  if (apps == nullptr || apps->empty()) {
    return fail("applications: required (a list of applications)");
  }
  for (size_t i = 0; i < apps->size(); ++i) {
    std::string at = fmt::format("applications[{}]", i);
    if (!(*apps)[i].is_object()) return fail(at + ": must be an object");
    const auto& app = (*apps)[i].get_object();
    if (auto s = requireNames(app, at, {"application_name", "application_namespace"}); !s) {
      return fail(s.error().message);
    }
    const auto* services = json::findArray(app, "microservices");
    if (services == nullptr) return fail(at + ".microservices: required (a list of services)");
    for (size_t j = 0; j < services->size(); ++j) {
      std::string sat = fmt::format("{}.microservices[{}]", at, j);
      if (!(*services)[j].is_object()) return fail(sat + ": must be an object");
      auto s = requireNames((*services)[j].get_object(), sat,
                            {"microservice_name", "microservice_namespace"});
      if (!s) return fail(s.error().message);
    }
  }
  return std::move(parsed->get_object());
}

namespace {

// Adds to the existing application `app_id` the services of `app` (from the SLA) it lacks;
// returns its services afterwards.
Result<bj::array> addMissingServices(RootApi& api, const bj::object& sla, const bj::object& app,
                                     const std::string& app_id, bj::array existing,
                                     const std::set<std::string>& present) {
  bj::array missing;
  for (const auto& m : microservices(app)) {
    if (!present.count(serviceKey(m.get_object()))) missing.push_back(m);
  }
  if (missing.empty()) return existing;
  bj::object with_id = app;
  with_id["applicationID"] = app_id;
  with_id["microservices"] = std::move(missing);
  bj::object request = sla;
  request["applications"] = bj::array{std::move(with_id)};
  OAK_TRY(api.addServices(request));
  return api.services(app_id);
}

// Asks for an instance of `service` unless it has some; returns what to wait for.
Result<WatchTarget> ensureInstance(RootApi& api, const bj::object& service, bool added,
                                   const std::function<void(const std::string&)>& report) {
  const auto* instances = json::findArray(service, "instance_list");
  size_t count = instances ? instances->size() : 0;
  std::string name = serviceName(service);
  if (count == 0) {
    OAK_TRY(api.requestInstance(idOf(service)));
    report(fmt::format("service {}: {}, instance requested", name, added ? "created" : "exists"));
  } else {
    report(fmt::format("service {}: exists with {} instance{}, left as it is", name, count,
                       count == 1 ? "" : "s"));
  }
  return WatchTarget{idOf(service), std::max<size_t>(count, 1)};
}

}  // namespace

Result<std::vector<WatchTarget>> applySla(RootApi& api, const bj::object& sla,
                                          const std::function<void(const std::string&)>& report) {
  const auto& wanted = sla.at("applications").get_array();
  OAK_ASSIGN_OR_RETURN(auto mine, api.myApplications());
  auto findMine = [&mine](const std::string& key) -> std::string {
    for (const auto& a : mine) {
      if (a.is_object() && appKey(a.get_object()) == key) return idOf(a.get_object());
    }
    return "";
  };

  // New applications are created together, with their services.
  bj::array fresh;
  std::set<std::string> fresh_keys;
  for (const auto& a : wanted) {
    if (findMine(appKey(a.get_object())).empty()) {
      fresh.push_back(a);
      fresh_keys.insert(appKey(a.get_object()));
    }
  }
  if (!fresh.empty()) {
    bj::object request = sla;
    request["applications"] = fresh;
    OAK_ASSIGN_OR_RETURN(mine, api.createApplications(request));
  }

  std::vector<WatchTarget> targets;
  for (const auto& a : wanted) {
    const auto& app = a.get_object();
    std::string key = appKey(app);
    std::string app_id = findMine(key);
    if (app_id.empty()) {
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("the root does not list application {} after creating it", key));
    }
    bool created = fresh_keys.count(key) > 0;
    report(fmt::format("application {}: {}", key, created ? "created" : "exists"));
    OAK_ASSIGN_OR_RETURN(auto existing, api.services(app_id));
    // What the application had before this apply (nothing, when it was just created).
    std::set<std::string> present;
    if (!created) {
      for (const auto& s : existing) {
        if (s.is_object()) present.insert(serviceKey(s.get_object()));
      }
      OAK_ASSIGN_OR_RETURN(existing,
                           addMissingServices(api, sla, app, app_id, std::move(existing), present));
    }
    for (const auto& m : microservices(app)) {
      std::string skey = serviceKey(m.get_object());
      const bj::object* doc = nullptr;
      for (const auto& s : existing) {
        if (s.is_object() && serviceKey(s.get_object()) == skey) doc = &s.get_object();
      }
      if (doc == nullptr) {
        return makeError(ErrorCode::kUnavailable,
                         fmt::format("the root does not list service {} of {}", skey, key));
      }
      OAK_ASSIGN_OR_RETURN(auto target, ensureInstance(api, *doc, !present.count(skey), report));
      targets.push_back(std::move(target));
    }
  }
  return targets;
}

}  // namespace oak::cli
