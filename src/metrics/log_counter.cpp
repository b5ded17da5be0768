#include "metrics/log_counter.h"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <memory>

namespace oak::metrics {

namespace {

constexpr std::array<std::string_view, 6> kLevels = {"trace", "debug", "info",
                                                     "warn",  "error", "critical"};

std::array<std::atomic<uint64_t>, kLevels.size()>& counts() {
  static std::array<std::atomic<uint64_t>, kLevels.size()> c{};
  return c;
}

class CountingSink final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& msg) override {
    auto i = static_cast<size_t>(msg.level);
    if (i < kLevels.size()) counts()[i].fetch_add(1, std::memory_order_relaxed);
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}
};

}  // namespace

void countLogLines() {
  auto logger = spdlog::default_logger();
  if (!logger) return;
  for (const auto& s : logger->sinks()) {
    if (dynamic_cast<CountingSink*>(s.get())) return;
  }
  logger->sinks().push_back(std::make_shared<CountingSink>());
}

uint64_t loggedLines(std::string_view level) {
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return counts()[i].load(std::memory_order_relaxed);
  }
  return 0;
}

void addLogCollector(Registry& registry) {
  registry.addCollector([](Exposition& out) {
    out.family("oakestra_log_messages_total", "Lines logged by this process, by level.",
               Type::kCounter);
    for (size_t i = 0; i < kLevels.size(); ++i) {
      out.sample("oakestra_log_messages_total", {{"level", kLevels[i]}},
                 static_cast<double>(counts()[i].load(std::memory_order_relaxed)));
    }
  });
}

}  // namespace oak::metrics
