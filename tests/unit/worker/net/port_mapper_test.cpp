// NftPortMapper against the kernel: a host ("the test's namespace") with the instance bridge,
// instances A and B on it, and a client C behind a second bridge, as if on the LAN.
#include "worker/net/nft_port_mapper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include "kernel_fixture.h"
#include "net_probe.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/netns.h"

namespace oak::worker::testing {
namespace {

// The TUN as raw packets on the fd, which these tests read and write themselves.
TunConfig plainTun() {
  TunConfig tun;
  tun.offload = false;
  return tun;
}

using ::testing::HasSubstr;
using ::testing::Not;
using Protocol = net::PortMapping::Protocol;

constexpr char kTask[] = "app.instance.0";
constexpr char kOtherTask[] = "other.instance.0";

class PortMapperTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    lan_.name = "lan0";
    lan_.subnet4 = *net::Ipv4Prefix::parse("192.168.77.0/24");
    lan_.subnet6 = *net::Ipv6Prefix::parse("2001:db8:77::/120");
    ASSERT_TRUE(host_.ensureBridge(bridge_));
    ASSERT_TRUE(host_.ensureBridge(lan_));
    a_ = attach(bridge_, "a", "10.18.0.2", "fc00::2");
    b_ = attach(bridge_, "b", "10.18.0.3", "fc00::3");
    c_ = attach(lan_, "c", "192.168.77.2", "2001:db8:77::2");
    Status reset = mapper_.reset(bridge_.subnet4, bridge_.subnet6);
    ASSERT_TRUE(reset) << reset.error().message;
  }

  InstanceLink attach(const BridgeConfig& bridge, const std::string& name, const char* nsip,
                      const char* nsip6) {
    InstanceLink link = makeInstance(name, nsip, nsip6);
    Status attached = host_.attachInstance(bridge, link);
    EXPECT_TRUE(attached) << attached.error().message;
    return link;
  }

  Status map(const char* task, const InstanceLink& link, std::vector<net::PortMapping> ports) {
    return mapper_.add(task, link.nsip, link.nsip6, ports);
  }

  static UniqueFd listenIn(const InstanceLink& link, uint16_t port) {
    Result<UniqueFd> fd = runInNetns(link.netns_path, [&] { return listenTcp(port); });
    EXPECT_TRUE(fd) << fd.error().message;
    return fd ? std::move(*fd) : UniqueFd();
  }

  static Status connectFrom(const InstanceLink& link, const std::string& address, uint16_t port,
                            const std::string& data) {
    return runInNetns(link.netns_path, [&] { return connectAndSend(address, port, data); });
  }

  NetlinkHostNetwork host_;
  NftPortMapper mapper_;
  BridgeConfig bridge_ = workerBridge();
  BridgeConfig lan_;
  InstanceLink a_, b_, c_;
};

TEST_F(PortMapperTest, AMappedPortReachesTheInstanceFromOutside) {
  UniqueFd server = listenIn(a_, 80);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));

  ASSERT_TRUE(connectFrom(c_, "192.168.77.1", 8080, "over v4"));
  Result<Accepted> accepted = acceptOne(server.get());
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->data, "over v4");
  EXPECT_EQ(accepted->peer, "192.168.77.2") << "outside clients keep their address";

  ASSERT_TRUE(connectFrom(c_, "2001:db8:77::1", 8080, "over v6"));
  accepted = acceptOne(server.get());
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->data, "over v6");
  EXPECT_EQ(accepted->peer, "2001:db8:77::2");
  EXPECT_THAT(sh("nft list map inet oakestra dnat4"), HasSubstr("tcp . 8080 : 10.18.0.2 . 80"));
}

TEST_F(PortMapperTest, AMappedPortReachesTheInstanceFromTheHostItself) {
  UniqueFd server = listenIn(a_, 80);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  for (const char* address : {"192.168.77.1", "10.18.0.1", "2001:db8:77::1"}) {
    ASSERT_TRUE(connectAndSend(address, 8080, address)) << address;
    Result<Accepted> accepted = acceptOne(server.get());
    ASSERT_TRUE(accepted) << address << ": " << accepted.error().message;
    EXPECT_EQ(accepted->data, address);
  }
}

TEST_F(PortMapperTest, AnInstanceReachesAMappedPortThroughTheHostAddress) {
  UniqueFd server = listenIn(a_, 80);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  ASSERT_TRUE(connectFrom(b_, "192.168.77.1", 8080, "hairpin"));
  Result<Accepted> accepted = acceptOne(server.get());
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->data, "hairpin");
  EXPECT_EQ(accepted->peer, "10.18.0.1") << "masqueraded, so that replies go back via the host";
}

TEST_F(PortMapperTest, RemovingTheMappingStopsItAndIsIdempotent) {
  UniqueFd server = listenIn(a_, 80);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  ASSERT_TRUE(mapper_.remove(kTask));
  Status connected = connectFrom(c_, "192.168.77.1", 8080, "x");
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error().message, "connect: Connection refused");
  EXPECT_TRUE(mapper_.remove(kTask));
  EXPECT_TRUE(mapper_.remove("never.instance.0"));
  EXPECT_THAT(sh("nft list map inet oakestra dnat4"), Not(HasSubstr("8080")));
}

TEST_F(PortMapperTest, AHostPortOfAnotherInstanceIsAConflict) {
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  Status added = map(kOtherTask, b_, {{9090, 90, Protocol::kTcp}, {8080, 80, Protocol::kTcp}});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kConflict);
  EXPECT_EQ(added.error().message, "host port tcp/8080 is already mapped by app.instance.0");
  EXPECT_THAT(sh("nft list map inet oakestra dnat4"), Not(HasSubstr("9090")));
  EXPECT_TRUE(map(kOtherTask, b_, {{8080, 80, Protocol::kUdp}})) << "UDP is another port";
}

TEST_F(PortMapperTest, AddingAgainReplacesTheMappings) {
  UniqueFd server = listenIn(a_, 80);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}})) << "identical: nothing to do";
  ASSERT_TRUE(map(kTask, a_, {{8081, 80, Protocol::kTcp}}));
  EXPECT_FALSE(connectFrom(c_, "192.168.77.1", 8080, "old"));
  ASSERT_TRUE(connectFrom(c_, "192.168.77.1", 8081, "new"));
  Result<Accepted> accepted = acceptOne(server.get());
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->data, "new");
}

TEST_F(PortMapperTest, AnElementAddedBehindItsBackIsNotStolen) {
  ASSERT_EQ(sh("nft add element inet oakestra dnat4 '{ tcp . 8080 : 10.18.0.9 . 80 }'"), "");
  Status added = map(kTask, a_, {{8080, 80, Protocol::kTcp}});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kConflict);
  EXPECT_THAT(added.error().message, HasSubstr("map host ports of app.instance.0: "));
  EXPECT_THAT(added.error().message, HasSubstr("File exists"));
}

TEST_F(PortMapperTest, RemoveCopesWithElementsDeletedBehindItsBack) {
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}, {8081, 81, Protocol::kTcp}}));
  ASSERT_EQ(sh("nft delete element inet oakestra dnat4 '{ tcp . 8080 }'"), "");
  Status removed = mapper_.remove(kTask);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_THAT(sh("nft list map inet oakestra dnat4"), Not(HasSubstr("8081")));
}

TEST_F(PortMapperTest, OverlayTrafficToAnotherInstanceKeepsItsDestination) {
  // A maps host port 8080 but listens nowhere; B listens on its own port 8080. A SYN that the
  // proxy delivers to B through the TUN must reach B (SYN-ACK), not be diverted to A (RST).
  Result<UniqueFd> tun = host_.openTun(plainTun());
  ASSERT_TRUE(tun) << tun.error().message;
  UniqueFd server = listenIn(b_, 8080);
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  const std::vector<uint8_t> syn = tcpSyn("10.30.0.9", 40000, "10.18.0.3", 8080);
  ASSERT_EQ(::write(tun->get(), syn.data(), syn.size()), static_cast<ssize_t>(syn.size()));
  Ipv4Packet answer;
  auto packet = readPacket(tun->get(), [&](const std::vector<uint8_t>& p) {
    return parseIpv4(p, answer) && answer.destination == "10.30.0.9";
  });
  ASSERT_TRUE(packet) << packet.error().message;
  EXPECT_EQ(answer.source, "10.18.0.3");
  EXPECT_EQ(answer.source_port, 8080);
  EXPECT_EQ(answer.tcp_flags, TH_SYN | TH_ACK);
}

TEST_F(PortMapperTest, InstanceTrafficLeavingTheHostIsMasqueraded) {
  UniqueFd server = listenIn(c_, 9000);
  for (const char* address : {"192.168.77.2", "2001:db8:77::2"}) {
    ASSERT_TRUE(connectFrom(a_, address, 9000, "out"));
    Result<Accepted> accepted = acceptOne(server.get());
    ASSERT_TRUE(accepted) << accepted.error().message;
    EXPECT_EQ(accepted->peer,
              std::string(address) == "2001:db8:77::2" ? "2001:db8:77::1" : "192.168.77.1");
  }
}

TEST_F(PortMapperTest, InstanceTrafficIntoTheOverlayKeepsItsSource) {
  Result<UniqueFd> tun = host_.openTun(plainTun());
  ASSERT_TRUE(tun) << tun.error().message;
  ASSERT_TRUE(runInNetns(a_.netns_path, [] { return sendUdp("10.30.0.7", 5000, "x"); }));
  Ipv4Packet header;
  auto packet = readPacket(tun->get(), [&](const std::vector<uint8_t>& p) {
    return parseIpv4(p, header) && header.destination == "10.30.0.7";
  });
  ASSERT_TRUE(packet) << packet.error().message;
  EXPECT_EQ(header.source, "10.18.0.2");

  ASSERT_TRUE(runInNetns(a_.netns_path, [] { return sendUdp("fdff::7", 5000, "x"); }));
  auto packet6 = readPacket(
      tun->get(), [](const std::vector<uint8_t>& p) { return ipv6Destination(p) == "fdff::7"; });
  ASSERT_TRUE(packet6) << packet6.error().message;
  EXPECT_EQ(ipv6Source(*packet6), "fc00::2");
}

TEST_F(PortMapperTest, ResetStartsFromNoMappings) {
  ASSERT_TRUE(map(kTask, a_, {{8080, 80, Protocol::kTcp}}));
  ASSERT_TRUE(mapper_.reset(bridge_.subnet4, bridge_.subnet6));
  EXPECT_THAT(sh("nft list map inet oakestra dnat4"), Not(HasSubstr("8080")));
  EXPECT_TRUE(map(kOtherTask, b_, {{8080, 80, Protocol::kTcp}}));
}

TEST_F(PortMapperTest, TeardownRemovesTheTableAndIsIdempotent) {
  EXPECT_THAT(sh("nft list tables"), HasSubstr("table inet oakestra"));
  ASSERT_TRUE(mapper_.teardown());
  EXPECT_THAT(sh("nft list tables"), Not(HasSubstr("oakestra")));
  EXPECT_TRUE(mapper_.teardown());
}

TEST_F(PortMapperTest, AddWithoutTheTableSaysWhatFailed) {
  ASSERT_TRUE(mapper_.teardown());
  Status added = map(kTask, a_, {{8080, 80, Protocol::kTcp}});
  ASSERT_FALSE(added);
  EXPECT_THAT(added.error().message, HasSubstr("map host ports of app.instance.0: "));
  EXPECT_THAT(added.error().message, HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace oak::worker::testing
