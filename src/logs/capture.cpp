#include "logs/capture.h"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include "common/text.h"

namespace oak::logs {

namespace {

class BufferSink final : public spdlog::sinks::sink {
 public:
  BufferSink(std::shared_ptr<LogBuffer> buffer, Identity identity)
      : buffer_(std::move(buffer)), identity_(std::move(identity)) {}

  void log(const spdlog::details::log_msg& msg) override {
    auto level = static_cast<int>(msg.level);
    if (level < 0 || level > static_cast<int>(Level::kCritical)) return;
    std::string_view text(msg.payload.data(), msg.payload.size());
    text = text.substr(0, utf8Prefix(text, kMaxMessageBytes));
    buffer_->append(LogRecord{std::chrono::time_point_cast<Clock::TimePoint::duration>(msg.time),
                              static_cast<Level>(level), identity_.component, identity_.node,
                              identity_.cluster, sanitizeUtf8(text)});
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

 private:
  std::shared_ptr<LogBuffer> buffer_;
  const Identity identity_;
};

}  // namespace

void captureLogs(std::shared_ptr<LogBuffer> buffer, Identity identity) {
  auto logger = spdlog::default_logger();
  if (!logger) return;
  logger->sinks().push_back(std::make_shared<BufferSink>(std::move(buffer), std::move(identity)));
}

}  // namespace oak::logs
