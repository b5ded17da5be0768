#include "root/root_metrics.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <string>

#include "common/json.h"
#include "root/accounts.h"
#include "root/cluster_registry.h"
#include "root/scheduler.h"

namespace oak::root {

namespace bj = boost::json;
using metrics::Type;

namespace {

constexpr double kBytesPerMb = 1024.0 * 1024.0;
constexpr size_t kMaxStatuses = 32;

double lastReport(const bj::object& cluster) {
  const auto* v = cluster.if_contains("last_modified_timestamp");
  return v && v->is_number() ? v->to_number<double>() : 0;
}

void clusters(metrics::Exposition& out, RootContext& ctx) {
  auto docs = ctx.store.list(coll::kClusters);
  if (!docs) return spdlog::warn("metrics: clusters: {}", docs.error().message);
  double now = std::chrono::duration<double>(ctx.clock.now().time_since_epoch()).count();
  // The scheduler's view decides "active", so the metric and placements agree.
  std::map<std::string, sched::Resources> resources;
  for (auto& r : clusterResources(*docs, now)) resources.emplace(r.id, std::move(r));
  struct Gauge {
    std::string_view name, help;
    double (*value)(const sched::Resources&);
  };
  static constexpr Gauge kCapacity[] = {
      {"oakestra_root_cluster_workers", "Active workers the cluster reports.",
       [](const sched::Resources& r) { return static_cast<double>(r.nodes); }},
      {"oakestra_root_cluster_cpu_cores", "CPU cores of the cluster's active workers.",
       [](const sched::Resources& r) { return r.cores_total; }},
      {"oakestra_root_cluster_cpu_cores_free", "Free CPU cores of the cluster's active workers.",
       [](const sched::Resources& r) { return r.cores_free; }},
      {"oakestra_root_cluster_memory_bytes", "Memory of the cluster's active workers, in bytes.",
       [](const sched::Resources& r) { return r.memory_total_mb * kBytesPerMb; }},
      {"oakestra_root_cluster_memory_free_bytes",
       "Free memory of the cluster's active workers, in bytes.",
       [](const sched::Resources& r) { return r.memory_free_mb * kBytesPerMb; }},
  };
  struct Row {
    std::string name;
    bool connected;
    double last_report;
    const sched::Resources* resources;
  };
  std::vector<Row> rows;
  size_t active = 0;
  for (const auto& doc : *docs) {
    std::string id = Accounts::idOf(doc);
    auto r = resources.find(id);
    rows.push_back({json::getString(doc, "cluster_name").value_or(id),
                    ctx.clusters != nullptr && ctx.clusters->connected(id), lastReport(doc),
                    r == resources.end() ? nullptr : &r->second});
    active += rows.back().resources && rows.back().resources->active;
  }
  out.family("oakestra_root_clusters",
             "Registered clusters, by state (active: connected and "
             "reporting, as the scheduler sees them).",
             Type::kGauge);
  out.sample("oakestra_root_clusters", {{"state", "active"}}, static_cast<double>(active));
  out.sample("oakestra_root_clusters", {{"state", "inactive"}},
             static_cast<double>(rows.size() - active));
  auto each = [&](std::string_view name, std::string_view help, auto value) {
    out.family(name, help, Type::kGauge);
    for (const auto& row : rows) {
      if (auto v = value(row)) out.sample(name, {{"cluster", row.name}}, *v);
    }
  };
  each("oakestra_root_cluster_connected", "1 while the cluster's link to the root is up, else 0.",
       [](const Row& r) { return std::optional<double>(r.connected ? 1 : 0); });
  each("oakestra_root_cluster_active",
       "1 while the cluster is connected and reported recently (placements go there), else 0.",
       [](const Row& r) {
         return std::optional<double>(r.resources && r.resources->active ? 1 : 0);
       });
  each("oakestra_root_cluster_last_report_timestamp_seconds",
       "When the cluster last reported, since the Unix epoch.", [](const Row& r) {
         return r.last_report > 0 ? std::optional(r.last_report) : std::nullopt;
       });
  for (const auto& g : kCapacity) {
    each(g.name, g.help, [&g](const Row& r) {
      return r.resources ? std::optional(g.value(*r.resources)) : std::nullopt;
    });
  }
}

void instances(metrics::Exposition& out, RootContext& ctx) {
  auto services = ctx.store.list(coll::kServices);
  if (!services) return spdlog::warn("metrics: services: {}", services.error().message);
  std::map<std::string, size_t> counts;
  // The usual statuses are always listed, so that dashboards and alerts see zeros.
  for (const char* s :
       {"CLUSTER_SCHEDULED", "NODE_SCHEDULED", "RUNNING", "FAILED", "DEAD", "COMPLETED"}) {
    counts[s] = 0;
  }
  for (const auto& svc : *services) {
    const auto* list = json::findArray(svc, "instance_list");
    if (list == nullptr) continue;
    for (const auto& inst : *list) {
      if (!inst.is_object()) continue;
      std::string status = json::getString(inst.get_object(), "status").value_or("UNKNOWN");
      // Statuses come from clusters: a cluster sending made-up ones must not add series forever.
      if (counts.size() >= kMaxStatuses && !counts.contains(status)) status = "OTHER";
      ++counts[status];
    }
  }
  out.family("oakestra_root_services", "Services of all applications.", Type::kGauge);
  out.sample("oakestra_root_services", static_cast<double>(services->size()));
  out.family("oakestra_root_instances", "Instances of all services, by status.", Type::kGauge);
  for (const auto& [status, n] : counts) {
    out.sample("oakestra_root_instances", {{"status", status}}, static_cast<double>(n));
  }
}

}  // namespace

RootMetrics::RootMetrics(metrics::Registry& r)
    : placement(r, sched::Level::kRoot),
      messages_(r.counter("oakestra_root_cluster_messages_total",
                          "Messages received on cluster links, by type.", {"type"})) {}

void RootMetrics::clusterMessage(std::string_view type) const {
  messages_.labels({type}).inc();
}

void addRootCollector(metrics::Registry& registry, RootContext& ctx) {
  registry.addCollector([&ctx](metrics::Exposition& out) {
    clusters(out, ctx);
    instances(out, ctx);
  });
}

}  // namespace oak::root
