#include "root/applications.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>
#include <map>
#include <set>

#include "common/json.h"
#include "common/object_id.h"
#include "root/accounts.h"
#include "root/cluster_registry.h"
#include "root/scheduler.h"
#include "root/service_addresses.h"
#include "root/service_docs.h"
#include "root/service_routes.h"
#include "root/sla/validator.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

Error notFound(std::string_view what, std::string_view id) {
  return makeError(ErrorCode::kNotFound,
                   fmt::format("{}: no {} with id '{}'",
                               what == "application" ? "application_id" : "service_id", what, id));
}

// The service addresses of a service document by SLA key (rr_ip, rr_ip_v6, closest_ip, ...).
std::map<std::string, std::string> serviceIps(const bj::object& service) {
  std::map<std::string, std::string> ips;
  const auto* list = json::findArray(service, "service_ip_list");
  if (list == nullptr) return ips;
  for (const auto& entry : *list) {
    if (!entry.is_object()) continue;
    auto type = json::getString(entry.get_object(), "IpType");
    std::string prefix = type == "RR" ? "rr_ip" : type == "Closest" ? "closest_ip" : "";
    if (prefix.empty()) continue;
    if (auto a = json::getString(entry.get_object(), "Address")) ips[prefix] = *a;
    if (auto a = json::getString(entry.get_object(), "Address_v6")) ips[prefix + "_v6"] = *a;
  }
  return ips;
}

// `service_ip_list`, and the original's `RR_ip` / `RR_ip_v6` copies of its round-robin entry.
void setServiceIps(bj::object& service, bj::array list) {
  for (const auto& entry : list) {
    if (entry.is_object() && json::getString(entry.get_object(), "IpType") == "RR") {
      service["RR_ip"] = entry.get_object().at("Address");
      service["RR_ip_v6"] = entry.get_object().at("Address_v6");
    }
  }
  service["service_ip_list"] = std::move(list);
}

bool owns(const Caller& c, const bj::object& app) {
  return c.isAdmin() || json::getString(app, "userId") == c.username;
}

// Job names identify services in the overlay network, so they must be unique system-wide.
Status checkJobNameFree(RootContext& ctx, const std::string& name, std::set<std::string>& staged,
                        std::string_view path, std::string_view except_id = {}) {
  if (!staged.insert(name).second) {
    return makeError(ErrorCode::kConflict,
                     fmt::format("{}: the service '{}' appears twice in this request", path, name));
  }
  OAK_ASSIGN_OR_RETURN(auto found, ctx.store.find(coll::kServices, "job_name", bj::value(name)));
  for (const auto& s : found) {
    if (Accounts::idOf(s) != except_id) {
      return makeError(ErrorCode::kConflict,
                       fmt::format("{}: a service named '{}' already exists", path, name));
    }
  }
  return {};
}

}  // namespace

Result<bj::object> Applications::ownedApplication(const Caller& c, std::string_view id) {
  OAK_TRY(requireObjectId(id, "application_id"));
  OAK_ASSIGN_OR_RETURN(auto app, ctx_.store.get(coll::kApplications, id));
  if (!app || !owns(c, *app)) return notFound("application", id);
  return std::move(*app);
}

Result<bj::object> Applications::ownedService(const Caller& c, std::string_view id) {
  OAK_TRY(requireObjectId(id, "service_id"));
  OAK_ASSIGN_OR_RETURN(auto service, ctx_.store.get(coll::kServices, id));
  if (!service) return notFound("service", id);
  if (!c.isAdmin()) {
    auto app_id = json::getString(*service, "applicationID").value_or("");
    OAK_ASSIGN_OR_RETURN(auto app, ctx_.store.get(coll::kApplications, app_id));
    if (!app || !owns(c, *app)) return notFound("service", id);
  }
  return std::move(*service);
}

Result<std::string> Applications::stageServices(const bj::array& microservices, bj::object& app,
                                                std::string_view path,
                                                std::set<std::string>& job_names,
                                                AddressTransaction& addresses,
                                                store::WriteBatch& batch) {
  std::string last_id;
  auto& ids = app["microservices"];
  if (!ids.is_array()) ids = bj::array{};
  for (size_t i = 0; i < microservices.size(); ++i) {
    const auto& ms = microservices[i].get_object();  // validated
    std::string ms_path = fmt::format("{}.microservices[{}]", path, i);
    std::string id = newObjectId();
    auto doc = newServiceDoc(ms, app, id);
    OAK_TRY(checkJobNameFree(ctx_, std::string(doc["job_name"].get_string()), job_names,
                             ms_path + ".microservice_name"));
    OAK_ASSIGN_OR_RETURN(auto ips, addresses.assignAll(id, json::findObject(ms, "addresses"),
                                                       ms_path + ".addresses"));
    setServiceIps(doc, std::move(ips));
    batch.put(coll::kServices, id, std::move(doc));
    ids.as_array().emplace_back(id);
    last_id = id;
  }
  return last_id;
}

Status Applications::stageServiceRemoval(const bj::object& service, AddressTransaction& addresses,
                                         store::WriteBatch& batch) {
  addresses.release(service);
  batch.erase(coll::kServices, Accounts::idOf(service));
  return {};
}

Result<bj::array> Applications::createApplications(const Caller& c, const bj::value& sla) {
  OAK_TRY(sla::validateSla(sla));
  const auto& apps = sla.get_object().at("applications").get_array();
  store::WriteBatch batch;
  auto addresses = ctx_.addresses->begin();
  std::set<std::string> app_names;
  std::set<std::string> job_names;
  for (size_t i = 0; i < apps.size(); ++i) {
    const auto& in = apps[i].get_object();
    std::string path = fmt::format("applications[{}]", i);
    auto name = json::getString(in, "application_name").value_or("");
    auto ns = json::getString(in, "application_namespace").value_or("");
    if (!app_names.insert(name + "." + ns).second) {
      return makeError(
          ErrorCode::kConflict,
          fmt::format("{}.application_name: '{}' in namespace '{}' appears twice", path, name, ns));
    }
    OAK_ASSIGN_OR_RETURN(auto same_name,
                         ctx_.store.find(coll::kApplications, "application_name", bj::value(name)));
    for (const auto& other : same_name) {
      if (json::getString(other, "application_namespace") == ns) {
        return makeError(ErrorCode::kConflict,
                         fmt::format("{}.application_name: an application '{}' already exists in "
                                     "namespace '{}'",
                                     path, name, ns));
      }
    }
    std::string id = newObjectId();
    bj::object app;
    for (const auto& [k, v] : in) {
      if (k != "microservices" && k != "action" && k != "_id" && k != "applicationID") app[k] = v;
    }
    app["_id"] = oidJson(id);
    app["applicationID"] = id;
    app["userId"] = c.username;
    app["microservices"] = bj::array{};
    OAK_TRY(
        stageServices(in.at("microservices").get_array(), app, path, job_names, addresses, batch));
    batch.put(coll::kApplications, id, std::move(app));
  }
  OAK_TRY(addresses.commitTo(batch));
  OAK_TRY(ctx_.store.apply(batch));
  return listApplicationsOfUser(c, c.user_id);
}

Result<bj::object> Applications::getApplication(const Caller& c, std::string_view id) {
  return ownedApplication(c, id);
}

Result<bj::array> Applications::listApplicationsOfUser(const Caller& c, std::string_view user_id) {
  std::string username = c.username;
  if (user_id != c.user_id) {
    if (!c.isAdmin()) {
      return makeError(ErrorCode::kPermissionDenied,
                       "userid: you can only list your own applications");
    }
    OAK_TRY(requireObjectId(user_id, "userid"));
    OAK_ASSIGN_OR_RETURN(auto user, ctx_.store.get(coll::kUsers, user_id));
    if (!user)
      return makeError(ErrorCode::kNotFound, fmt::format("userid: no user with id '{}'", user_id));
    username = json::getString(*user, "name").value_or("");
  }
  OAK_ASSIGN_OR_RETURN(auto apps,
                       ctx_.store.find(coll::kApplications, "userId", bj::value(username)));
  bj::array out;
  for (auto& a : apps) out.push_back(std::move(a));
  return out;
}

Result<bj::array> Applications::listAllApplications() {
  OAK_ASSIGN_OR_RETURN(auto apps, ctx_.store.list(coll::kApplications));
  bj::array out;
  for (auto& a : apps) out.push_back(std::move(a));
  return out;
}

Result<bj::object> Applications::updateApplication(const Caller& c, std::string_view id,
                                                   const bj::object& body) {
  OAK_ASSIGN_OR_RETURN(auto app, ownedApplication(c, id));
  for (const char* key : {"application_name", "application_namespace"}) {
    auto it = body.find(key);
    if (it == body.end()) continue;
    if (!it->value().is_string() || !sla::isValidName(it->value().get_string())) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("{}: {} does not match ^[a-zA-Z0-9]{{1,30}}$", key,
                                   json::preview(it->value())));
    }
    app[key] = it->value();
  }
  if (auto it = body.find("application_desc"); it != body.end()) {
    if (!it->value().is_string()) {
      return makeError(
          ErrorCode::kUnprocessable,
          fmt::format("application_desc: {} is not of type 'string'", json::preview(it->value())));
    }
    app["application_desc"] = it->value();
  }
  // `microservices` is derived from the services themselves and is not writable here.
  auto name = json::getString(app, "application_name").value_or("");
  auto ns = json::getString(app, "application_namespace").value_or("");
  OAK_ASSIGN_OR_RETURN(auto same_name,
                       ctx_.store.find(coll::kApplications, "application_name", bj::value(name)));
  for (const auto& other : same_name) {
    if (Accounts::idOf(other) != id && json::getString(other, "application_namespace") == ns) {
      return makeError(ErrorCode::kConflict, fmt::format("application_name: an application '{}' "
                                                         "already exists in namespace '{}'",
                                                         name, ns));
    }
  }
  store::WriteBatch batch;
  std::set<std::string> job_names;
  OAK_ASSIGN_OR_RETURN(auto services,
                       ctx_.store.find(coll::kServices, "applicationID", bj::value(id)));
  for (auto& s : services) {
    deriveServiceFields(s, app);
    std::string sid = Accounts::idOf(s);
    OAK_TRY(checkJobNameFree(ctx_, std::string(s["job_name"].get_string()), job_names,
                             "application_name", sid));
    batch.put(coll::kServices, sid, std::move(s));
  }
  batch.put(coll::kApplications, std::string(id), app);
  OAK_TRY(ctx_.store.apply(batch));
  return app;
}

Status Applications::deleteApplication(const Caller& c, std::string_view id) {
  OAK_ASSIGN_OR_RETURN(auto app, ownedApplication(c, id));
  store::WriteBatch batch;
  auto addresses = ctx_.addresses->begin();
  OAK_ASSIGN_OR_RETURN(auto services,
                       ctx_.store.find(coll::kServices, "applicationID", bj::value(id)));
  for (const auto& s : services) OAK_TRY(stageServiceRemoval(s, addresses, batch));
  batch.erase(coll::kApplications, std::string(id));
  OAK_TRY(addresses.commitTo(batch));
  OAK_TRY(ctx_.store.apply(batch));
  for (const auto& s : services) withdrawAll(s);
  return {};
}

Result<std::string> Applications::createServices(const Caller& c, const bj::value& sla) {
  OAK_TRY(sla::validateSla(sla));
  const auto& apps = sla.get_object().at("applications").get_array();
  if (apps.empty()) {
    return makeError(ErrorCode::kUnprocessable,
                     "applications: must hold the application to add services to");
  }
  const auto& in = apps[0].get_object();
  auto app_id = json::getString(in, "applicationID");
  if (!app_id || app_id->empty()) {
    return makeError(ErrorCode::kUnprocessable,
                     "applications[0].applicationID: required to add services to an application");
  }
  if (!isObjectId(*app_id)) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("applications[0].applicationID: '{}' is not a valid id", *app_id));
  }
  OAK_ASSIGN_OR_RETURN(auto app, ownedApplication(c, *app_id));
  const auto& microservices = in.at("microservices").get_array();
  if (microservices.empty()) {
    return makeError(ErrorCode::kUnprocessable,
                     "applications[0].microservices: lists no service to add");
  }
  store::WriteBatch batch;
  auto addresses = ctx_.addresses->begin();
  std::set<std::string> job_names;
  OAK_ASSIGN_OR_RETURN(auto last_id, stageServices(microservices, app, "applications[0]", job_names,
                                                   addresses, batch));
  batch.put(coll::kApplications, *app_id, std::move(app));
  OAK_TRY(addresses.commitTo(batch));
  OAK_TRY(ctx_.store.apply(batch));
  return last_id;
}

Result<bj::object> Applications::getService(const Caller& c, std::string_view id) {
  return ownedService(c, id);
}

Result<bj::array> Applications::listServices(const Caller& c, std::string_view app_id) {
  OAK_TRY(ownedApplication(c, app_id));
  OAK_ASSIGN_OR_RETURN(auto services,
                       ctx_.store.find(coll::kServices, "applicationID", bj::value(app_id)));
  bj::array out;
  for (auto& s : services) out.push_back(std::move(s));
  return out;
}

Result<bj::array> Applications::listAllServices() {
  OAK_ASSIGN_OR_RETURN(auto services, ctx_.store.list(coll::kServices));
  bj::array out;
  for (auto& s : services) out.push_back(std::move(s));
  return out;
}

Result<bj::object> Applications::updateService(const Caller& c, std::string_view id,
                                               const bj::value& sla) {
  OAK_ASSIGN_OR_RETURN(auto current, ownedService(c, id));
  const bj::object* ms = nullptr;
  if (const auto* apps =
          sla.is_object() ? json::findArray(sla.get_object(), "applications") : nullptr;
      apps && !apps->empty() && apps->at(0).is_object()) {
    if (const auto* list = json::findArray(apps->at(0).get_object(), "microservices");
        list && !list->empty()) {
      ms = list->at(0).is_object() ? &list->at(0).get_object() : nullptr;
      if (!ms) OAK_TRY(sla::validateMicroservice(list->at(0), "applications[0].microservices[0]"));
    }
  }
  if (ms == nullptr) {
    return makeError(
        ErrorCode::kUnprocessable,
        "applications[0].microservices[0]: required (the new definition of the service)");
  }
  // Clients send back the document they read, id included; the id is not part of the definition.
  bj::object definition = *ms;
  definition.erase("microserviceID");
  ms = &definition;
  OAK_TRY(sla::validateMicroservice(*ms, "applications[0].microservices[0]"));
  for (const char* key : {"microservice_name", "microservice_namespace"}) {
    if (json::getString(*ms, key) != json::getString(current, key)) {
      return makeError(
          ErrorCode::kUnprocessable,
          fmt::format("applications[0].microservices[0].{}: a service cannot be renamed; "
                      "create a new one instead",
                      key));
    }
  }
  auto app_id = json::getString(current, "applicationID").value_or("");
  OAK_ASSIGN_OR_RETURN(auto app, ctx_.store.get(coll::kApplications, app_id));
  if (!app) return notFound("application", app_id);
  auto updated = replaceServiceDefinition(current, *ms);
  deriveServiceFields(updated, *app);

  // Keep the service's addresses unless the new definition asks for other ones.
  const auto* wanted = json::findObject(*ms, "addresses");
  std::map<std::string, std::string> current_ips = serviceIps(current);
  bool moves = false;
  bj::object requested;  // the new ones, and the current ones of the others
  for (const char* key : {"rr_ip", "rr_ip_v6", "closest_ip", "closest_ip_v6"}) {
    auto want = wanted ? json::getString(*wanted, key) : std::nullopt;
    auto have = current_ips.find(key);
    // A service stored before it had closest addresses gets them with its first change.
    moves = moves || (want && (have == current_ips.end() || *want != have->second));
    if (want || have != current_ips.end()) requested[key] = want ? *want : have->second;
  }
  store::WriteBatch batch;
  if (moves) {
    auto addresses = ctx_.addresses->begin();
    addresses.releaseServiceIps(current);
    OAK_ASSIGN_OR_RETURN(auto ips,
                         addresses.assignAll(std::string(id), &requested,
                                             "applications[0].microservices[0].addresses"));
    setServiceIps(updated, std::move(ips));
    OAK_TRY(addresses.commitTo(batch));
  }
  batch.put(coll::kServices, std::string(id), updated);
  OAK_TRY(ctx_.store.apply(batch));
  return updated;
}

Status Applications::deleteService(const Caller& c, std::string_view id) {
  OAK_ASSIGN_OR_RETURN(auto service, ownedService(c, id));
  store::WriteBatch batch;
  auto addresses = ctx_.addresses->begin();
  OAK_TRY(stageServiceRemoval(service, addresses, batch));
  auto app_id = json::getString(service, "applicationID").value_or("");
  OAK_ASSIGN_OR_RETURN(auto app, ctx_.store.get(coll::kApplications, app_id));
  if (app) {
    bj::array kept;
    if (const auto* ids = json::findArray(*app, "microservices")) {
      for (const auto& x : *ids) {
        if (!(x.is_string() && x.get_string() == id)) kept.push_back(x);
      }
    }
    (*app)["microservices"] = std::move(kept);
    batch.put(coll::kApplications, app_id, std::move(*app));
  }
  OAK_TRY(addresses.commitTo(batch));
  OAK_TRY(ctx_.store.apply(batch));
  withdrawAll(service);
  return {};
}

Status Applications::requestInstance(const Caller& c, std::string_view id) {
  OAK_ASSIGN_OR_RETURN(auto service, ownedService(c, id));
  service["status"] = "REQUESTED";
  service["status_detail"] = "Waiting for scheduling decision";
  store::WriteBatch batch;
  batch.put(coll::kServices, std::string(id), std::move(service));
  OAK_TRY(ctx_.store.apply(batch));
  scheduler_.enqueue(std::string(id));
  return {};
}

Status Applications::removeInstances(const Caller& c, std::string_view id,
                                     std::string_view instance_number) {
  int64_t n = 0;
  auto [p, ec] =
      std::from_chars(instance_number.data(), instance_number.data() + instance_number.size(), n);
  if (ec != std::errc() || p != instance_number.data() + instance_number.size() || n < -1) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("instance_number: '{}' is not an instance number (or -1 for all)",
                                 instance_number.substr(0, 32)));
  }
  OAK_ASSIGN_OR_RETURN(auto service, ownedService(c, id));
  bj::array kept;
  bj::array withdrawn;
  bool removed = false;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& inst : *list) {
      bool match =
          n == -1 || (inst.is_object() && json::getInt(inst.get_object(), "instance_number") == n);
      if (match) {
        removed = true;
        withdrawn.push_back(inst);
      } else {
        kept.push_back(inst);
      }
    }
  }
  if (!removed && n != -1) {
    return makeError(ErrorCode::kNotFound,
                     fmt::format("instance_number: the service has no instance {}", n));
  }
  service["instance_list"] = std::move(kept);
  store::WriteBatch batch;
  auto addresses = ctx_.addresses->begin();
  for (const auto& inst : withdrawn) {
    if (inst.is_object()) addresses.releaseInstance(inst.get_object());
  }
  OAK_TRY(addresses.commitTo(batch));
  batch.put(coll::kServices, std::string(id), service);
  OAK_TRY(ctx_.store.apply(batch));
  if (ctx_.routes) ctx_.routes->changed(nullptr, service);
  for (const auto& inst : withdrawn) withdraw(id, inst);
  return {};
}

void Applications::withdraw(std::string_view service_id, const bj::value& instance) {
  if (ctx_.clusters == nullptr || !instance.is_object()) return;
  auto cluster = json::getString(instance.get_object(), "cluster_id");
  auto n = json::getInt(instance.get_object(), "instance_number");
  if (cluster && n) ctx_.clusters->undeploy(*cluster, std::string(service_id), *n);
}

void Applications::withdrawAll(const bj::object& service) {
  if (ctx_.routes) ctx_.routes->gone(json::getString(service, "job_name").value_or(""));
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& inst : *list) withdraw(Accounts::idOf(service), inst);
  }
}

}  // namespace oak::root
