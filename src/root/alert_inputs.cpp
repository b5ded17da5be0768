#include "root/alert_inputs.h"

#include <spdlog/spdlog.h>

#include "common/json.h"
#include "logs/log_buffer.h"
#include "root/accounts.h"
#include "root/cluster_registry.h"
#include "root/scheduler.h"

namespace oak::root {

AlertInputs gatherAlertInputs(RootContext& ctx) {
  AlertInputs in;
  auto now = ctx.clock.now();
  auto docs = ctx.store.list(coll::kClusters);
  if (!docs) {
    spdlog::warn("alerts: clusters: {}", docs.error().message);
  } else {
    double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    std::map<std::string, std::string> names;
    for (const auto& doc : *docs) {
      std::string id = Accounts::idOf(doc);
      names[id] = json::getString(doc, "cluster_name").value_or(id);
    }
    for (const auto& r : clusterResources(*docs, seconds)) {
      in.clusters.push_back({names[r.id], r.active});
    }
    if (ctx.clusters != nullptr) {
      for (const auto& [cluster_id, workers] : ctx.clusters->workers()) {
        auto name = names.find(cluster_id);
        if (name == names.end()) continue;  // deleted since
        for (const auto& w : workers) in.workers.push_back({name->second, w.name, w.active});
      }
    }
  }
  if (ctx.control_logs != nullptr) {
    logs::LogFilter errors;
    errors.min_level = logs::Level::kError;
    errors.since = now - Alerts::kErrorWindow;
    ctx.control_logs->visit(errors, [&in](const logs::LogRecord& r) {
      ++in.recent_errors[r.component + " " + r.node];
    });
  }
  return in;
}

}  // namespace oak::root
