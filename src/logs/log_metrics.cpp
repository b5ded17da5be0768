#include "logs/log_metrics.h"

namespace oak::logs {

void addControlLogCollector(metrics::Registry& registry,
                            std::function<std::map<std::string, uint64_t>()> read) {
  registry.addCollector([read = std::move(read)](metrics::Exposition& out) {
    out.family("oakestra_control_logs_total",
               "Control-plane log records by what became of them here.", metrics::Type::kCounter);
    for (const auto& [result, n] : read()) {
      out.sample("oakestra_control_logs_total", {{"result", result}}, static_cast<double>(n));
    }
  });
}

}  // namespace oak::logs
