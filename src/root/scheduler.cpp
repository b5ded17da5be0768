#include "root/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>
#include <tuple>

#include "common/json.h"
#include "root/accounts.h"
#include "root/cluster_registry.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  const auto& v = it->value();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return 0;
}

bool hasString(const bj::object& o, std::string_view key, std::string_view wanted) {
  if (const auto* a = json::findArray(o, key)) {
    for (const auto& v : *a) {
      if (v.is_string() && v.get_string() == wanted) return true;
    }
  }
  return false;
}

struct Capacity {
  double cores = 0;
  double memory_mb = 0;
  double gpus = 0;
};

// Free capacity of a cluster for the service's runtime and architectures; nullopt if it cannot
// run the service at all.
std::optional<Capacity> capacityFor(const bj::object& cluster, const bj::object& service) {
  auto virt = json::getString(service, "virtualization").value_or("docker");
  if (!hasString(cluster, "virtualization", virt)) return std::nullopt;
  Capacity c;
  // Usage percentages are averages over nodes (0..100), unlike the original's sums.
  c.cores = number(cluster, "total_cpu_cores") *
            (100 - std::min(100.0, number(cluster, "aggregated_cpu_percent"))) / 100;
  c.memory_mb = number(cluster, "memory_in_mb");
  c.gpus = number(cluster, "total_gpu_cores") *
           (100 - std::min(100.0, number(cluster, "total_gpu_percent"))) / 100;
  if (const auto* arch = json::findArray(service, "arch"); arch && !arch->empty()) {
    const auto* per_arch = json::findObject(cluster, "aggregation_per_architecture");
    std::optional<Capacity> best;
    for (const auto& a : *arch) {
      if (!a.is_string() || per_arch == nullptr) continue;
      const auto* agg = json::findObject(*per_arch, a.get_string());
      if (agg == nullptr) continue;
      Capacity ac{
          number(*agg, "cpu_cores") * (100 - std::min(100.0, number(*agg, "cpu_percent"))) / 100,
          number(*agg, "memory_in_mb"), c.gpus};
      if (!best || std::tie(ac.cores, ac.memory_mb) > std::tie(best->cores, best->memory_mb))
        best = ac;
    }
    return best;
  }
  return c;
}

bool fits(const Capacity& c, const bj::object& service) {
  return c.cores >= number(service, "vcpus") && c.memory_mb >= number(service, "memory") &&
         c.gpus >= number(service, "vgpus");
}

// Active: connected to the root and reporting within the lease.
bool isActive(const bj::object& cluster, double now) {
  auto c = cluster.find("connected");
  if (c != cluster.end() && c->value() == false) return false;
  return number(cluster, "last_modified_timestamp") > now - kClusterActiveSeconds;
}

}  // namespace

Placement decidePlacement(const bj::object& service, const std::vector<bj::object>& clusters,
                          double now) {
  if (const auto* constraints = json::findArray(service, "constraints")) {
    for (const auto& con : *constraints) {
      if (!con.is_object() || json::getString(con.get_object(), "type") != "direct") continue;
      auto target = json::getString(con.get_object(), "cluster");
      if (!target || target->empty()) continue;  // a node-only constraint is the cluster's business
      for (const auto& cl : clusters) {
        if (json::getString(cl, "cluster_name") != *target) continue;
        if (!isActive(cl, now)) {
          return {false, "", "TargetClusterNotActive",
                  fmt::format("cluster '{}' is not active", *target)};
        }
        auto cap = capacityFor(cl, service);
        if (!cap || !fits(*cap, service)) {
          return {false, "", "TargetClusterNoCapacity",
                  fmt::format("cluster '{}' cannot host the service's requirements", *target)};
        }
        return {true, Accounts::idOf(cl), "", ""};
      }
      return {false, "", "TargetClusterNotFound", fmt::format("no cluster named '{}'", *target)};
    }
  }
  const bj::object* best = nullptr;
  Capacity best_cap;
  for (const auto& cl : clusters) {
    if (!isActive(cl, now)) continue;
    auto cap = capacityFor(cl, service);
    if (!cap || !fits(*cap, service)) continue;
    auto name = json::getString(cl, "cluster_name").value_or("");
    bool better = best == nullptr || cap->cores > best_cap.cores ||
                  (cap->cores == best_cap.cores && cap->memory_mb > best_cap.memory_mb) ||
                  (cap->cores == best_cap.cores && cap->memory_mb == best_cap.memory_mb &&
                   name < json::getString(*best, "cluster_name").value_or(""));
    if (better) {
      best = &cl;
      best_cap = *cap;
    }
  }
  if (best == nullptr) {
    return {false, "", "NoActiveClusterWithCapacity",
            clusters.empty() ? "no cluster is registered"
                             : "no active cluster has the capacity and runtime this service needs"};
  }
  return {true, Accounts::idOf(*best), "", ""};
}

void Scheduler::enqueue(std::string service_id) {
  ctx_.loop.post([this, id = std::move(service_id)] {
    if (auto s = placeNow(id); !s) {
      spdlog::error("placing an instance of service {} failed: {}", id, s.error().message);
    }
  });
}

Status Scheduler::placeNow(const std::string& service_id) {
  OAK_ASSIGN_OR_RETURN(auto service, ctx_.store.get(coll::kServices, service_id));
  if (!service) return {};  // deleted in the meantime
  OAK_ASSIGN_OR_RETURN(auto clusters, ctx_.store.list(coll::kClusters));
  double now = std::chrono::duration<double>(ctx_.clock.now().time_since_epoch()).count();
  auto p = decidePlacement(*service, clusters, now);
  if (!p.ok) {
    (*service)["status"] = p.status;
    (*service)["status_detail"] = p.detail;
    spdlog::info("service {}: {} ({})", service_id, p.status, p.detail);
  } else {
    // The instance is recorded here; handing it to the cluster is the cluster link's job.
    int64_t n = json::getInt(*service, "next_instance_progressive_number").value_or(0);
    std::string location;
    for (const auto& cl : clusters) {
      if (Accounts::idOf(cl) == p.cluster_id)
        location = json::getString(cl, "cluster_location").value_or("");
    }
    auto& list = (*service)["instance_list"];
    if (!list.is_array()) list = bj::array{};
    list.as_array().push_back(
        bj::object{{"instance_number", n},
                   {"cluster_id", p.cluster_id},
                   {"cluster_location", location.empty() ? "location-unknown" : location},
                   {"status", "CLUSTER_SCHEDULED"}});
    (*service)["next_instance_progressive_number"] = n + 1;
    (*service)["status"] = "CLUSTER_SCHEDULED";
    (*service)["status_detail"] = "Waiting for the cluster to place the instance";
  }
  store::WriteBatch batch;
  batch.put(coll::kServices, service_id, *service);
  OAK_TRY(ctx_.store.apply(batch));
  if (p.ok && ctx_.clusters) {
    int64_t n = json::getInt(*service, "next_instance_progressive_number").value_or(1) - 1;
    ctx_.clusters->deploy(p.cluster_id, *service, n);
  }
  return {};
}

}  // namespace oak::root
