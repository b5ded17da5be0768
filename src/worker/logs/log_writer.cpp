#include "worker/logs/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/files.h"

namespace oak::worker {

namespace {

Error ioError(std::string_view what, const std::string& path) {
  return makeError(ErrorCode::kInternal,
                   fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

LogWriter::LogWriter(std::string dir, LogStream stream, LogLimits limits, const Clock& clock)
    : dir_(std::move(dir)),
      path_(dir_ + "/" + logFileName(stream)),
      stream_(stream),
      limits_(limits),
      clock_(clock) {
  if (limits_.max_size == 0) limits_.max_size = 1;
  if (limits_.max_files < 1) limits_.max_files = 1;
}

LogWriter::~LogWriter() {
  closeFile();
}

void LogWriter::closeFile() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status LogWriter::open() {
  if (fd_ >= 0) return {};
  // The directory is made once: after the worker removed an instance's logs, a late write must
  // not bring them back.
  if (!dir_created_) {
    OAK_TRY(files::ensureDirectory(dir_, 0700));
    dir_created_ = true;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return ioError("cannot open", path_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    auto e = ioError("cannot stat", path_);
    closeFile();
    return e;
  }
  size_ = static_cast<uint64_t>(st.st_size);
  return {};
}

Status LogWriter::write(std::string_view data) {
  if (data.empty()) return {};
  std::string stamp = formatTimestamp(clock_.now());
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(data);
      // A line without end is stored in pieces, so memory stays bounded.
      while (partial_.size() >= kMaxLineBytes) {
        size_t cut = utf8Prefix(partial_, kMaxLineBytes);
        addRecord(std::string_view(partial_).substr(0, cut), stamp);
        partial_.erase(0, cut);
      }
      break;
    }
    if (partial_.empty()) {
      addRecords(data.substr(0, nl), stamp);
    } else {
      partial_.append(data.substr(0, nl));
      addRecords(partial_, stamp);
      partial_.clear();
    }
    data.remove_prefix(nl + 1);
  }
  return flushAll();
}

Status LogWriter::finish() {
  if (partial_.empty()) return {};
  std::string line = std::move(partial_);
  partial_.clear();
  addRecords(line, formatTimestamp(clock_.now()));
  return flushAll();
}

Status LogWriter::appendLine(std::string_view text, Clock::TimePoint t) {
  std::string stamp = formatTimestamp(t);
  for (;;) {
    size_t nl = text.find('\n');
    addRecords(text.substr(0, nl), stamp);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return flushAll();
}

void LogWriter::addRecords(std::string_view line, const std::string& stamp) {
  do {
    size_t cut = utf8Prefix(line, kMaxLineBytes);
    addRecord(line.substr(0, cut), stamp);
    line.remove_prefix(cut);
  } while (!line.empty());
}

void LogWriter::addRecord(std::string_view piece, const std::string& stamp) {
  size_t record = stamp.size() + 1 + piece.size() + 1;
  // The size of an existing file counts (failures are reported by the write that follows).
  if (fd_ < 0) (void)open();
  uint64_t used = size_ + pending_.size();
  if (used > 0 && used + record > limits_.max_size) {
    auto s = flushPending();
    if (s) s = rotate();
    if (!s && error_) error_ = s;
  }
  pending_.append(stamp).append(1, ' ').append(piece).append(1, '\n');
}

Status LogWriter::flushAll() {
  Status s = flushPending();
  Status first = std::exchange(error_, Status{});
  return first ? s : first;
}

Status LogWriter::flushPending() {
  Status result{};
  if (pending_.empty()) return result;
  if (auto s = open(); !s) {
    dropped_ += pending_.size();
    pending_.clear();
    return s;
  }
  std::string_view rest = pending_;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      result = ioError("cannot write", path_);
      dropped_ += rest.size();
      // Reopened on the next write, in case the file was replaced.
      closeFile();
      break;
    }
    size_ += static_cast<uint64_t>(n);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  pending_.clear();
  return result;
}

Status LogWriter::rotate() {
  closeFile();
  size_ = 0;
  auto name = [&](int i) { return dir_ + "/" + logFileName(stream_, i); };
  if (limits_.max_files <= 1) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return ioError("cannot remove", path_);
  } else {
    // The oldest file is overwritten by the next older one.
    for (int i = limits_.max_files - 1; i >= 1; --i) {
      std::string from = name(i - 1);
      if (::rename(from.c_str(), name(i).c_str()) != 0 && errno != ENOENT) {
        return ioError("cannot rotate", from);
      }
    }
  }
  return open();
}

}  // namespace oak::worker
