#include "cluster/control_logs.h"

#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include "common/json.h"

namespace oak::cluster {

namespace {

constexpr auto kWarningEvery = std::chrono::minutes(1);

// nodes/<worker>/logs/control → <worker>
std::optional<std::string> workerOf(std::string_view topic) {
  constexpr std::string_view kPrefix = "nodes/", kSuffix = "/logs/control";
  if (!topic.starts_with(kPrefix) || !topic.ends_with(kSuffix)) return std::nullopt;
  auto id = topic.substr(kPrefix.size(), topic.size() - kPrefix.size() - kSuffix.size());
  if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(id);
}

}  // namespace

ControlLogs::ControlLogs(Deps deps)
    : deps_(std::move(deps)), forwarder_(*deps_.buffer, {}, [this](const logs::Batch& batch) {
        auto o = logs::toJson(batch);
        o["type"] = "control_logs";
        return deps_.to_root(boost::json::serialize(o));
      }) {}

bool ControlLogs::onBusMessage(const mqtt::Message& m) {
  auto worker_id = workerOf(m.topic);
  if (!worker_id) return false;
  auto name = deps_.worker_name(*worker_id);
  if (!name) {
    reject(*worker_id, "not a worker of this cluster");
    return true;
  }
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    reject(*name, v ? "expected a JSON object" : v.error().message);
    return true;
  }
  auto batch = logs::batchFromJson(v->get_object(), kMaxBatchRecords);
  if (!batch) {
    reject(*name, batch.error().message);
    return true;
  }
  received_ += batch->records.size();
  for (auto& r : batch->records) {
    r.component = "worker";
    r.node = *name;
    r.cluster = deps_.cluster_name;
    deps_.buffer->append(std::move(r));
  }
  return true;
}

void ControlLogs::flush() {
  forwarder_.flush();
}

void ControlLogs::reject(const std::string& worker, const std::string& why) {
  ++rejected_;
  auto now = deps_.clock.now();
  if (last_warning_ != Clock::TimePoint{} && now - last_warning_ < kWarningEvery) return;
  last_warning_ = now;
  spdlog::warn("control-plane logs from worker '{}' dropped: {} ({} batches dropped so far)",
               worker, why, rejected_);
}

}  // namespace oak::cluster
