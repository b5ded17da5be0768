#include "logs/archive.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include <deque>
#include <fstream>

#include "common/json.h"

namespace oak::logs {

LogArchive::LogArchive(ArchiveOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {}

LogArchive::~LogArchive() {
  if (logger_) logger_->flush();
}

Result<std::unique_ptr<LogArchive>> LogArchive::open(ArchiveOptions options) {
  std::shared_ptr<spdlog::sinks::rotating_file_sink_mt> sink;
  try {
    sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        options.path, options.max_file_bytes, options.max_files);
  } catch (const spdlog::spdlog_ex& e) {
    return makeError(ErrorCode::kInternal,
                     "control-plane log file " + options.path + ": " + e.what());
  }
  // Not registered: the records must never reach the process's own sinks (and back here).
  auto logger = std::make_shared<spdlog::logger>("control-log-archive", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  return std::unique_ptr<LogArchive>(new LogArchive(std::move(options), std::move(logger)));
}

void LogArchive::write(const LogRecord& r) {
  // The line's level drives flush_on: warnings and errors reach the disk at once.
  logger_->log(static_cast<spdlog::level::level_enum>(r.level), "{}",
               boost::json::serialize(toJson(r)));
}

void LogArchive::flush() {
  logger_->flush();
}

std::vector<LogRecord> LogArchive::recent(size_t limit) const {
  std::ifstream in(options_.path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > limit) lines.pop_front();
  }
  std::vector<LogRecord> out;
  out.reserve(lines.size());
  for (const auto& line : lines) {
    auto v = json::parse(line);
    if (!v) continue;
    if (auto r = recordFromJson(*v); r) out.push_back(std::move(*r));
  }
  return out;
}

Result<ArchivedLog> openArchivedLog(ArchiveOptions options, size_t capacity) {
  OAK_ASSIGN_OR_RETURN(std::shared_ptr<LogArchive> archive, LogArchive::open(std::move(options)));
  auto buffer = std::make_shared<LogBuffer>(capacity);
  for (auto& r : archive->recent(capacity)) buffer->append(std::move(r));
  buffer->onAppend([archive](const LogRecord& r) { archive->write(r); });
  return ArchivedLog{std::move(buffer), std::move(archive)};
}

}  // namespace oak::logs
