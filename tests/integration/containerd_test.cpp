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
#include "containerd_daemon.h"
#include "process.h"
#include "temp_dir.h"
#include "worker/runtime/containerd/client.h"

namespace oak::worker::containerd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ContainerdDaemonTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- containerd log ---\n" << daemon_.log() << "\n";
  }
  testing::ContainerdDaemon daemon_;
};

TEST_F(ContainerdDaemonTest, ReportsItsVersion) {
  ASSERT_TRUE(daemon_.waitReady(30s));
  auto client = ContainerdClient::connect(daemon_.socket(), "oak-test");
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ((*client)->socketPath(), daemon_.socket());
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
