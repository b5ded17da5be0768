#pragma once
// Reads an instance's log directory (see log_format.h): the last lines of one or both streams
// across rotated files, then optionally the lines appended afterwards.
//
// Memory stays bounded however large the files are: tails read backwards from the end in
// chunks and stop after `n` lines or `max_bytes`; followers read forward from where the tail
// ended, at most `max_bytes` per call. Files are read with plain blocking I/O (local files, small
// reads); the caller decides on which thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "worker/logs/log_format.h"

namespace oak::worker {

// Which streams to read; kAll merges both by time.
enum class LogSelect { kStdout, kStderr, kAll };

// "stdout", "stderr", "all".
std::optional<LogSelect> parseLogSelect(std::string_view text);

inline constexpr size_t kDefaultTailBytes = 4 * 1024 * 1024;
inline constexpr size_t kDefaultFollowBytes = 256 * 1024;

// Delivers the lines appended after a tail, across rotations: it keeps the file it reads open,
// finishes it after it was renamed to `.1`, then goes on with the new file. Lines are lost only
// when a stream rotates more than once between two polls.
class LogFollower {
 public:
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // Complete lines appended since the previous call, oldest first (both streams merged by
  // time). Reads at most `max_bytes` per stream; the rest comes with the next call.
  std::vector<LogLine> poll(size_t max_bytes = kDefaultFollowBytes);
  // True once the log directory disappeared (the lines still readable were delivered first).
  bool gone() const { return gone_; }

 private:
  friend class LogReader;
  struct Cursor {
    LogStream stream = LogStream::kStdout;
    int fd = -1;  // the file being read; -1 until the stream's file exists
    uint64_t inode = 0;
    uint64_t offset = 0;           // next byte to read
    std::string partial;           // bytes of a record whose '\n' has not been read yet
    Clock::TimePoint last_time{};  // for records without a readable timestamp
  };
  LogFollower(std::string dir, std::vector<Cursor> cursors);
  // Reads `c` on until its end (true) or until `max_bytes` were read (false).
  bool drain(Cursor& c, size_t max_bytes, size_t& used, std::vector<LogLine>& out);
  void readStream(Cursor& c, size_t max_bytes, std::vector<LogLine>& out);
  void openCurrent(Cursor& c);
  void emit(Cursor& c, std::string_view record, std::vector<LogLine>& out);

  std::string dir_;
  std::vector<Cursor> cursors_;
  bool gone_ = false;
};

class LogReader {
 public:
  explicit LogReader(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  bool exists() const;

  // The last `n` lines (at most `max_bytes` of line text), oldest first. kNotFound when the
  // directory does not exist; a stream without a file yet has no lines.
  Result<std::vector<LogLine>> tail(LogSelect which, size_t n,
                                    size_t max_bytes = kDefaultTailBytes) const;

  // The same tail, and a follower that starts right after its last line.
  struct Followed {
    std::vector<LogLine> lines;
    std::unique_ptr<LogFollower> follower;
  };
  Result<Followed> follow(LogSelect which, size_t n, size_t max_bytes = kDefaultTailBytes) const;

 private:
  Result<Followed> read(LogSelect which, size_t n, size_t max_bytes, bool follow) const;

  std::string dir_;
};

}  // namespace oak::worker
