// The worker's metrics: launches counted and timed around each runtime (as the composing runtime
// calls them), image pulls, running instances, and the overlay's data-path counters.

#include "worker/agent/worker_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "promtool.h"
#include "runtime_test_util.h"
#include "worker/runtime/composing_runtime.h"
#include "worker/runtime/fake_runtime.h"

namespace oak::worker {
namespace {

using ::testing::HasSubstr;

std::optional<double> value(const metrics::Registry& r, const std::string& series) {
  return oak::testing::seriesValue(r.render(), series);
}

TEST(WorkerMetricsTest, LaunchesAreCountedPerRuntimeAndResult) {
  metrics::Registry registry;
  auto docker = std::make_unique<FakeRuntime>(FakeRuntime::Options{"docker", true, nullptr});
  docker->scriptImage("broken", {.launch_error = "no such image"});
  std::vector<std::unique_ptr<Runtime>> runtimes;
  runtimes.push_back(std::move(docker));
  runtimes.push_back(
      std::make_unique<FakeRuntime>(FakeRuntime::Options{"unikernel", true, nullptr}));
  ComposingRuntime runtime(metered(std::move(runtimes), registry));
  addRunningCollector(registry, runtime);

  std::vector<Result<LaunchResult>> results;
  auto launch = [&](InstanceSpec spec) {
    runtime.launch(spec, [&](Result<LaunchResult> r) { results.push_back(std::move(r)); });
  };
  launch(makeSpec("a", 0));
  launch(makeSpec("a", 1));
  launch(makeSpec("a", 0));  // runs already
  launch(makeSpec("b", 0, "docker", "broken"));
  launch(makeSpec("k", 0, "unikernel"));
  launch(makeSpec("x", 0, "wasm"));  // no runtime takes it: not a launch of any
  ASSERT_EQ(results.size(), 6u);

  EXPECT_EQ(value(registry,
                  "oakestra_worker_instance_launches_total{runtime=\"docker\","
                  "result=\"success\"}"),
            2);
  // The composing runtime answers a duplicate itself: the runtime never saw that launch.
  ASSERT_TRUE(results[2]);
  EXPECT_EQ(*results[2], LaunchResult::kAlreadyLaunched);
  EXPECT_EQ(value(registry,
                  "oakestra_worker_instance_launches_total{runtime=\"docker\","
                  "result=\"failure\"}"),
            1);
  EXPECT_EQ(value(registry,
                  "oakestra_worker_instance_launches_total{runtime=\"unikernel\","
                  "result=\"success\"}"),
            1);
  EXPECT_EQ(value(registry,
                  "oakestra_worker_instance_launch_duration_seconds_count{runtime="
                  "\"docker\"}"),
            2);
  EXPECT_EQ(value(registry, "oakestra_worker_instances_running"), 3);
  EXPECT_THAT(registry.render(), ::testing::Not(HasSubstr("wasm")));
  EXPECT_TRUE(oak::testing::promtoolAccepts(registry.render()));
}

TEST(WorkerMetricsTest, ImagePulls) {
  metrics::Registry registry;
  PullMetrics pulls(registry);
  pulls.pulled(true, std::chrono::seconds(3));
  pulls.pulled(false, std::chrono::milliseconds(200));
  EXPECT_EQ(value(registry, "oakestra_worker_image_pulls_total{result=\"success\"}"), 1);
  EXPECT_EQ(value(registry, "oakestra_worker_image_pulls_total{result=\"failure\"}"), 1);
  EXPECT_EQ(value(registry, "oakestra_worker_image_pull_duration_seconds_sum"), 3.2);
  EXPECT_EQ(value(registry, "oakestra_worker_image_pull_duration_seconds_bucket{le=\"0.25\"}"), 1);
}

TEST(WorkerMetricsTest, OverlayCountersWhileThereIsADataPath) {
  metrics::Registry registry;
  std::optional<overlay::ProxyCounters> counters;
  addOverlayCollector(registry, [&] { return counters; });
  EXPECT_THAT(registry.render(), ::testing::Not(HasSubstr("oakestra_overlay")));

  counters.emplace();
  counters->tun_packets = 10;
  counters->tun_bytes = 1400;
  counters->to_peer_packets = 9;
  counters->flows_created = 2;
  counters->drops[static_cast<size_t>(overlay::DropReason::kNoInstance)] = 1;
  EXPECT_EQ(value(registry, "oakestra_overlay_packets_total{direction=\"from_tun\"}"), 10);
  EXPECT_EQ(value(registry, "oakestra_overlay_bytes_total{direction=\"from_tun\"}"), 1400);
  EXPECT_EQ(value(registry, "oakestra_overlay_packets_total{direction=\"to_tunnel\"}"), 9);
  EXPECT_EQ(value(registry, "oakestra_overlay_drops_total{reason=\"no_instance\"}"), 1);
  EXPECT_EQ(value(registry, "oakestra_overlay_drops_total{reason=\"malformed\"}"), 0);
  EXPECT_EQ(value(registry, "oakestra_overlay_flows_total{event=\"created\"}"), 2);
  EXPECT_THAT(registry.render(), ::testing::Not(HasSubstr("reason=\"none\"")));
  EXPECT_TRUE(oak::testing::promtoolAccepts(registry.render()));
}

}  // namespace
}  // namespace oak::worker
