// ContainerdClient against a private containerd started for the test (own root, state and
// socket under a temporary directory), and against sockets where no containerd answers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "process.h"
#include "temp_dir.h"
#include "worker/runtime/containerd/client.h"

namespace oak::worker::containerd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The containerd binary on PATH (or the usual places), if installed.
std::optional<std::string> findContainerd() {
  const char* env = std::getenv("PATH");
  std::stringstream path(std::string(env ? env : "") + ":/usr/bin:/usr/sbin:/usr/local/bin");
  for (std::string dir; std::getline(path, dir, ':');) {
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / "containerd";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

// Only what a private instance needs: no CRI (it would want CNI and a cluster), and nothing
// outside the temporary directory.
std::string configFor(const testing::TempDir& dir) {
  return "version = 2\n"
         "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
         "[ttrpc]\n"
         "  address = \"" +
         dir.file("containerd.ttrpc.sock") +
         "\"\n"
         "[plugins.\"io.containerd.internal.v1.opt\"]\n"
         "  path = \"" +
         dir.file("opt") + "\"\n";
}

class ContainerdDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto binary = findContainerd();
    ASSERT_TRUE(binary) << "containerd is not installed (./scripts/deps.sh installs it)";
    ASSERT_TRUE(files::writeAtomic(dir_.file("config.toml"), configFor(dir_)));
    socket_ = dir_.file("containerd.sock");
    daemon_ = std::make_unique<testing::Process>(
        *binary,
        std::vector<std::string>{"--config", dir_.file("config.toml"), "--root", dir_.file("root"),
                                 "--state", dir_.file("state"), "--address", socket_},
        std::map<std::string, std::string>{}, dir_.file("containerd.log"));
  }

  void TearDown() override {
    if (daemon_) {
      if (HasFailure()) std::cerr << "--- containerd log ---\n" << daemon_->log() << "\n";
      daemon_->stop();
    }
  }

  // Bounded wait for the daemon to create its socket; fails early if it died.
  ::testing::AssertionResult waitForSocket(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!daemon_->running()) return ::testing::AssertionFailure() << "containerd exited";
      if (std::filesystem::is_socket(socket_)) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(20ms);
    }
    return ::testing::AssertionFailure()
           << "no socket at " << socket_ << " after " << timeout.count() << " ms";
  }

  testing::TempDir dir_;
  std::string socket_;
  std::unique_ptr<testing::Process> daemon_;
};

TEST_F(ContainerdDaemonTest, ReportsItsVersion) {
  ASSERT_TRUE(waitForSocket(30s));
  auto client = ContainerdClient::connect(socket_, "oak-test");
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ((*client)->socketPath(), socket_);
  EXPECT_EQ((*client)->containerdNamespace(), "oak-test");

  // The socket may exist a moment before the daemon serves; the call waits up to its deadline.
  auto version = (*client)->version(20s);
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_FALSE(version->empty());
  // A second call reuses the channel.
  auto again = (*client)->version();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *version);
}

TEST(ContainerdClientTest, MissingSocketIsUnavailableAtOnce) {
  testing::TempDir dir;
  auto start = Clock::now();
  auto client = ContainerdClient::connect(dir.file("absent.sock"));
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("absent.sock"), std::string::npos)
      << client.error().message;
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(ContainerdClientTest, FileThatIsNoSocketIsUnavailable) {
  testing::TempDir dir;
  ASSERT_TRUE(files::writeAtomic(dir.file("plain"), "x"));
  auto client = ContainerdClient::connect(dir.file("plain"));
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
}

TEST(ContainerdClientTest, SilentDaemonIsUnavailableAfterTheDeadline) {
  // A socket that accepts connections at the kernel level but never speaks gRPC.
  testing::TempDir dir;
  auto path = dir.file("silent.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);

  auto client = ContainerdClient::connect(path);
  ASSERT_TRUE(client) << client.error().message;
  auto start = Clock::now();
  auto version = (*client)->version(300ms);
  auto took = Clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(version);
  EXPECT_EQ(version.error().code, ErrorCode::kUnavailable) << version.error().message;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace oak::worker::containerd
