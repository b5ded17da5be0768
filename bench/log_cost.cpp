// What a control-plane log line costs (docs/benchmarks.md, "Logging cost"): one line through the
// sinks every daemon has (the text line to stderr — here /dev/null —, the per-level counter and
// the capture into the control-plane ring) against a logger that drops the line at its level,
// and one record's trip up the hierarchy (batched to JSON at the worker, parsed and stamped at
// the cluster, serialized again and parsed at the root). bench/deploy_latency counts the lines
// and the control-plane CPU per deployment; together they give logging's share of the CPU.

#include <benchmark/benchmark.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <memory>

#include "common/json.h"
#include "logs/capture.h"
#include "logs/forwarder.h"
#include "logs/log_buffer.h"
#include "metrics/log_counter.h"

namespace {

namespace bj = boost::json;

// The default logger as `oakestra` sets it up (common/log.cpp), writing to /dev/null.
std::shared_ptr<spdlog::logger> daemonLogger(spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(
      "bench", std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/null"));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %n: %v");
  logger->set_level(level);
  return logger;
}

void BM_LineDroppedByLevel(benchmark::State& state) {
  auto logger = daemonLogger(spdlog::level::warn);
  int n = 0;
  for (auto _ : state) logger->info("instance {} of service {} is RUNNING", ++n, "64f1c0ffee");
}
BENCHMARK(BM_LineDroppedByLevel);

void BM_LineThroughEverySink(benchmark::State& state) {
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(daemonLogger(spdlog::level::info));
  oak::metrics::countLogLines();
  oak::logs::captureLogs(std::make_shared<oak::logs::LogBuffer>(20000), {"cluster", "c1", "c1"});
  int n = 0;
  for (auto _ : state) spdlog::info("instance {} of service {} is RUNNING", ++n, "64f1c0ffee");
  spdlog::set_default_logger(previous);
}
BENCHMARK(BM_LineThroughEverySink);

// Per record: the worker's batch, the cluster's parse and re-batch, the root's parse.
void BM_RecordUpTheHierarchy(benchmark::State& state) {
  constexpr size_t kBatch = 100;
  oak::logs::LogBuffer worker(1000);
  std::string to_root;
  oak::logs::LogForwarder forwarder(worker, {}, [&to_root](const oak::logs::Batch& b) {
    auto at_cluster = oak::logs::batchFromJson(
        oak::json::parse(bj::serialize(oak::logs::toJson(b)))->as_object(), 1000);
    for (auto& r : at_cluster->records) r.cluster = "c1";
    to_root = bj::serialize(oak::logs::toJson(*at_cluster));
    return true;
  });
  for (auto _ : state) {
    for (size_t i = 0; i < kBatch; ++i) {
      worker.append({std::chrono::system_clock::now(), oak::logs::Level::kInfo, "worker", "w1", "",
                     "instance 3 of service 64f1c0ffee is RUNNING"});
    }
    forwarder.flush();
    auto at_root = oak::logs::batchFromJson(oak::json::parse(to_root)->as_object(), 1000);
    benchmark::DoNotOptimize(at_root->records.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_RecordUpTheHierarchy);

}  // namespace

BENCHMARK_MAIN();
