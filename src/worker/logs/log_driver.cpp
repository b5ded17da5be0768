#include "worker/logs/log_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>

#include "worker/logs/log_writer.h"

namespace oak::worker {

namespace {

constexpr std::string_view kDriverFlag = "--log-driver";
constexpr int kStdoutFd = 3;
constexpr int kStderrFd = 4;
constexpr int kReadyFd = 5;
// What SIGTERM still reads per stream before exiting, so a chatty container cannot hold us.
constexpr size_t kTermDrainBytes = 16 * 1024 * 1024;

template <class T>
Result<T> parseNumber(std::string_view key, std::string_view text, T min, T max) {
  T v{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    return makeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: expected an integer from {} to {}, got '{}'", key, min, max, text));
  }
  return v;
}

// RFC 3986 percent-encoding of everything but unreserved characters and '/'.
std::string percentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// One of the container's streams.
struct Source {
  int fd;
  LogWriter writer;
  bool open = true;
  bool failing = false;  // reported the current I/O failure already

  void report(const Status& s) {
    if (!s && !failing)
      std::fprintf(stderr, "oakestra log driver: %s\n", s.error().message.c_str());
    failing = !s;
  }
  void close() {
    report(writer.finish());
    ::close(fd);
    open = false;
  }
  // Reads what is available; false at end of file.
  bool readOnce(std::string& buf) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    report(writer.write(std::string_view(buf.data(), static_cast<size_t>(n))));
    return true;
  }
  // At SIGTERM: what the container wrote before is stored, then the stream ends.
  void drainAndClose(std::string& buf) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    for (size_t total = 0; total < kTermDrainBytes; total += buf.size()) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      report(writer.write(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    close();
  }
};

bool fdIsOpen(int fd) {
  return ::fcntl(fd, F_GETFD) >= 0;
}

}  // namespace

bool isLogDriverInvocation(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == kDriverFlag || a.starts_with(std::string(kDriverFlag) + "=")) return true;
  }
  return false;
}

Result<LogDriverArgs> parseLogDriverArgs(const std::vector<std::string>& args) {
  LogDriverArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.empty()) continue;
    std::string_view key = a;
    std::optional<std::string_view> value;
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    bool known = key == "--dir" || key == "--max-size" || key == "--max-files";
    if (known && !value) {
      if (i + 1 == args.size()) {
        return makeError(ErrorCode::kInvalidArgument, fmt::format("{}: missing value", key));
      }
      value = args[++i];
    }
    if (key == "--dir") {
      if (value->empty() || value->front() != '/') {
        return makeError(ErrorCode::kInvalidArgument,
                         fmt::format("--dir: expected an absolute path, got '{}'", *value));
      }
      out.dir = std::string(*value);
    } else if (key == "--max-size") {
      OAK_ASSIGN_OR_RETURN(out.limits.max_size,
                           parseNumber<uint64_t>(key, *value, 1024, uint64_t{1} << 40));
    } else if (key == "--max-files") {
      OAK_ASSIGN_OR_RETURN(out.limits.max_files, parseNumber<int>(key, *value, 1, 1000));
    } else if (key != kDriverFlag && key.starts_with("--") && !value && i + 1 < args.size() &&
               !std::string_view(args[i + 1]).starts_with("--")) {
      ++i;  // an unknown option's value
    }
  }
  if (out.dir.empty()) return makeError(ErrorCode::kInvalidArgument, "--dir: missing");
  return out;
}

std::string binaryLogUri(const std::string& exe, const std::string& dir, const LogLimits& limits) {
  return fmt::format("binary://{}?{}&--dir={}&--max-size={}&--max-files={}", percentEncode(exe),
                     kDriverFlag, percentEncode(dir), limits.max_size, limits.max_files);
}

Result<std::string> currentExecutable() {
  std::array<char, PATH_MAX> buf{};
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) {
    return makeError(ErrorCode::kInternal,
                     fmt::format("cannot read /proc/self/exe: {}", std::strerror(errno)));
  }
  std::string path(buf.data(), static_cast<size_t>(n));
  // After an upgrade replaced the binary, the kernel names the old one "<path> (deleted)"; the
  // new binary at the same path is the one to start.
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return path;
}

int runLogDriver(int argc, char** argv) {
  auto args = parseLogDriverArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!args) {
    std::fprintf(stderr, "oakestra log driver: %s\n", args.error().message.c_str());
    return 2;
  }
  if (!fdIsOpen(kStdoutFd) || !fdIsOpen(kStderrFd)) {
    std::fprintf(stderr, "oakestra log driver: fds 3 and 4 must be the container's output\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  int sig_fd = ::signalfd(-1, &term, SFD_CLOEXEC);
  if (sig_fd < 0) ::sigprocmask(SIG_UNBLOCK, &term, nullptr);  // then SIGTERM just ends us

  std::array<Source, 2> sources{
      Source{kStdoutFd, LogWriter(args->dir, LogStream::kStdout, args->limits)},
      Source{kStderrFd, LogWriter(args->dir, LogStream::kStderr, args->limits)}};
  // A driver that cannot write still reads: otherwise the container would die of SIGPIPE.
  for (auto& s : sources) s.report(s.writer.open());
  if (fdIsOpen(kReadyFd)) ::close(kReadyFd);

  std::string buf(64 * 1024, '\0');
  while (sources[0].open || sources[1].open) {
    std::array<pollfd, 3> fds{pollfd{sources[0].open ? kStdoutFd : -1, POLLIN, 0},
                              pollfd{sources[1].open ? kStderrFd : -1, POLLIN, 0},
                              pollfd{sig_fd, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "oakestra log driver: poll: %s\n", std::strerror(errno));
      break;
    }
    if (fds[2].revents & POLLIN) {
      for (auto& s : sources) {
        if (s.open) s.drainAndClose(buf);
      }
      break;
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      if (sources[i].open && fds[i].revents != 0 && !sources[i].readOnce(buf)) sources[i].close();
    }
  }
  for (auto& s : sources) {
    if (s.open) s.close();
  }
  return 0;
}

}  // namespace oak::worker
