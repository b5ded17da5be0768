// The log driver as containerd's runc shim runs it: the built `oakestra` binary with the
// container's stdout on fd 3, stderr on fd 4, a readiness pipe on fd 5, the URI's query as
// key/value argument pairs in random order, and only CONTAINER_ID and CONTAINER_NAMESPACE in its
// environment.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "log_test_util.h"
#include "process.h"
#include "temp_dir.h"
#include "worker/logs/log_driver.h"

namespace oak::worker {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
namespace fs = std::filesystem;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// What Go's url.ParseQuery makes of a query: pairs split at '&' and '=', percent-decoded.
std::map<std::string, std::string> parseQuery(std::string_view q) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i] == '+' ? ' ' : s[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto part = q.substr(0, q.find('&'));
    q.remove_prefix(std::min(q.size(), part.size() + 1));
    auto eq = part.find('=');
    out[decode(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : decode(part.substr(eq + 1));
  }
  return out;
}

// Flattens pairs into arguments as the shim does: key, then value.
std::vector<std::string> flatten(const Pairs& pairs) {
  std::vector<std::string> args;
  for (const auto& [k, v] : pairs) {
    args.push_back(k);
    args.push_back(v);
  }
  return args;
}

TEST(LogDriverArgs, AcceptsPairsInEveryOrder) {
  Pairs pairs{
      {"--log-driver", ""}, {"--dir", "/x/y"}, {"--max-size", "2048"}, {"--max-files", "5"}};
  std::sort(pairs.begin(), pairs.end());
  do {
    auto a = parseLogDriverArgs(flatten(pairs));
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->dir, "/x/y");
    EXPECT_EQ(a->limits, (LogLimits{2048, 5}));
  } while (std::next_permutation(pairs.begin(), pairs.end()));
}

TEST(LogDriverArgs, AcceptsKeyEqualsValueAndDefaults) {
  auto a = parseLogDriverArgs({"--max-files=2", "--log-driver", "--dir=/logs/t"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dir, "/logs/t");
  EXPECT_EQ(a->limits, (LogLimits{10 * 1024 * 1024, 2}));
  // Unknown options (a newer URI) are skipped with their values.
  a = parseLogDriverArgs({"--colour", "blue", "--dir", "/d", "--flag=1", "--log-driver", ""});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dir, "/d");
}

TEST(LogDriverArgs, RejectsBadValuesNamingTheOption) {
  struct Case {
    std::vector<std::string> args;
    std::string option;
  };
  for (const auto& c : std::vector<Case>{{{"--log-driver", ""}, "--dir"},
                                         {{"--dir", "relative/path"}, "--dir"},
                                         {{"--dir"}, "--dir"},
                                         {{"--dir", "/d", "--max-size", "10"}, "--max-size"},
                                         {{"--dir", "/d", "--max-size", "1k"}, "--max-size"},
                                         {{"--dir", "/d", "--max-files", "0"}, "--max-files"},
                                         {{"--dir", "/d", "--max-files", ""}, "--max-files"}}) {
    auto a = parseLogDriverArgs(c.args);
    ASSERT_FALSE(a) << c.option;
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(a.error().message.starts_with(c.option + ":")) << a.error().message;
  }
}

TEST(LogDriverArgs, DetectsTheDriverAnywhere) {
  std::vector<std::string> a{"oakestra", "--dir", "/d", "--log-driver", ""};
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  EXPECT_TRUE(isLogDriverInvocation(static_cast<int>(argv.size()), argv.data()));
  EXPECT_FALSE(isLogDriverInvocation(3, argv.data()));
}

TEST(BinaryLogUri, EncodesPathsSoThatTheShimGetsThemBack) {
  LogLimits limits{4096, 7};
  std::string dir = "/var/lib/oak logs/a&b=c%d+e?f#g;h.instance.0";
  std::string uri = binaryLogUri("/opt/oak stra/bin", dir, limits);
  EXPECT_EQ(uri,
            "binary:///opt/oak%20stra/bin?--log-driver&--dir=/var/lib/oak%20logs/"
            "a%26b%3Dc%25d%2Be%3Ff%23g%3Bh.instance.0&--max-size=4096&--max-files=7");
  auto q = parseQuery(uri.substr(uri.find('?') + 1));
  EXPECT_EQ(
      q, (std::map<std::string, std::string>{
             {"--log-driver", ""}, {"--dir", dir}, {"--max-size", "4096"}, {"--max-files", "7"}}));
  // The pairs, in any order, are what the driver reads.
  Pairs pairs(q.begin(), q.end());
  auto a = parseLogDriverArgs(flatten(pairs));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dir, dir);
  EXPECT_EQ(a->limits, limits);
}

TEST(BinaryLogUri, CurrentExecutableIsAbsolute) {
  auto exe = currentExecutable();
  ASSERT_TRUE(exe);
  EXPECT_TRUE(exe->starts_with("/"));
  EXPECT_TRUE(fs::exists(*exe));
}

// One driver process with the shim's end of its pipes.
class ShimStartedDriver {
 public:
  ShimStartedDriver(const Pairs& pairs, const std::string& log_file) {
    int out[2], err[2], ready[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    std::string binary = testing::binaryPath("oakestra");
    std::vector<std::string> args{binary};
    for (auto& a : flatten(pairs)) args.push_back(a);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Out of the way of 3..5 first, then into place (dup2 clears close-on-exec).
      int o = ::fcntl(out[0], F_DUPFD_CLOEXEC, 100), e = ::fcntl(err[0], F_DUPFD_CLOEXEC, 100),
          r = ::fcntl(ready[1], F_DUPFD_CLOEXEC, 100);
      ::dup2(o, 3);
      ::dup2(e, 4);
      ::dup2(r, 5);
      int null = ::open("/dev/null", O_RDWR);
      int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(log, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::string id = "CONTAINER_ID=job.instance.0", ns = "CONTAINER_NAMESPACE=oakestra";
      char* envp[] = {id.data(), ns.data(), nullptr};
      ::execve(binary.c_str(), argv.data(), envp);
      ::_exit(127);
    }
    ::close(out[0]);
    ::close(err[0]);
    ::close(ready[1]);
    out_ = out[1];
    err_ = err[1];
    ready_ = ready[0];
  }
  ~ShimStartedDriver() {
    closeOutput();
    if (ready_ >= 0) ::close(ready_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // As the shim does: blocks until the driver closes its end (bounded here).
  ::testing::AssertionResult waitReady() {
    pollfd p{ready_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return ::testing::AssertionFailure() << "never ready";
    char c = 0;
    ssize_t n = ::read(ready_, &c, 1);
    if (n != 0) return ::testing::AssertionFailure() << "read " << n << " instead of EOF";
    return ::testing::AssertionSuccess();
  }
  void writeOut(const std::string& s) {
    ASSERT_EQ(::write(out_, s.data(), s.size()), ssize_t(s.size()));
  }
  void writeErr(const std::string& s) {
    ASSERT_EQ(::write(err_, s.data(), s.size()), ssize_t(s.size()));
  }
  void closeOutput() {
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
    out_ = err_ = -1;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit code, or -1 when it did not exit in time.
  int waitExit(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1, ready_ = -1;
};

class LogDriverProcessTest : public ::testing::Test {
 protected:
  std::string dir() const { return (tmp_.path() / "logs" / "job.instance.0").string(); }
  Pairs pairs(std::string max_size = "1048576", std::string max_files = "3") {
    Pairs p{{"--log-driver", ""},
            {"--dir", dir()},
            {"--max-size", max_size},
            {"--max-files", max_files}};
    std::shuffle(p.begin(), p.end(), rng_);  // Go map order
    return p;
  }
  std::string driverLog() const { return slurp(tmp_.file("driver.log")); }

  testing::TempDir tmp_;
  std::mt19937 rng_{std::random_device{}()};
};

TEST_F(LogDriverProcessTest, StoresBothStreamsAndExitsAtTheirEnd) {
  auto before = std::chrono::system_clock::now();
  ShimStartedDriver d(pairs(), tmp_.file("driver.log"));
  ASSERT_TRUE(d.waitReady()) << driverLog();
  EXPECT_TRUE(fs::exists(dir() + "/stdout.log"));  // created before ready
  d.writeOut("out 1\nout");
  d.writeErr("err 1\n");
  d.writeOut(" 2\nno newline at the end");
  d.closeOutput();
  ASSERT_EQ(d.waitExit(), 0) << driverLog();
  auto after = std::chrono::system_clock::now();
  EXPECT_THAT(recordLines(dir() + "/stdout.log"),
              ElementsAre("out 1", "out 2", "no newline at the end"));
  EXPECT_THAT(recordLines(dir() + "/stderr.log"), ElementsAre("err 1"));
  std::string first = slurp(dir() + "/stderr.log");
  std::string_view line;
  auto t = splitRecord(first.substr(0, first.size() - 1), line);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, before);
  EXPECT_LE(*t, after);
}

TEST_F(LogDriverProcessTest, SigtermStoresWhatWasWrittenAndExits) {
  ShimStartedDriver d(pairs(), tmp_.file("driver.log"));
  ASSERT_TRUE(d.waitReady()) << driverLog();
  d.writeOut("complete\nunfinished");
  d.writeErr("to stderr");
  d.signal(SIGTERM);
  ASSERT_EQ(d.waitExit(), 0) << driverLog();
  EXPECT_THAT(recordLines(dir() + "/stdout.log"), ElementsAre("complete", "unfinished"));
  EXPECT_THAT(recordLines(dir() + "/stderr.log"), ElementsAre("to stderr"));
}

TEST_F(LogDriverProcessTest, RotatesBySize) {
  ShimStartedDriver d(pairs("1024", "2"), tmp_.file("driver.log"));
  ASSERT_TRUE(d.waitReady()) << driverLog();
  for (int i = 0; i < 100; ++i) d.writeOut(fmt::format("line {:03}\n", i));
  d.closeOutput();
  ASSERT_EQ(d.waitExit(), 0) << driverLog();
  EXPECT_LE(fs::file_size(dir() + "/stdout.log"), 1024u);
  EXPECT_LE(fs::file_size(dir() + "/stdout.log.1"), 1024u);
  EXPECT_FALSE(fs::exists(dir() + "/stdout.log.2"));
  EXPECT_EQ(recordLines(dir() + "/stdout.log").back(), "line 099");
}

TEST_F(LogDriverProcessTest, KeepsReadingWhenItCannotWrite) {
  // The container must not die of a broken pipe because its logs cannot be stored.
  Pairs p{{"--dir", "/proc/oakestra-cannot-create/x"}, {"--log-driver", ""}};
  ShimStartedDriver d(p, tmp_.file("driver.log"));
  ASSERT_TRUE(d.waitReady());
  for (int i = 0; i < 100; ++i) d.writeOut(std::string(1000, 'x') + "\n");  // > a pipe buffer
  d.closeOutput();
  EXPECT_EQ(d.waitExit(), 0) << driverLog();
  EXPECT_THAT(driverLog(), ::testing::HasSubstr("cannot create directory"));
}

TEST_F(LogDriverProcessTest, BadArgumentsExitWithTwo) {
  ShimStartedDriver d({{"--log-driver", ""}, {"--dir", "relative"}}, tmp_.file("driver.log"));
  EXPECT_TRUE(d.waitReady());  // the shim is not left waiting
  EXPECT_EQ(d.waitExit(), 2);
  EXPECT_THAT(driverLog(), ::testing::HasSubstr("--dir:"));
}

}  // namespace
}  // namespace oak::worker
