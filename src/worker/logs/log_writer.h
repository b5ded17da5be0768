#pragma once
// Appends one stream of an instance's output to `<dir>/<stream>.log` in the format of
// log_format.h, rotating by size. Used by the log driver for containers and, inside the worker,
// for sources such as a VM's serial console.
//
// Writes go straight to the file (O_APPEND, one write per call, no fsync): a reader sees a line
// as soon as `write` returns. When the file cannot be opened or written (directory removed, disk
// full) the data is dropped and counted, and the next call tries again; the producer must never
// block on its logs. Not thread-safe; one writer per file.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "worker/logs/log_format.h"

namespace oak::worker {

class LogWriter {
 public:
  // Creates `dir` (and its parents) on first use.
  LogWriter(std::string dir, LogStream stream, LogLimits limits,
            const Clock& clock = SystemClock::instance());
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Opens (creating) the current file now, so that readers find it before the first line.
  Status open();
  // Raw output: every complete line is stored with the current time; the end of an unfinished
  // line waits for its newline (or for kMaxLineBytes, which stores it as a record of its own).
  Status write(std::string_view data);
  // Stores the unfinished line, if any (end of the stream).
  Status finish();
  // Stores `text` with time `t`, one record per line (split at '\n' and at kMaxLineBytes).
  Status appendLine(std::string_view text, Clock::TimePoint t);

  const std::string& path() const { return path_; }
  // Bytes of output lost to I/O errors.
  uint64_t droppedBytes() const { return dropped_; }

 private:
  // Adds records for `line` (no '\n' inside) to the pending buffer, splitting long lines.
  void addRecords(std::string_view line, const std::string& stamp);
  void addRecord(std::string_view piece, const std::string& stamp);
  Status flushPending();
  // Writes pending records; reports the first failure since the last call.
  Status flushAll();
  Status rotate();
  void closeFile();

  std::string dir_;
  std::string path_;
  LogStream stream_;
  LogLimits limits_;
  const Clock& clock_;
  int fd_ = -1;
  bool dir_created_ = false;
  uint64_t size_ = 0;    // of the current file
  std::string partial_;  // an unfinished line
  std::string pending_;  // records not yet written
  Status error_{};       // first failure while adding records
  uint64_t dropped_ = 0;
};

}  // namespace oak::worker
