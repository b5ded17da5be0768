#include "cluster/cluster_metrics.h"

namespace oak::cluster {

namespace {

constexpr double kBytesPerMb = 1024.0 * 1024.0;

double epochSeconds(Clock::TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

OrchestratorMetrics::OrchestratorMetrics(metrics::Registry& r)
    : placement(r, sched::Level::kCluster),
      registrations(r.counter("oakestra_cluster_worker_registrations_total",
                              "Worker registrations (first ones and re-registrations).")
                        .get()),
      workers_lost(r.counter("oakestra_cluster_workers_lost_total",
                             "Workers declared lost because their lease ran out.")
                       .get()) {}

void addClusterCollector(metrics::Registry& registry, const Orchestrator& orchestrator,
                         std::function<bool()> root_connected) {
  registry.addCollector([&orchestrator,
                         root_connected = std::move(root_connected)](metrics::Exposition& out) {
    using metrics::Type;
    out.family("oakestra_cluster_root_connected", "1 while the link to the root is up, else 0.",
               Type::kGauge);
    out.sample("oakestra_cluster_root_connected", root_connected() ? 1 : 0);

    out.family("oakestra_cluster_worker_active",
               "1 while the worker reports within its lease, else 0 (lost).", Type::kGauge);
    size_t active = 0, inactive = 0;
    double cores = 0, cores_free = 0, memory = 0, memory_free = 0;
    orchestrator.forEachWorker([&](const Orchestrator::WorkerView& w) {
      out.sample("oakestra_cluster_worker_active", {{"worker", w.name}}, w.active ? 1 : 0);
      (w.active ? active : inactive)++;
      if (!w.active) return;
      cores += w.resources.cores_total;
      cores_free += w.resources.cores_free;
      memory += w.resources.memory_total_mb * kBytesPerMb;
      memory_free += w.resources.memory_free_mb * kBytesPerMb;
    });
    out.family("oakestra_cluster_worker_last_seen_timestamp_seconds",
               "When the cluster last heard from the worker, since the Unix epoch.", Type::kGauge);
    orchestrator.forEachWorker([&](const Orchestrator::WorkerView& w) {
      out.sample("oakestra_cluster_worker_last_seen_timestamp_seconds", {{"worker", w.name}},
                 epochSeconds(w.last_seen));
    });
    out.family("oakestra_cluster_workers", "Registered workers, by state (active or lost).",
               Type::kGauge);
    out.sample("oakestra_cluster_workers", {{"state", "active"}}, static_cast<double>(active));
    out.sample("oakestra_cluster_workers", {{"state", "inactive"}}, static_cast<double>(inactive));
    auto capacity = [&](std::string_view name, std::string_view help, double v) {
      out.family(name, help, Type::kGauge);
      out.sample(name, v);
    };
    capacity("oakestra_cluster_cpu_cores", "CPU cores of the active workers.", cores);
    capacity("oakestra_cluster_cpu_cores_free", "Free CPU cores of the active workers.",
             cores_free);
    capacity("oakestra_cluster_memory_bytes", "Memory of the active workers, in bytes.", memory);
    capacity("oakestra_cluster_memory_free_bytes", "Free memory of the active workers, in bytes.",
             memory_free);

    // The usual statuses are always listed, so that dashboards and alerts see zeros.
    auto counts = orchestrator.instanceCounts();
    for (std::string_view s : {"CLUSTER_SCHEDULED", "NODE_SCHEDULED", "RUNNING", "FAILED", "DEAD",
                               "COMPLETED", "NO_WORKER_CAPACITY"}) {
      counts.try_emplace(std::string(s), 0);
    }
    out.family("oakestra_cluster_instances", "Instances this cluster holds, by status.",
               Type::kGauge);
    for (const auto& [status, n] : counts) {
      out.sample("oakestra_cluster_instances", {{"status", status}}, static_cast<double>(n));
    }
  });
}

}  // namespace oak::cluster
