// The unikernel runtime's pure parts: kernel selection by architecture, QEMU's command line and
// the guest's network interface.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "worker/runtime/unikernel/kernel_store.h"
#include "worker/runtime/unikernel/qemu.h"

namespace oak::worker::unikernel {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string joined(const std::vector<std::string>& command) {
  std::string line;
  for (const auto& a : command) line += a + " ";
  return line;
}

const QemuHost kX86{"amd64", "/usr/bin/qemu-system-x86_64", true, "QEMU"};

TEST(KernelUrlTest, SelectsByArchitecture) {
  EXPECT_EQ(selectKernelUrl("http://a", {}, "amd64").value(), "http://a");
  EXPECT_EQ(selectKernelUrl("http://a, http://b", {"arm64", "amd64"}, "amd64").value(), "http://b");
  EXPECT_EQ(selectKernelUrl("http://a,http://b", {}, "amd64").error().message,
            "arch: needed to choose among 2 kernel URLs");
}

TEST(QemuCommandTest, MicrovmWithLimitsSharesAndQmp) {
  VmConfig vm;
  vm.name = "a.instance.0";
  vm.kernel = "/k/kernel";
  vm.memory_mb = 0;
  vm.vcpus = 1.5;
  vm.shares = {{"fs1", "/r/shares/fs1"}};
  vm.args = {"-v", "x"};
  const std::string line = joined(qemuCommand(kX86, vm));
  EXPECT_THAT(line, HasSubstr("-M microvm -accel kvm -nodefaults -no-user-config -nographic "
                              "-m 16 -smp 2 -kernel /k/kernel -append -- -v x "));
  EXPECT_THAT(line, HasSubstr("-device virtio-9p-device,fsdev=share0,mount_tag=fs1"));
  EXPECT_THAT(line, HasSubstr("-qmp unix:qmp.sock,server=on,wait=off"));
  EXPECT_THAT(line, Not(HasSubstr("-netdev")));
  EXPECT_EQ(guestExitCode(0), 0);
  EXPECT_EQ(guestExitCode(1), 0);
  EXPECT_EQ(guestExitCode(11), 5);
}

TEST(QemuCommandTest, NoArgumentsNoAppend) {
  VmConfig vm;
  vm.kernel = "/k/kernel";
  EXPECT_THAT(joined(qemuCommand(kX86, vm)), Not(HasSubstr("-append")));
}

TEST(GuestNicTest, AddressesMaskAndAStableMacFromTheNsip) {
  auto nic = guestNic("10.18.0.69/26", "10.18.0.65", 1450);
  ASSERT_TRUE(nic) << nic.error().message;
  EXPECT_EQ(nic->address, "10.18.0.69");
  EXPECT_EQ(nic->gateway, "10.18.0.65");
  EXPECT_EQ(nic->netmask, "255.255.255.192");
  EXPECT_EQ(nic->mac, "02:6f:0a:12:00:45");
  EXPECT_EQ(nic->tap, "tap0");
  EXPECT_EQ(nic->mtu, 1450);
  EXPECT_EQ(guestNic("192.168.1.2/30", "192.168.1.1", 0)->netmask, "255.255.255.252");
  EXPECT_EQ(guestNic("10.0.0.2/8", "10.0.0.1", 0)->netmask, "255.0.0.0");
}

TEST(GuestNicTest, RefusesWhatIsNoAddressNamingTheField) {
  for (const char* bad : {"10.18.0.69", "10.18.0.69/", "10.18.0.69/33", "10.18.0.69/0",
                          "10.18.0.69/26x", "10.18.0/26", "", "fc00::5/120"}) {
    auto nic = guestNic(bad, "10.18.0.65", 1450);
    ASSERT_FALSE(nic) << bad;
    EXPECT_EQ(nic.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(nic.error().message, "nsip: '" + std::string(bad) +
                                       "' is not an IPv4 address with a prefix length of 1..30");
  }
  EXPECT_EQ(guestNic("10.18.0.69/26", "", 1450).error().message,
            "gateway: '' is not an IPv4 address");
}

TEST(QemuCommandTest, ANicIsAVirtioDeviceOnTheTapWithUnikraftsAddressArguments) {
  VmConfig vm;
  vm.kernel = "/k/kernel";
  vm.args = {"-p", "80"};
  vm.nic = *guestNic("10.18.0.69/26", "10.18.0.65", 1450);
  const std::string line = joined(qemuCommand(kX86, vm));
  EXPECT_THAT(line, HasSubstr("-append netdev.ipv4_addr=10.18.0.69 netdev.ipv4_gw_addr=10.18.0.65 "
                              "netdev.ipv4_subnet_mask=255.255.255.192 -- -p 80 "));
  EXPECT_THAT(line, HasSubstr("-netdev tap,id=net0,ifname=tap0,script=no,downscript=no "
                              "-device virtio-net-device,netdev=net0,mac=02:6f:0a:12:00:45,"
                              "host_mtu=1450 "));
  // The address arguments are one -append value, and end with `--` even without arguments.
  vm.args.clear();
  vm.nic->mtu = 0;
  auto command = qemuCommand(kX86, vm);
  auto append = std::find(command.begin(), command.end(), "-append");
  ASSERT_NE(append, command.end());
  EXPECT_EQ(*(append + 1),
            "netdev.ipv4_addr=10.18.0.69 netdev.ipv4_gw_addr=10.18.0.65 "
            "netdev.ipv4_subnet_mask=255.255.255.192 --");
  EXPECT_THAT(joined(command), HasSubstr("mac=02:6f:0a:12:00:45 "));  // no host_mtu
}

TEST(QemuCommandTest, Arm64UsesPciDevices) {
  const QemuHost arm{"arm64", "/usr/bin/qemu-system-aarch64", false, "QEMU"};
  VmConfig vm;
  vm.kernel = "/k/kernel";
  vm.shares = {{"fs0", "/r/shares/fs0"}};
  vm.nic = *guestNic("10.18.0.69/26", "10.18.0.65", 1450);
  const std::string line = joined(qemuCommand(arm, vm));
  EXPECT_THAT(line, HasSubstr("-M virt -cpu cortex-a57 -accel tcg"));
  EXPECT_THAT(line, HasSubstr("-device virtio-9p-pci,fsdev=share0,mount_tag=fs0"));
  EXPECT_THAT(line, HasSubstr("-device virtio-net-pci,netdev=net0,mac=02:6f:0a:12:00:45"));
  EXPECT_THAT(line, Not(HasSubstr("isa-debug-exit")));
}

}  // namespace
}  // namespace oak::worker::unikernel
