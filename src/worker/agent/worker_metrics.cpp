#include "worker/agent/worker_metrics.h"

namespace oak::worker {

MeteredRuntime::MeteredRuntime(std::unique_ptr<Runtime> inner, metrics::Registry& registry)
    : inner_(std::move(inner)),
      launches_(registry.counter("oakestra_worker_instance_launches_total",
                                 "Instance launches, by runtime and result.",
                                 {"runtime", "result"})),
      duration_(registry
                    .histogram("oakestra_worker_instance_launch_duration_seconds",
                               "Time from launch to a running instance (image pull included), "
                               "by runtime.",
                               {"runtime"}, metrics::slowBuckets())
                    .labels({inner_->name()})) {}

void MeteredRuntime::launch(const InstanceSpec& spec,
                            std::function<void(Result<LaunchResult>)> done) {
  auto started = std::chrono::steady_clock::now();
  inner_->launch(spec, [this, started, done = std::move(done)](Result<LaunchResult> r) {
    if (!r) {
      launches_.labels({inner_->name(), "failure"}).inc();
    } else if (*r == LaunchResult::kSuccess) {
      launches_.labels({inner_->name(), "success"}).inc();
      duration_.observeSince(started);
    } else if (*r == LaunchResult::kAlreadyLaunched) {
      launches_.labels({inner_->name(), "already_running"}).inc();
    }
    done(std::move(r));
  });
}

std::vector<std::unique_ptr<Runtime>> metered(std::vector<std::unique_ptr<Runtime>> runtimes,
                                              metrics::Registry& registry) {
  for (auto& r : runtimes) r = std::make_unique<MeteredRuntime>(std::move(r), registry);
  return runtimes;
}

void addRunningCollector(metrics::Registry& registry, const Runtime& runtime) {
  registry.addCollector([&runtime](metrics::Exposition& out) {
    out.family("oakestra_worker_instances_running", "Instances the runtimes run.",
               metrics::Type::kGauge);
    out.sample("oakestra_worker_instances_running", static_cast<double>(runtime.list().size()));
  });
}

PullMetrics::PullMetrics(metrics::Registry& r)
    : pulls_(r.counter("oakestra_worker_image_pulls_total",
                       "Image pulls from registries, by result.", {"result"})),
      succeeded_(pulls_.labels({"success"})),
      failed_(pulls_.labels({"failure"})),
      duration_(r.histogram("oakestra_worker_image_pull_duration_seconds",
                            "Time an image pull took (successful or not).", {},
                            metrics::slowBuckets())
                    .get()) {}

void PullMetrics::pulled(bool ok, std::chrono::steady_clock::duration took) const {
  (ok ? succeeded_ : failed_).inc();
  duration_.observe(took);
}

void addOverlayCollector(metrics::Registry& registry,
                         std::function<std::optional<overlay::ProxyCounters>()> read) {
  registry.addCollector([read = std::move(read)](metrics::Exposition& out) {
    auto c = read();
    if (!c) return;
    using metrics::Type;
    auto d = [](uint64_t v) { return static_cast<double>(v); };
    out.family("oakestra_overlay_packets_total",
               "Packets of the overlay data path: read from the TUN device and the tunnel, "
               "written to the TUN device and sent to other workers.",
               Type::kCounter);
    struct Way {
      std::string_view direction;
      uint64_t packets, bytes;
    };
    const Way ways[] = {{"from_tun", c->tun_packets, c->tun_bytes},
                        {"from_tunnel", c->tunnel_packets, c->tunnel_bytes},
                        {"to_tun", c->to_tun_packets, c->to_tun_bytes},
                        {"to_tunnel", c->to_peer_packets, c->to_peer_bytes}};
    for (const auto& w : ways) {
      out.sample("oakestra_overlay_packets_total", {{"direction", w.direction}}, d(w.packets));
    }
    out.family("oakestra_overlay_bytes_total", "Bytes of those packets.", Type::kCounter);
    for (const auto& w : ways) {
      out.sample("oakestra_overlay_bytes_total", {{"direction", w.direction}}, d(w.bytes));
    }
    out.family("oakestra_overlay_drops_total", "Packets the data path dropped, by reason.",
               Type::kCounter);
    for (size_t i = 1; i < overlay::kDropReasonCount; ++i) {
      out.sample("oakestra_overlay_drops_total",
                 {{"reason", overlay::toString(static_cast<overlay::DropReason>(i))}},
                 d(c->drops[i]));
    }
    out.family("oakestra_overlay_flows_total", "Flow table events.", Type::kCounter);
    out.sample("oakestra_overlay_flows_total", {{"event", "created"}}, d(c->flows_created));
    out.sample("oakestra_overlay_flows_total", {{"event", "expired"}}, d(c->flows_expired));
    out.sample("oakestra_overlay_flows_total", {{"event", "refused"}}, d(c->flows_refused));
    out.sample("oakestra_overlay_flows_total", {{"event", "rebalanced"}}, d(c->flows_rebalanced));
    auto one = [&](std::string_view name, std::string_view help, uint64_t v) {
      out.family(name, help, Type::kCounter);
      out.sample(name, d(v));
    };
    one("oakestra_overlay_icmp_errors_total", "ICMP errors the data path generated.",
        c->icmp_errors);
    one("oakestra_overlay_route_queries_total",
        "Addresses without a route that were asked of the cluster.", c->queries);
    one("oakestra_overlay_probes_answered_total", "Round-trip probes of other workers answered.",
        c->probes_answered);
    one("oakestra_overlay_probe_replies_total", "Replies to this worker's round-trip probes.",
        c->probe_replies);
  });
}

}  // namespace oak::worker
