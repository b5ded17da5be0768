// The metrics library on the hot path (an increment, an observation, a label lookup) and the
// render of a cluster's /metrics body with 1,000 workers and 1,000 instances (docs/benchmarks.md;
// bench/cluster_scale.sh measures the same endpoint over HTTP against real workers).

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <memory>
#include <string>

#include "cluster/cluster_metrics.h"
#include "cluster/orchestrator.h"
#include "common/clock.h"
#include "link/messages.h"
#include "metrics/metrics.h"
#include "metrics/process_metrics.h"
#include "mqtt/memory_bus.h"
#include "store/memory_store.h"

namespace {

namespace bj = boost::json;
using oak::metrics::Registry;

void BM_CounterInc(benchmark::State& state) {
  Registry r;
  auto& c = r.counter("bench_total", "Bench.", {"kind"}).labels({"a"});
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  Registry r;
  auto& h = r.histogram("bench_seconds", "Bench.", {}, oak::metrics::latencyBuckets()).get();
  double v = 0;
  for (auto _ : state) {
    h.observe(v);
    v = v < 5 ? v + 0.001 : 0;
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

void BM_LabelLookup(benchmark::State& state) {
  Registry r;
  auto& f = r.counter("bench_total", "Bench.", {"route", "method", "code"});
  for (auto _ : state) f.labels({"/api/service/{service_id}", "GET", "200"}).inc();
}
BENCHMARK(BM_LabelLookup);

// A cluster orchestrator that heard from `workers` workers and holds one instance per worker.
struct Cluster {
  explicit Cluster(int workers) {
    spdlog::set_level(spdlog::level::warn);  // a line per registered worker otherwise
    oak::cluster::OrchestratorOptions o;
    o.name = "bench";
    orchestrator = std::make_unique<oak::cluster::Orchestrator>(
        oak::cluster::Orchestrator::Deps{store, clock, *bus, [](std::string) {}}, o);
    metrics = std::make_unique<oak::cluster::OrchestratorMetrics>(registry);
    orchestrator->setMetrics(metrics.get());
    bj::object report{{"cores_total", 4},
                      {"cores_free", 4},
                      {"memory_total_mb", 8192},
                      {"memory_free_mb", 8192},
                      {"runtimes", bj::array{"docker"}}};
    for (int i = 0; i < workers; ++i) {
      auto account = orchestrator->registerWorker(fmt::format("worker-{:04}", i));
      orchestrator->onBusMessage(
          {fmt::format("nodes/{}/information", account->id), bj::serialize(report)});
    }
    for (int i = 0; i < workers; ++i) {
      bj::object service{{"_id", bj::object{{"$oid", fmt::format("65f0000000000000{:08}", i)}}},
                         {"job_name", fmt::format("app.ns.svc{}.ns", i)},
                         {"image", "docker.io/library/nginx:latest"},
                         {"virtualization", "docker"},
                         {"memory", 10},
                         {"vcpus", 0.1}};
      orchestrator->onRootMessage(oak::link::encodeDeploy({service, 0}));
    }
    oak::metrics::addProcessMetrics(registry, "cluster");
    oak::cluster::addClusterCollector(registry, *orchestrator, [] { return true; });
  }
  oak::store::InMemoryStore store;
  oak::SimulatedClock clock;
  oak::mqtt::InMemoryBroker broker;
  std::unique_ptr<oak::mqtt::MessageBus> bus = broker.connect("cluster");
  Registry registry;
  std::unique_ptr<oak::cluster::OrchestratorMetrics> metrics;
  std::unique_ptr<oak::cluster::Orchestrator> orchestrator;
};

void BM_RenderCluster(benchmark::State& state) {
  Cluster cluster(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    out.reserve(64 * 1024);
    cluster.registry.render(out);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderCluster)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
