// Placement throughput of the scheduler over synthetic workers. Each iteration places one
// instance and releases it again, so the capacity (and thus the work per decision) stays the same.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "scheduler/requirements.h"
#include "scheduler/scheduler.h"

namespace oak::sched {
namespace {

// Workers of assorted sizes, half amd64 and half arm64, a quarter also running unikernels,
// spread over a 10° × 10° area, with 10–90 % of cores and memory in use.
Scheduler makeCluster(int workers) {
  Scheduler s(Level::kCluster);
  for (int i = 0; i < workers; ++i) {
    Resources r;
    r.id = fmt::format("{:024x}", i);
    r.name = fmt::format("worker-{}", i);
    r.location = GeoPoint{45.0 + (i % 100) * 0.1, 5.0 + (i / 100 % 100) * 0.1};
    double used = 0.1 + 0.1 * (i % 9);
    r.cores_total = 2 << (i % 4);
    r.cores_free = r.cores_total * (1 - used);
    r.memory_total_mb = 2048.0 * (1 + i % 16);
    r.memory_free_mb = r.memory_total_mb * (1 - used);
    r.disk_total_mb = r.disk_free_mb = 100000;
    r.runtimes = i % 4 == 0 ? std::vector<std::string>{"docker", "unikernel"}
                            : std::vector<std::string>{"docker"};
    r.per_arch[i % 2 == 0 ? "amd64" : "arm64"] = {r.cores_total, r.cores_free, r.memory_total_mb,
                                                  r.memory_free_mb};
    s.upsertNode(std::move(r));
  }
  return s;
}

Requirements parse(const boost::json::object& service) {
  auto req = requirementsFromService(service);
  if (!req) throw std::runtime_error(req.error().message);
  return *req;
}

void run(benchmark::State& state, const Requirements& req) {
  Scheduler s = makeCluster(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Placement p = s.place(req);
    if (!p.ok) {
      state.SkipWithError("no placement");
      break;
    }
    s.release(p.node_id, req);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// The common case: a container with memory and cores.
void BM_PlaceContainer(benchmark::State& state) {
  run(state, parse({{"virtualization", "container"}, {"memory", 512}, {"vcpus", 1}}));
}

// A unikernel for two architectures: per-architecture capacity on a quarter of the workers.
void BM_PlaceUnikernel(benchmark::State& state) {
  run(state, parse({{"virtualization", "unikernel"},
                    {"memory", 256},
                    {"vcpus", 1},
                    {"arch", boost::json::array{"amd64", "arm64"}}}));
}

// A latency constraint: a haversine distance for every worker that has the capacity.
void BM_PlaceNearUser(benchmark::State& state) {
  run(state, parse({{"virtualization", "docker"},
                    {"memory", 512},
                    {"vcpus", 1},
                    {"constraints", boost::json::array{{{"type", "latency"},
                                                        {"location", "48.1374,11.5755"},
                                                        {"threshold", 5}}}}}));
}

BENCHMARK(BM_PlaceContainer)->Arg(1000)->Arg(10000);
BENCHMARK(BM_PlaceUnikernel)->Arg(1000)->Arg(10000);
BENCHMARK(BM_PlaceNearUser)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace oak::sched

BENCHMARK_MAIN();
