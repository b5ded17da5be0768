#include "root/service_routes.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "link/net_messages.h"
#include "net/ip.h"
#include "root/cluster_registry.h"
#include "root/service_addresses.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

constexpr std::string_view kRunning = "RUNNING";

// The canonical text of an address, or nothing when `key` is not one.
std::optional<std::string> canonicalAddress(const std::string& key) {
  if (auto a = net::Ipv4Address::parse(key)) return a->toString();
  if (auto a = net::Ipv6Address::parse(key)) return a->toString();
  return std::nullopt;
}

}  // namespace

bool ServiceRoutes::handles(std::string_view type) {
  return type == "subnet_request" || type == "table_query" || type == "interest_remove";
}

bj::object ServiceRoutes::routesOf(const bj::object& service) {
  bj::array instances;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& v : *list) {
      if (!v.is_object()) continue;
      const auto& inst = v.get_object();
      auto nsip = json::getString(inst, "namespace_ip");
      if (json::getString(inst, "status") != kRunning || !nsip || nsip->empty()) continue;
      bj::object route;
      for (const char* key : {"instance_number", "worker_id", "instance_ip", "instance_ip_v6",
                              "namespace_ip", "namespace_ip_v6", "host_ip", "host_port"}) {
        if (const auto* field = inst.if_contains(key)) route[key] = *field;
      }
      instances.push_back(std::move(route));
    }
  }
  const auto* ips = json::findArray(service, "service_ip_list");
  return bj::object{{"job_name", json::getString(service, "job_name").value_or("")},
                    {"service_ip_list", ips ? *ips : bj::array{}},
                    {"instance_list", std::move(instances)}};
}

Result<std::optional<bj::object>> ServiceRoutes::lookup(const std::string& key) {
  std::optional<bj::object> service;
  if (auto address = canonicalAddress(key)) {
    OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kAddresses, *address));
    auto service_id = doc ? json::getString(*doc, "service_id") : std::nullopt;
    if (service_id && !service_id->empty()) {
      OAK_ASSIGN_OR_RETURN(service, ctx_.store.get(coll::kServices, *service_id));
    }
  } else {
    OAK_ASSIGN_OR_RETURN(auto found, ctx_.store.find(coll::kServices, "job_name", bj::value(key)));
    if (!found.empty()) service = std::move(found.front());
  }
  if (!service) return std::optional<bj::object>{};
  return std::optional<bj::object>{routesOf(*service)};
}

Status ServiceRoutes::onMessage(const std::string& cluster_id, const link::Envelope& e) {
  if (e.type == "subnet_request") {
    OAK_ASSIGN_OR_RETURN(auto r, link::subnetRequestFrom(e));
    auto tx = ctx_.addresses->begin();
    link::Subnet answer{r.worker_id, "", "", ""};
    auto subnets = tx.assignSubnets(cluster_id, r.worker_id);
    store::WriteBatch batch;
    Status stored = subnets ? tx.commitTo(batch) : Status(subnets.error());
    if (stored) stored = ctx_.store.apply(batch);
    if (stored) {
      answer.subnet = json::getString(*subnets, "subnet").value_or("");
      answer.subnet_v6 = json::getString(*subnets, "subnet_v6").value_or("");
    } else {
      answer.error = stored.error().message;
      spdlog::error("subnets for worker {} of cluster {}: {}", r.worker_id, cluster_id,
                    answer.error);
    }
    if (ctx_.clusters) ctx_.clusters->send(cluster_id, link::encodeSubnet(answer));
    return {};
  }
  if (e.type == "table_query") {
    OAK_ASSIGN_OR_RETURN(auto q, link::tableQueryFrom(e));
    OAK_ASSIGN_OR_RETURN(auto routes, lookup(q.key));
    if (routes) {
      interests_[cluster_id].insert(json::getString(*routes, "job_name").value_or(""));
    }
    if (ctx_.clusters) ctx_.clusters->send(cluster_id, link::encodeTable({q.key, routes}));
    return {};
  }
  if (e.type == "interest_remove") {
    OAK_ASSIGN_OR_RETURN(auto job, link::interestRemoveFrom(e));
    if (auto it = interests_.find(cluster_id); it != interests_.end()) it->second.erase(job);
    return {};
  }
  return makeError(ErrorCode::kInvalidArgument, "not an overlay message");
}

void ServiceRoutes::onClusterGone(const std::string& cluster_id) {
  interests_.erase(cluster_id);
}

void ServiceRoutes::push(const std::string& job_name, const std::optional<bj::object>& routes) {
  if (ctx_.clusters == nullptr) return;
  std::string text;
  for (const auto& [cluster_id, jobs] : interests_) {
    if (!jobs.count(job_name)) continue;
    if (text.empty()) text = link::encodeTableUpdate({job_name, routes});
    ctx_.clusters->send(cluster_id, text);
  }
}

void ServiceRoutes::changed(const bj::object* before, const bj::object& after) {
  auto routes = routesOf(after);
  if (before != nullptr && routesOf(*before) == routes) return;
  push(json::getString(after, "job_name").value_or(""), routes);
}

void ServiceRoutes::gone(const std::string& job_name) {
  push(job_name, std::nullopt);
  for (auto& [cluster_id, jobs] : interests_) jobs.erase(job_name);
}

}  // namespace oak::root
