#include "worker/logs/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

namespace oak::worker {

namespace {

constexpr size_t kChunk = 64 * 1024;
// Records are at most kMaxLineBytes plus a timestamp; longer ones (not written by LogWriter) are
// cut to this.
constexpr size_t kMaxRecord = 64 * 1024;
// "2023-11-14T22:13:20.000000000Z " in front of each line.
constexpr size_t kStampBytes = 31;
// Rotated files beyond this are not looked at.
constexpr int kMaxRotated = 1000;

Error ioError(std::string_view what, const std::string& path) {
  return makeError(ErrorCode::kInternal,
                   fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Fills `buf` from `offset`; fewer bytes only at the end of the file. -1 on error.
ssize_t readAt(int fd, char* buf, size_t len, uint64_t offset) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// Records collected backwards, newest first, until enough lines or bytes.
struct Scan {
  size_t want;
  size_t budget;
  std::vector<std::string> records{};
  size_t bytes = 0;

  bool full() const { return records.size() >= want || bytes >= budget; }
  void add(std::string r) {
    // The budget is on line text: a record's timestamp and separator do not count.
    bytes += r.size() > kStampBytes ? r.size() - kStampBytes : 0;
    records.push_back(std::move(r));
  }
};

// The offset just after the last '\n' before `end` (0 if there is none): a record after it is
// still being written.
Result<uint64_t> completeEnd(int fd, uint64_t end, const std::string& path) {
  std::string buf(kChunk, '\0');
  for (uint64_t pos = end; pos > 0;) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, pos));
    pos -= len;
    ssize_t n = readAt(fd, buf.data(), len, pos);
    if (n < 0) return ioError("cannot read", path);
    if (static_cast<size_t>(n) < len) return pos;  // truncated meanwhile
    if (auto* p = static_cast<const char*>(::memrchr(buf.data(), '\n', len))) {
      return pos + static_cast<uint64_t>(p - buf.data()) + 1;
    }
  }
  return 0;
}

// Splits [0, end) into records from the back. A final '\n' terminates the last record; a file
// without one (cut short) still yields its last bytes as a record.
Status scanBackward(int fd, uint64_t end, Scan& scan, const std::string& path) {
  if (end == 0 || scan.full()) return {};
  std::string buf(kChunk, '\0');
  char last = 0;
  if (readAt(fd, &last, 1, end - 1) != 1) return ioError("cannot read", path);
  if (last == '\n') --end;
  std::string pending;  // the end of a record whose start is further back
  auto prepend = [&](const char* p, size_t len) {
    pending.insert(0, p, len);
    if (pending.size() > kMaxRecord) pending.resize(kMaxRecord);
  };
  for (uint64_t pos = end;;) {
    if (pos == 0) {
      scan.add(std::move(pending));  // the file's first record
      return {};
    }
    size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, pos));
    pos -= len;
    ssize_t n = readAt(fd, buf.data(), len, pos);
    if (n < 0) return ioError("cannot read", path);
    if (static_cast<size_t>(n) < len) return {};  // truncated meanwhile
    for (size_t i = len;;) {
      auto* p = static_cast<const char*>(::memrchr(buf.data(), '\n', i));
      if (!p) {
        prepend(buf.data(), i);
        break;
      }
      size_t at = static_cast<size_t>(p - buf.data());
      prepend(buf.data() + at + 1, i - at - 1);
      scan.add(std::exchange(pending, {}));
      if (scan.full()) return {};
      i = at;
    }
  }
}

// Gives lines without a readable timestamp the time of their predecessor (or of the first valid
// line), so that merging keeps them in place.
void fillTimes(std::vector<LogLine>& lines, const std::vector<bool>& valid) {
  std::optional<size_t> first;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (valid[i]) {
      if (!first) first = i;
    } else if (first) {
      lines[i].time = lines[i - 1].time;
    }
  }
  for (size_t i = 0; first && i < *first; ++i) lines[i].time = lines[*first].time;
}

LogLine toLine(std::string_view record, LogStream stream, bool& valid) {
  std::string_view text;
  auto t = splitRecord(record, text);
  valid = t.has_value();
  return LogLine{t.value_or(Clock::TimePoint{}), stream, sanitizeUtf8(text)};
}

// Oldest-first lines from records collected newest first.
std::vector<LogLine> toLines(const std::vector<std::string>& newest_first, LogStream stream) {
  std::vector<LogLine> lines;
  std::vector<bool> valid;
  lines.reserve(newest_first.size());
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
    bool ok = false;
    lines.push_back(toLine(*it, stream, ok));
    valid.push_back(ok);
  }
  fillTimes(lines, valid);
  return lines;
}

std::vector<LogLine> merge(std::vector<LogLine> a, std::vector<LogLine> b) {
  if (b.empty()) return a;
  if (a.empty()) return b;
  std::vector<LogLine> out;
  out.reserve(a.size() + b.size());
  std::merge(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()),
             std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()),
             std::back_inserter(out),
             [](const LogLine& x, const LogLine& y) { return x.time < y.time; });
  return out;
}

std::vector<LogStream> streamsOf(LogSelect which) {
  switch (which) {
    case LogSelect::kStdout:
      return {LogStream::kStdout};
    case LogSelect::kStderr:
      return {LogStream::kStderr};
    case LogSelect::kAll:
      break;
  }
  return {LogStream::kStdout, LogStream::kStderr};
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::optional<LogSelect> parseLogSelect(std::string_view text) {
  if (text == "stdout") return LogSelect::kStdout;
  if (text == "stderr") return LogSelect::kStderr;
  if (text == "all") return LogSelect::kAll;
  return std::nullopt;
}

bool LogReader::exists() const {
  return isDirectory(dir_);
}

Result<std::vector<LogLine>> LogReader::tail(LogSelect which, size_t n, size_t max_bytes) const {
  OAK_ASSIGN_OR_RETURN(auto r, read(which, n, max_bytes, false));
  return std::move(r.lines);
}

Result<LogReader::Followed> LogReader::follow(LogSelect which, size_t n, size_t max_bytes) const {
  return read(which, n, max_bytes, true);
}

Result<LogReader::Followed> LogReader::read(LogSelect which, size_t n, size_t max_bytes,
                                            bool follow) const {
  if (!exists()) return makeError(ErrorCode::kNotFound, fmt::format("no logs in {}", dir_));
  // Owns the open files from the start, so that an error on the way closes them.
  std::unique_ptr<LogFollower> follower(new LogFollower(dir_, {}));
  std::vector<LogLine> lines;
  for (LogStream stream : streamsOf(which)) {
    std::string path = dir_ + "/" + logFileName(stream);
    auto& cursor = follower->cursors_.emplace_back();
    cursor.stream = stream;
    Scan scan{n, max_bytes};
    std::set<uint64_t> seen;  // a rotation during the read must not show a file twice
    cursor.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (cursor.fd < 0 && errno != ENOENT) return ioError("cannot open", path);
    if (cursor.fd >= 0) {
      struct stat st {};
      if (::fstat(cursor.fd, &st) != 0) return ioError("cannot stat", path);
      cursor.inode = st.st_ino;
      seen.insert(st.st_ino);
      OAK_ASSIGN_OR_RETURN(cursor.offset,
                           completeEnd(cursor.fd, static_cast<uint64_t>(st.st_size), path));
      OAK_TRY(scanBackward(cursor.fd, cursor.offset, scan, path));
    }
    for (int i = 1; i <= kMaxRotated && !scan.full(); ++i) {
      std::string rotated = dir_ + "/" + logFileName(stream, i);
      Fd fd(::open(rotated.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) break;
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) return ioError("cannot stat", rotated);
      if (!seen.insert(st.st_ino).second) continue;
      OAK_TRY(scanBackward(fd.get(), static_cast<uint64_t>(st.st_size), scan, rotated));
    }
    auto stream_lines = toLines(scan.records, stream);
    if (!stream_lines.empty()) cursor.last_time = stream_lines.back().time;
    lines = merge(std::move(lines), std::move(stream_lines));
  }
  // The newest `n` lines within the byte budget.
  size_t keep = 0, bytes = 0;
  for (auto it = lines.rbegin(); it != lines.rend() && keep < n; ++it, ++keep) {
    bytes += it->line.size();
    if (bytes > max_bytes && keep > 0) break;
  }
  lines.erase(lines.begin(), lines.end() - static_cast<ptrdiff_t>(keep));
  if (!follow) follower.reset();
  return Followed{std::move(lines), std::move(follower)};
}

LogFollower::LogFollower(std::string dir, std::vector<Cursor> cursors)
    : dir_(std::move(dir)), cursors_(std::move(cursors)) {}

LogFollower::~LogFollower() {
  for (auto& c : cursors_) {
    if (c.fd >= 0) ::close(c.fd);
  }
}

std::vector<LogLine> LogFollower::poll(size_t max_bytes) {
  std::vector<LogLine> lines;
  if (gone_) return lines;
  for (auto& c : cursors_) {
    std::vector<LogLine> got;
    readStream(c, max_bytes, got);
    lines = merge(std::move(lines), std::move(got));
  }
  if (!isDirectory(dir_)) gone_ = true;
  return lines;
}

void LogFollower::openCurrent(Cursor& c) {
  std::string path = dir_ + "/" + logFileName(c.stream);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) return;
  c.fd = fd.release();
  c.inode = st.st_ino;
  c.offset = 0;
}

void LogFollower::readStream(Cursor& c, size_t max_bytes, std::vector<LogLine>& out) {
  if (c.fd < 0) openCurrent(c);
  if (c.fd < 0) return;
  std::string path = dir_ + "/" + logFileName(c.stream);
  size_t used = 0;
  // Each round finishes one file; more than a few rotations per poll means lines were lost anyway.
  for (int round = 0; round < 4; ++round) {
    if (!drain(c, max_bytes, used, out)) return;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;  // between rotation steps, or removed
    if (st.st_ino == c.inode) {
      if (static_cast<uint64_t>(st.st_size) < c.offset) {  // truncated: start over
        c.offset = 0;
        c.partial.clear();
      }
      return;
    }
    // Rotated: what was written before the rename is still in the open file.
    if (!drain(c, max_bytes, used, out)) return;
    if (!c.partial.empty()) emit(c, std::exchange(c.partial, {}), out);
    ::close(c.fd);
    c.fd = -1;
    openCurrent(c);
    if (c.fd < 0) return;
  }
}

void LogFollower::emit(Cursor& c, std::string_view record, std::vector<LogLine>& out) {
  bool valid = false;
  auto line = toLine(record, c.stream, valid);
  if (valid) {
    c.last_time = line.time;
  } else {
    line.time = c.last_time;
  }
  out.push_back(std::move(line));
}

bool LogFollower::drain(Cursor& c, size_t max_bytes, size_t& used, std::vector<LogLine>& out) {
  std::string buf(kChunk, '\0');
  while (used < max_bytes) {
    size_t len = std::min(kChunk, max_bytes - used);
    ssize_t n = readAt(c.fd, buf.data(), len, c.offset);
    if (n <= 0) return true;
    c.offset += static_cast<uint64_t>(n);
    used += static_cast<size_t>(n);
    c.partial.append(buf.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = c.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      emit(c, std::string_view(c.partial).substr(start, nl - start), out);
    }
    c.partial.erase(0, start);
    if (c.partial.size() > kMaxRecord) emit(c, std::exchange(c.partial, {}), out);
    if (static_cast<size_t>(n) < len) return true;
  }
  return false;
}

}  // namespace oak::worker
