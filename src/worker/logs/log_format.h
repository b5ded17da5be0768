#pragma once
// The on-disk format of instance logs, shared by the writer (log driver, unikernel console) and
// the reader. A log directory holds one file per stream, `stdout.log` and `stderr.log`, rotated
// by size into `stdout.log.1` (newest) ... `stdout.log.<max_files - 1>` (oldest). Each record is
//
//   <RFC 3339 UTC timestamp with 9 fraction digits> <line>\n
//
// Lines are stored as the instance wrote them (any bytes but '\n'); readers turn invalid UTF-8
// into U+FFFD so that JSON consumers never see it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/text.h"

namespace oak::worker {

enum class LogStream { kStdout, kStderr };

// "stdout" / "stderr".
std::string_view streamName(LogStream stream);

// How much a stream may take on disk: `max_files` files of at most `max_size` bytes each
// (a single record larger than `max_size` still makes a file of its own).
struct LogLimits {
  uint64_t max_size = 10 * 1024 * 1024;
  int max_files = 3;

  bool operator==(const LogLimits&) const = default;
};

// Longer lines are stored as several records.
inline constexpr size_t kMaxLineBytes = 16 * 1024;

// "stdout.log" for index 0, "stdout.log.<index>" for rotated files.
std::string logFileName(LogStream stream, int index = 0);

// One line as readers deliver it.
struct LogLine {
  Clock::TimePoint time;
  LogStream stream = LogStream::kStdout;
  std::string line;  // valid UTF-8

  bool operator==(const LogLine&) const = default;
};

// Parses one record (without its '\n'). Nullopt when the timestamp is missing or malformed; the
// line is then the whole record.
std::optional<Clock::TimePoint> splitRecord(std::string_view record, std::string_view& line);

// "<root>/<task_id>": where the instance's logs live.
std::string logDirFor(const std::string& log_root, const std::string& task_id);

}  // namespace oak::worker
