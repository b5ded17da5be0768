// `oakestra doctor`'s checks against temporary files, sockets and small servers.

#include "doctor/checks.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process.h"
#include "temp_dir.h"

namespace oak::doctor {
namespace {

using ::testing::HasSubstr;

int listenTcp(uint16_t& port) {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int off = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_any;
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  ::listen(fd, 4);
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin6_port);
  return fd;
}

// Answers one HTTP request with `response`, then closes.
std::thread answerOnce(int listener, std::string response) {
  return std::thread([listener, response = std::move(response)] {
    int c = ::accept(listener, nullptr, nullptr);
    char buf[2048];
    (void)!::read(c, buf, sizeof(buf));
    (void)!::write(c, response.data(), response.size());
    ::close(c);
  });
}

TEST(DoctorTest, UnixSocketsAnswerOrSayHowToFixIt) {
  testing::TempDir dir;
  std::string path = dir.file("c.sock");
  auto missing = checkUnixSocket("containerd", path, "start containerd");
  EXPECT_EQ(missing.outcome, Outcome::kProblem);
  EXPECT_THAT(missing.detail, HasSubstr(path));
  EXPECT_EQ(missing.fix, "start containerd");

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ::listen(fd, 1);
  EXPECT_EQ(checkUnixSocket("containerd", path, "").outcome, Outcome::kOk);
  ::close(fd);
}

TEST(DoctorTest, PortsInUseAreProblems) {
  uint16_t port = 0;
  int fd = listenTcp(port);
  auto used = checkTcpPortFree("API port", port);
  EXPECT_EQ(used.outcome, Outcome::kProblem);
  EXPECT_THAT(used.detail, HasSubstr(fmt::format("{}/tcp is in use", port)));
  EXPECT_THAT(used.fix, HasSubstr("ss -lnp"));
  ::close(fd);
  EXPECT_EQ(checkTcpPortFree("API port", port).outcome, Outcome::kOk);
  EXPECT_EQ(checkUdpPortFree("tunnel port", testing::pickFreePort()).outcome, Outcome::kOk);
}

TEST(DoctorTest, MissingDevicesAndBinariesAreNamed) {
  testing::TempDir dir;
  auto kvm = checkKvm(dir.path().string());
  EXPECT_EQ(kvm.outcome, Outcome::kWarning);  // unikernels still run, emulated
  EXPECT_THAT(kvm.detail, HasSubstr("emulated"));
  auto tun = checkTun(dir.path().string());
  EXPECT_EQ(tun.outcome, Outcome::kProblem);
  EXPECT_THAT(tun.fix, HasSubstr("modprobe tun"));
  auto binary = checkExecutable("runc", dir.file("runc"), "apt-get install runc");
  EXPECT_EQ(binary.outcome, Outcome::kProblem);
  EXPECT_EQ(checkExecutable("sh", "/bin/sh", "").outcome, Outcome::kOk);
}

// This machine's kernel has what the overlay's kernel data plane needs (CI runs as root, and the
// kernel of this machine kind has VXLAN and nftables NAT); the check leaves nothing behind.
TEST(DoctorTest, TheKernelDataPlaneIsTriedInAThrowawayNamespace) {
  ASSERT_EQ(::geteuid(), 0u) << "creating a network namespace needs root (CI runs as root)";
  auto found = checkKernelDataPlane();
  EXPECT_EQ(found.outcome, Outcome::kOk) << found.detail;
  EXPECT_FALSE(std::filesystem::exists("/sys/class/net/oakdoctor0"));
  DoctorOptions userspace;
  userspace.data_plane = "userspace";
  for (const auto& f : runChecks(userspace)) EXPECT_NE(f.check, "kernel data plane");
}

TEST(DoctorTest, DataDirectoriesMustBeWritable) {
  testing::TempDir dir;
  EXPECT_EQ(checkDataDir(dir.file("new/state")).outcome, Outcome::kOk);
  std::ofstream(dir.file("file")) << "x";
  auto blocked = checkDataDir(dir.file("file") + "/state");
  EXPECT_EQ(blocked.outcome, Outcome::kProblem);
  EXPECT_THAT(blocked.fix, HasSubstr("--data-dir"));
}

TEST(DoctorTest, TheParentMustAnswerAndAgreeOnTheTime) {
  uint16_t port = 0;
  int fd = listenTcp(port);
  std::string url = fmt::format("http://127.0.0.1:{}", port);
  char now[64];
  time_t t = ::time(nullptr);
  tm utc{};
  ::gmtime_r(&t, &utc);
  ::strftime(now, sizeof(now), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  auto healthy = answerOnce(
      fd, fmt::format("HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Length: 2\r\n\r\nok", now));
  EXPECT_EQ(checkParent("cluster", url).outcome, Outcome::kOk);
  healthy.join();

  auto skewed = answerOnce(
      fd, "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\n\r\nok");
  auto skew = checkParent("cluster", url);
  skewed.join();
  EXPECT_EQ(skew.outcome, Outcome::kProblem);
  EXPECT_THAT(skew.detail, HasSubstr("clocks differ"));

  auto wrong = answerOnce(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  auto not_found = checkParent("cluster", url);
  wrong.join();
  EXPECT_EQ(not_found.outcome, Outcome::kProblem);
  EXPECT_THAT(not_found.detail, HasSubstr("404"));
  ::close(fd);

  auto gone = checkParent("cluster", url);
  EXPECT_EQ(gone.outcome, Outcome::kProblem);
  EXPECT_THAT(gone.detail, HasSubstr("cannot reach"));
}

TEST(DoctorTest, TheReportListsEveryFindingAndFailsOnProblemsOnly) {
  std::vector<Finding> findings{{"tun", Outcome::kOk, "usable", ""},
                                {"kvm", Outcome::kWarning, "emulated", "enable it"}};
  EXPECT_EQ(exitCode(findings), 0);
  std::string text = render(findings, false);
  EXPECT_THAT(text, HasSubstr("ok    tun  usable"));
  EXPECT_THAT(text, HasSubstr("fix: enable it"));
  EXPECT_THAT(text, HasSubstr("all good (1 warning)"));
  findings.push_back({"containerd", Outcome::kProblem, "missing", "install it"});
  EXPECT_EQ(exitCode(findings), 1);
  EXPECT_THAT(render(findings, false), HasSubstr("1 problem to fix"));
}

}  // namespace
}  // namespace oak::doctor
