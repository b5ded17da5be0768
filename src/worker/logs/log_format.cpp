#include "worker/logs/log_format.h"

#include <fmt/format.h>

namespace oak::worker {

std::string_view streamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

std::string logFileName(LogStream stream, int index) {
  if (index == 0) return fmt::format("{}.log", streamName(stream));
  return fmt::format("{}.log.{}", streamName(stream), index);
}

std::optional<Clock::TimePoint> splitRecord(std::string_view record, std::string_view& line) {
  size_t space = record.find(' ');
  auto t = space == std::string_view::npos ? std::nullopt : parseTimestamp(record.substr(0, space));
  line = t ? record.substr(space + 1) : record;
  return t;
}

std::string logDirFor(const std::string& log_root, const std::string& task_id) {
  return log_root + "/" + task_id;
}

}  // namespace oak::worker
