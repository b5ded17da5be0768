#pragma once
// The worker's metrics: instance launches (a decorator around the runtime: every launch counted
// and timed where the supervisor calls it), image pulls (reported by the container module),
// running instances, and the overlay data path's counters, read at scrape time.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "metrics/metrics.h"
#include "overlay/proxy_core.h"
#include "worker/runtime/runtime.h"

namespace oak::worker {

// Passes every call on to `inner`, counting launches by runtime and result in
// oakestra_worker_instance_launches_total and timing the successful ones (image pull included)
// in oakestra_worker_instance_launch_duration_seconds. A launch the runtime does not support is
// not counted: the composing runtime offers every launch to each runtime in turn. `registry`
// must outlive it.
class MeteredRuntime final : public Runtime {
 public:
  MeteredRuntime(std::unique_ptr<Runtime> inner, metrics::Registry& registry);

  std::string name() const override { return inner_->name(); }
  bool available() const override { return inner_->available(); }
  std::map<std::string, std::string> capabilities() const override {
    return inner_->capabilities();
  }
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override {
    inner_->recover(std::move(done));
  }
  void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) override;
  void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) override {
    inner_->wait(task_id, std::move(on_exit));
  }
  void destroy(const std::string& task_id, std::function<void(Status)> done) override {
    inner_->destroy(task_id, std::move(done));
  }
  void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) override {
    inner_->usage(task_id, std::move(done));
  }
  std::vector<std::string> list() const override { return inner_->list(); }
  void onProgress(ProgressListener listener) override { inner_->onProgress(std::move(listener)); }

 private:
  std::unique_ptr<Runtime> inner_;
  metrics::Family<metrics::Counter>& launches_;
  metrics::Histogram& duration_;
};

// Each runtime, metered.
std::vector<std::unique_ptr<Runtime>> metered(std::vector<std::unique_ptr<Runtime>> runtimes,
                                              metrics::Registry& registry);

// oakestra_worker_instances_running: what `runtime` lists at each scrape. It must outlive the
// scrapes.
void addRunningCollector(metrics::Registry& registry, const Runtime& runtime);

// oakestra_worker_image_pulls_total{result} and oakestra_worker_image_pull_duration_seconds, fed
// by `pulled` (thread-safe: pulls run on pool threads).
class PullMetrics {
 public:
  explicit PullMetrics(metrics::Registry& registry);
  void pulled(bool ok, std::chrono::steady_clock::duration took) const;

 private:
  metrics::Family<metrics::Counter>& pulls_;
  metrics::Counter& succeeded_;
  metrics::Counter& failed_;
  metrics::Histogram& duration_;
};

// The overlay's data-path counters (packets, bytes, drops by reason, flows, probes), read with
// `read` at each scrape; nothing while it returns nullopt (no overlay, or not started yet).
void addOverlayCollector(metrics::Registry& registry,
                         std::function<std::optional<overlay::ProxyCounters>()> read);

}  // namespace oak::worker
