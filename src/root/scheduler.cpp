#include "root/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <tuple>

#include "common/json.h"
#include "root/accounts.h"
#include "root/alerts.h"
#include "root/cluster_registry.h"
#include "root/root_metrics.h"
#include "root/service_addresses.h"
#include "scheduler/scheduler.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

}  // namespace

std::vector<sched::Resources> clusterResources(const std::vector<bj::object>& clusters,
                                               double now) {
  std::vector<sched::Resources> out;
  for (const auto& c : clusters) {
    std::string id = Accounts::idOf(c);
    std::string name = json::getString(c, "cluster_name").value_or(id);
    bj::object r;
    if (const auto* reported = json::findObject(c, "resources")) r = *reported;
    r["id"] = id;
    r["name"] = name;
    auto res = sched::resourcesFromJson(r);
    if (!res) {
      spdlog::warn("cluster '{}' has unusable resources: {}", name, res.error().message);
      continue;
    }
    auto connected = c.find("connected");
    res->active = (connected == c.end() || connected->value() != false) &&
                  number(c, "last_modified_timestamp") > now - kClusterActiveSeconds;
    out.push_back(std::move(*res));
  }
  return out;
}

void Scheduler::enqueue(std::string service_id) {
  ctx_.loop.post([this, id = std::move(service_id)] {
    if (auto s = placeNow(id); !s) {
      spdlog::error("placing an instance of service {} failed: {}", id, s.error().message);
      if (ctx_.metrics) ctx_.metrics->placement.decided("error");
    }
  });
}

Status Scheduler::placeNow(const std::string& service_id) {
  OAK_ASSIGN_OR_RETURN(auto service, ctx_.store.get(coll::kServices, service_id));
  if (!service) return {};  // deleted in the meantime
  OAK_ASSIGN_OR_RETURN(auto clusters, ctx_.store.list(coll::kClusters));
  double now = std::chrono::duration<double>(ctx_.clock.now().time_since_epoch()).count();
  sched::Placement p;
  auto addresses = ctx_.addresses->begin();
  std::optional<std::chrono::steady_clock::duration> took;
  if (auto req = sched::requirementsFromService(*service); !req) {
    p = {false, "", "FAILED", req.error().message};
  } else {
    auto started = std::chrono::steady_clock::now();
    sched::Scheduler engine(sched::Level::kRoot);
    for (auto& r : clusterResources(clusters, now)) engine.upsertNode(std::move(r));
    p = clusters.empty()
            ? sched::Placement{false, "", std::string(sched::kNoActiveClusterWithCapacity),
                               "no cluster is registered"}
            : engine.place(*req);
    took = std::chrono::steady_clock::now() - started;
  }
  if (!p.ok) {
    (*service)["status"] = p.status;
    (*service)["status_detail"] = p.detail;
    spdlog::info("service {}: {} ({})", service_id, p.status, p.detail);
    if (ctx_.alerts) ctx_.alerts->placementFailed("root");
  } else {
    // The instance is recorded here; handing it to the cluster is the cluster link's job.
    int64_t n = json::getInt(*service, "next_instance_progressive_number").value_or(0);
    std::string location;
    for (const auto& cl : clusters) {
      if (Accounts::idOf(cl) == p.node_id)
        location = json::getString(cl, "cluster_location").value_or("");
    }
    // The instance IPs are known before the instance runs, so clients can be configured with
    // them and they survive re-placements of the instance.
    OAK_ASSIGN_OR_RETURN(auto ips, addresses.assignInstance(service_id, n));
    auto& list = (*service)["instance_list"];
    if (!list.is_array()) list = bj::array{};
    list.as_array().push_back(
        bj::object{{"instance_number", n},
                   {"cluster_id", p.node_id},
                   {"cluster_location", location.empty() ? "location-unknown" : location},
                   {"status", "CLUSTER_SCHEDULED"},
                   {"instance_ip", ips["instance_ip"]},
                   {"instance_ip_v6", ips["instance_ip_v6"]}});
    (*service)["next_instance_progressive_number"] = n + 1;
    (*service)["status"] = "CLUSTER_SCHEDULED";
    (*service)["status_detail"] = "Waiting for the cluster to place the instance";
  }
  store::WriteBatch batch;
  batch.put(coll::kServices, service_id, *service);
  OAK_TRY(addresses.commitTo(batch));
  OAK_TRY(ctx_.store.apply(batch));
  // Counted once recorded: a failure before is counted as an "error" by `enqueue`.
  if (ctx_.metrics) {
    std::string_view result = p.ok ? "placed" : took ? std::string_view(p.status) : "invalid";
    ctx_.metrics->placement.decided(result, took);
  }
  if (p.ok && ctx_.clusters) {
    int64_t n = json::getInt(*service, "next_instance_progressive_number").value_or(1) - 1;
    ctx_.clusters->deploy(p.node_id, *service, n);
  }
  return {};
}

}  // namespace oak::root
