// The data path without offloads, as on a kernel that refuses them: TUN devices that are socket
// pairs (FakeHostNetwork), two workers' data paths talking over loopback UDP. Packets are read
// and written one by one, raw, and translated as the proxy core decides.

#include "worker/overlay/data_path.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "net/address_plan.h"
#include "overlay/packet.h"
#include "testing_packets.h"
#include "worker/net/fake_host_network.h"

namespace oak::worker {
namespace {

using overlay::testing::Bytes;
using overlay::testing::v4;
using overlay::testing::v6;

// A UDP port free on loopback right now.
uint16_t freeUdpPort() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// The next packet the data path writes into a fake TUN device, or nothing within 3 s.
std::optional<Bytes> readTun(int peer) {
  pollfd p{peer, POLLIN, 0};
  if (::poll(&p, 1, 3000) <= 0) return std::nullopt;
  Bytes b(65536);
  ssize_t n = ::read(peer, b.data(), b.size());
  if (n <= 0) return std::nullopt;
  b.resize(static_cast<size_t>(n));
  return b;
}

class DataPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w1_ = {overlay::IpAddress(v4("127.0.0.1")), freeUdpPort()};
    w2_ = {overlay::IpAddress(v4("127.0.0.1")), freeUdpPort()};
    overlay::ServiceTable::Builder b1, b2;
    overlay::JobRoutes server{
        .job_name = "app.ns.srv.ns",
        .service_ips = {{net::kRoundRobinPolicy, v4("10.30.0.1"), v6("fdff:2000::1")}},
        .instances = {
            {0, "w2", v4("10.30.0.3"), v6("fdff::3"), v4("10.18.0.66"), v6("fc00::142"), w2_}}};
    overlay::JobRoutes client{.job_name = "app.ns.cli.ns",
                              .service_ips = {},
                              .instances = {{0, "w1", v4("10.30.0.10"), v6("fdff::10"),
                                             v4("10.18.0.2"), v6("fc00::2"), w1_}}};
    for (auto* b : {&b1, &b2}) {
      b->add(server);
      b->add(client);
    }
    b1.addLocal(
        {"app.ns.cli.ns", 0, v4("10.18.0.2"), v6("fc00::2"), v4("10.30.0.10"), v6("fdff::10")});
    b2.addLocal(
        {"app.ns.srv.ns", 0, v4("10.18.0.66"), v6("fc00::142"), v4("10.30.0.3"), v6("fdff::3")});
    dp1_ = start("oaktun1", "10.18.0.0/26", "fc00::/120", w1_);
    dp2_ = start("oaktun2", "10.18.0.64/26", "fc00::100/120", w2_);
    ASSERT_TRUE(dp1_ && dp2_);
    dp1_->setTable(b1.build());
    dp2_->setTable(b2.build());
  }

  std::unique_ptr<DataPath> start(const char* tun, const char* subnet4, const char* subnet6,
                                  const overlay::TunnelEndpoint& self) {
    auto fd = host_.openTun(tun, 1450);
    EXPECT_TRUE(fd);
    overlay::ProxyConfig proxy{*net::Ipv4Prefix::parse(subnet4), *net::Ipv6Prefix::parse(subnet6),
                               self};
    auto dp = DataPath::start(std::move(*fd), {proxy, self.port}, SystemClock::instance(),
                              [](std::string) {});
    EXPECT_TRUE(dp) << (dp ? "" : dp.error().message);
    return dp ? std::move(*dp) : nullptr;
  }

  // Writes `packet` into the TUN of worker `from` and returns what comes out of the other's.
  std::optional<Bytes> cross(int from, const Bytes& packet) {
    int in = host_.tunPeer(from == 1 ? "oaktun1" : "oaktun2");
    int out = host_.tunPeer(from == 1 ? "oaktun2" : "oaktun1");
    EXPECT_EQ(::write(in, packet.data(), packet.size()), static_cast<ssize_t>(packet.size()));
    return readTun(out);
  }

  FakeHostNetwork host_;
  overlay::TunnelEndpoint w1_, w2_;
  std::unique_ptr<DataPath> dp1_, dp2_;
};

void expectPacket(const std::optional<Bytes>& got, const overlay::IpAddress& src,
                  const overlay::IpAddress& dst) {
  ASSERT_TRUE(got) << "nothing arrived";
  overlay::Packet p;
  Bytes copy = *got;
  ASSERT_EQ(overlay::parsePacket(copy, p), overlay::PacketError::kOk);
  EXPECT_EQ(p.source(), src);
  EXPECT_EQ(p.destination(), dst);
  EXPECT_TRUE(overlay::testing::checksumsValid(*got));
}

TEST_F(DataPathTest, PacketsCrossOneByOneWithoutOffloads) {
  struct Case {
    const char *client, *service, *client_ip, *server;
    uint8_t protocol;
  };
  for (const Case& c : {Case{"10.18.0.2", "10.30.0.1", "10.30.0.10", "10.18.0.66", 6},
                        Case{"10.18.0.2", "10.30.0.1", "10.30.0.10", "10.18.0.66", 17},
                        Case{"fc00::2", "fdff:2000::1", "fdff::10", "fc00::142", 6},
                        Case{"fc00::2", "fdff:2000::1", "fdff::10", "fc00::142", 17}}) {
    SCOPED_TRACE(std::string(c.service) + " protocol " + std::to_string(c.protocol));
    auto ip = [](const char* t) -> overlay::IpAddress {
      if (auto a = net::Ipv4Address::parse(t)) return *a;
      return *net::Ipv6Address::parse(t);
    };
    overlay::testing::PacketSpec request{
        .src = ip(c.client), .dst = ip(c.service), .protocol = c.protocol};
    request.payload = 1300;
    expectPacket(cross(1, overlay::testing::buildPacket(request)), ip(c.client_ip), ip(c.server));
    overlay::testing::PacketSpec reply{
        .src = ip(c.server), .dst = ip(c.client_ip), .protocol = c.protocol};
    reply.src_port = 80;
    reply.dst_port = 40000;
    reply.tcp_flags = 0x12;
    reply.payload = 10;
    expectPacket(cross(2, overlay::testing::buildPacket(reply)), ip(c.service), ip(c.client));
  }
  EXPECT_FALSE(dp1_->stats().tun_offload);
}

}  // namespace
}  // namespace oak::worker
