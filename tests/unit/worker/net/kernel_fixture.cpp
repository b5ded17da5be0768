#include "kernel_fixture.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "worker/net/netns.h"

namespace oak::worker::testing {

void KernelTest::SetUp() {
  ASSERT_EQ(::geteuid(), 0u) << "these tests configure the kernel's network (namespaces, links, "
                                "nftables) and must run as root";
  ASSERT_EQ(::unshare(CLONE_NEWNET | CLONE_NEWNS), 0)
      << "unshare(CLONE_NEWNET | CLONE_NEWNS): " << std::strerror(errno);
  // Mounts made by the test (namespace bind mounts) stay inside its mount namespace.
  ASSERT_EQ(::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
      << "make / private: " << std::strerror(errno);
  // A sysfs of our own, so that /sys/class/net shows this test's interfaces.
  ASSERT_EQ(::mount("sysfs", "/sys", "sysfs", 0, nullptr), 0)
      << "mount sysfs: " << std::strerror(errno);
  dir_ = std::make_unique<oak::testing::TempDir>();
  ASSERT_EQ(sh("ip link set lo up"), "");
}

void KernelTest::TearDown() {
  if (dir_) ::umount2((dir_->path() / "netns").c_str(), MNT_DETACH);
  dir_.reset();
}

std::string KernelTest::netnsPath(const std::string& name) const {
  return (dir_->path() / "netns" / name).string();
}

std::string KernelTest::makeNetns(const std::string& name) const {
  const std::string path = netnsPath(name);
  Status created = createNetns(path);
  EXPECT_TRUE(created) << created.error().message;
  return path;
}

InstanceLink KernelTest::makeInstance(const std::string& name, const char* nsip,
                                      const char* nsip6) const {
  InstanceLink link;
  link.netns_path = makeNetns(name);
  link.host_ifname = instanceLinkName(name);
  link.nsip = *net::Ipv4Address::parse(nsip);
  if (nsip6) link.nsip6 = *net::Ipv6Address::parse(nsip6);
  return link;
}

BridgeConfig KernelTest::workerBridge() {
  BridgeConfig bridge;
  bridge.subnet4 = *net::Ipv4Prefix::parse("10.18.0.0/26");
  bridge.subnet6 = *net::Ipv6Prefix::parse("fc00::/120");
  return bridge;
}

std::string sh(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out += "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return out;
}

}  // namespace oak::worker::testing
