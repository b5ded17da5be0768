// NetlinkHostNetwork::openTun against the kernel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "kernel_fixture.h"
#include "net_probe.h"
#include "worker/net/netlink_host_network.h"

namespace oak::worker::testing {
namespace {

using ::testing::HasSubstr;

class TunTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    Status ensured = host_.ensureBridge(bridge_);
    ASSERT_TRUE(ensured) << ensured.error().message;
    tun_.name = "oaktun0";
    tun_.mtu = 1400;
    tun_.source4 = bridge_.gateway4();
    tun_.source6 = bridge_.gateway6();
    tun_.offload = false;  // raw packets on the fd; the offload tests turn it on
  }

  NetlinkHostNetwork host_;
  BridgeConfig bridge_ = workerBridge();
  TunConfig tun_;
};

TEST_F(TunTest, RoutesTheOverlayIntoTheDevice) {
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_THAT(sh("ip link show oaktun0"), HasSubstr("mtu 1400"));
  EXPECT_THAT(sh("ip -d link show oaktun0"), HasSubstr("tun type tun pi off"));
  EXPECT_EQ(sh("ip route show dev oaktun0"),
            "10.16.0.0/12 proto static scope link src 10.18.0.1 \n");
  EXPECT_THAT(sh("ip -6 route show dev oaktun0"), HasSubstr("fc00::/7 proto static src fc00::1"));
  EXPECT_EQ(sh("ip addr show dev oaktun0 | grep inet"), "exit 1") << "no address of its own";
}

TEST_F(TunTest, PacketsTheHostSendsIntoTheOverlayArriveOnTheFd) {
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_TRUE(sendUdp("10.30.0.1", 5000, "hello"));
  Ipv4Packet header;
  auto packet = readPacket(fd->get(), [&](const std::vector<uint8_t>& p) {
    return parseIpv4(p, header) && header.destination == "10.30.0.1";
  });
  ASSERT_TRUE(packet) << packet.error().message;
  EXPECT_EQ(header.source, "10.18.0.1");
  EXPECT_EQ(header.protocol, IPPROTO_UDP);
  EXPECT_EQ(header.destination_port, 5000);

  ASSERT_TRUE(sendUdp("fdff::1", 5000, "hello"));
  auto packet6 = readPacket(
      fd->get(), [](const std::vector<uint8_t>& p) { return ipv6Destination(p) == "fdff::1"; });
  ASSERT_TRUE(packet6) << packet6.error().message;
  EXPECT_EQ(ipv6Source(*packet6), "fc00::1");
}

TEST_F(TunTest, WithOffloadsEveryPacketComesBehindAVirtioNetHeader) {
  tun_.offload = true;
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_THAT(sh("ip -d link show oaktun0"), HasSubstr("vnet_hdr on"));
  ASSERT_TRUE(sendUdp("10.30.0.1", 5000, "hello"));
  Ipv4Packet header;
  auto packet = readPacket(fd->get(), [&](const std::vector<uint8_t>& p) {
    return p.size() > 10 && parseIpv4(std::vector<uint8_t>(p.begin() + 10, p.end()), header) &&
           header.destination == "10.30.0.1";
  });
  ASSERT_TRUE(packet) << packet.error().message;
  // The host's own UDP leaves its checksum to the device: flags NEEDS_CSUM, no segmentation,
  // the checksum field 20 + 6 bytes into the packet (little-endian header fields).
  const std::vector<uint8_t>& p = *packet;
  EXPECT_EQ(p[1], 0) << "no segmentation";
  if (p[0] & 1) {
    EXPECT_EQ(p[6] | (p[7] << 8), 20);
    EXPECT_EQ(p[8] | (p[9] << 8), 6);
  }
  EXPECT_EQ(header.source, "10.18.0.1");
  EXPECT_EQ(header.destination_port, 5000);
}

TEST_F(TunTest, TheDeviceGoesWithItsLastFd) {
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_TRUE(fd) << fd.error().message;
  fd->reset();
  EXPECT_THAT(sh("ip link show oaktun0 2>/dev/null"), HasSubstr("exit"));
  EXPECT_EQ(sh("ip route show 10.16.0.0/12"), "");
}

TEST_F(TunTest, ASecondOpenOfABusyDeviceFails) {
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_TRUE(fd) << fd.error().message;
  Result<UniqueFd> again = host_.openTun(tun_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(again.error().message, "create TUN oaktun0: Device or resource busy");
}

TEST_F(TunTest, MultiQueueDevicesTakeOneFdPerQueue) {
  tun_.multi_queue = true;
  Result<UniqueFd> first = host_.openTun(tun_);
  ASSERT_TRUE(first) << first.error().message;
  Result<UniqueFd> second = host_.openTun(tun_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_THAT(sh("ip -d link show oaktun0"), HasSubstr("multi_queue"));
}

TEST_F(TunTest, TheShortFormNeedsNoSourceAddresses) {
  Result<UniqueFd> fd = host_.openTun("oaktun1", 1450);
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_EQ(sh("ip route show dev oaktun1"), "10.16.0.0/12 proto static scope link \n");
}

TEST_F(TunTest, InvalidSettingsAreRejected) {
  tun_.mtu = 1000;
  Result<UniqueFd> fd = host_.openTun(tun_);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fd.error().message, "TUN oaktun0 mtu 1000 must be 1280..65535");
  EXPECT_FALSE(host_.openTun("a-name-longer-than-15", 1450));
}

}  // namespace
}  // namespace oak::worker::testing
