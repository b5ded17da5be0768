#pragma once
// The root's control-plane records on disk, as JSON lines in size-rotated files
// (`control.log`, then `control.1.log` (newest) ... `control.<max_files>.log`), so they outlive the
// in-memory buffer and restarts.

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "logs/log_buffer.h"
#include "logs/record.h"

namespace spdlog {
class logger;
}

namespace oak::logs {

struct ArchiveOptions {
  std::string path;  // the current file, "<dir>/<name>.log"
  size_t max_file_bytes = 10 * 1024 * 1024;
  size_t max_files = 5;
};

class LogArchive {
 public:
  static Result<std::unique_ptr<LogArchive>> open(ArchiveOptions options);
  ~LogArchive();

  // Thread-safe. Written through at warn and above; the rest on `flush`.
  void write(const LogRecord& r);
  void flush();

  // The last `limit` readable records of the current file, oldest first (lines that do not
  // parse are skipped: a crash may have cut the last one).
  std::vector<LogRecord> recent(size_t limit) const;

 private:
  LogArchive(ArchiveOptions options, std::shared_ptr<spdlog::logger> logger);
  ArchiveOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
};

// A buffer backed by an archive: the buffer starts with the archive's newest records and
// everything appended to it is archived.
struct ArchivedLog {
  std::shared_ptr<LogBuffer> buffer;
  std::shared_ptr<LogArchive> archive;
};
Result<ArchivedLog> openArchivedLog(ArchiveOptions options, size_t capacity);

}  // namespace oak::logs
