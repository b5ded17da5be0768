// The VXLAN overlay's kernel plumbing (netlink.h): devices, FDB entries, permanent neighbours,
// on-link and unreachable routes, checked with `ip`/`bridge` and with traffic between two
// namespaces joined by a veth.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "kernel_fixture.h"
#include "net_probe.h"
#include "wait.h"
#include "worker/net/netlink.h"
#include "worker/net/netns.h"

namespace oak::worker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Mac = std::array<uint8_t, 6>;

constexpr uint16_t kVxlanPort = 50103;
constexpr uint16_t kProbePort = 7000;
constexpr Mac kMacA{0x02, 0, 0, 0, 0, 0x0a};
constexpr Mac kMacB{0x02, 0, 0, 0, 0, 0x0b};

net::Ipv4Address v4(const char* text) {
  return *net::Ipv4Address::parse(text);
}
net::Ipv6Address v6(const char* text) {
  return *net::Ipv6Address::parse(text);
}

// One side of the overlay. Its VXLAN device "vx0" holds the first address of its subnets
// (10.18.0.0/26 and fc00::/120 for A), as the peers' routes expect.
struct Host {
  std::string netns;  // empty: the test's own namespace
  overlay::IpAddress underlay;
  Mac mac{};
  net::Ipv4Address vtep4;
  net::Ipv6Address vtep6;
};

// Runs `fn` with a netlink socket in the namespace at `netns` (empty: the test's own).
template <class Fn>
std::invoke_result_t<Fn&, nl::Socket&> withSocket(const std::string& netns, Fn&& fn) {
  auto body = [&]() -> std::invoke_result_t<Fn&, nl::Socket&> {
    OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
    return fn(sock);
  };
  if (netns.empty()) return body();
  return runInNetns(netns, body);
}

template <class Fn>
auto onHost(const Host& host, Fn&& fn) {
  return withSocket(host.netns, std::forward<Fn>(fn));
}

// Runs a shell command in the namespace of `host`.
std::string shOn(const Host& host, const std::string& command) {
  return sh(host.netns.empty() ? command : "nsenter --net=" + host.netns + " " + command);
}

// An IPv6 address added without DAD can be bound at once, but its local route comes a little
// later; packets to it are dropped until then.
void awaitLocalRoute6(const Host& host, const std::string& address) {
  ASSERT_TRUE(oak::testing::waitUntil(address, std::chrono::seconds(5), [&] {
    return !shOn(host, "ip -6 route show table local to " + address).empty();
  }));
}

Result<int> ifindexOf(nl::Socket& sock, const std::string& name) {
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, name));
  if (!link) return makeError(ErrorCode::kNotFound, name + " is missing");
  return rtnl_link_get_ifindex(link.get());
}

nl::VxlanConfig vxlanOf(const Host& host) {
  nl::VxlanConfig config;
  config.name = "vx0";
  config.vni = 1;
  config.port = kVxlanPort;
  config.local = host.underlay;
  config.mtu = 1400;
  config.mac = host.mac;
  return config;
}

// What a host needs to reach `peer` through the overlay: its device and addresses, the peer's
// MAC for the peer's device address, the peer's underlay address for that MAC, and routes to
// the peer's subnets through the peer's device address.
Status joinOverlay(nl::Socket& sock, const Host& self, const Host& peer) {
  OAK_TRY(nl::ensureVxlan(sock, vxlanOf(self)));
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, "vx0"));
  const int ifindex = rtnl_link_get_ifindex(link.get());
  OAK_TRY(nl::addAddress(sock, link.get(), self.vtep4, 32));
  OAK_TRY(nl::addAddress(sock, link.get(), self.vtep6, 128));
  OAK_TRY(nl::replaceNeighbor(sock, ifindex, peer.vtep4, peer.mac));
  OAK_TRY(nl::replaceNeighbor(sock, ifindex, peer.vtep6, peer.mac));
  OAK_TRY(nl::replaceFdb(sock, ifindex, peer.mac, peer.underlay, kVxlanPort));
  auto routeVia = [&](nl::AddrPtr subnet, nl::AddrPtr gateway) {
    nl::Route route;
    route.destination = std::move(subnet);
    route.gateway = std::move(gateway);
    route.onlink = true;
    return nl::replaceRoute(sock, link.get(), route);
  };
  OAK_TRY(routeVia(nl::toNlAddr(peer.vtep4, 26), nl::toNlAddr(peer.vtep4)));
  return routeVia(nl::toNlAddr(peer.vtep6, 120), nl::toNlAddr(peer.vtep6));
}

// A UDP socket on [::]:port that also takes IPv4 datagrams.
Result<UniqueFd> listenUdp(uint16_t port) {
  UniqueFd fd(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const int off = 0;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  if (!fd.valid() || ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return makeError(ErrorCode::kInternal, std::string("listen udp: ") + std::strerror(errno));
  }
  return fd;
}

// The payload of the next datagram on `fd`, within the probe timeout.
Result<std::string> receive(int fd) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(kProbeTimeout.count())) != 1) {
    return makeError(ErrorCode::kUnavailable, "no datagram arrived");
  }
  char data[512];
  const ssize_t n = ::recv(fd, data, sizeof(data), 0);
  if (n < 0) return makeError(ErrorCode::kInternal, std::string("recv: ") + std::strerror(errno));
  return std::string(data, static_cast<size_t>(n));
}

// Connects a UDP socket to `address` and sends a byte: 0, or the errno of the call that failed.
int connectAndSendUdp(const std::string& address) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address.c_str(), "7000", &hints, &found) != 0) return EINVAL;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  UniqueFd fd(::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0) return errno;
  if (::send(fd.get(), "x", 1, 0) != 1) return errno;
  return 0;
}

class VxlanTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    a_ = {"", v4("172.31.0.1"), kMacA, v4("10.18.0.0"), v6("fc00::")};
    b_ = {makeNetns("b"), v4("172.31.0.2"), kMacB, v4("10.18.0.64"), v6("fc00::100")};
  }

  void useIpv6Underlay() {
    a_.underlay = v6("fd00:1::1");
    b_.underlay = v6("fd00:1::2");
  }

  // A veth between A and B with the underlay addresses; B's subnets get an address each on lo,
  // the destinations of the traffic.
  void wireUnderlay() {
    ASSERT_EQ(sh("ip link add ua type veth peer name ub netns " + b_.netns), "");
    for (const auto& [host, ifname] : {std::pair{&a_, "ua"}, std::pair{&b_, "ub"}}) {
      const std::string address =
          std::visit([](const auto& a) { return a.toString(); }, host->underlay);
      const bool is6 = std::holds_alternative<net::Ipv6Address>(host->underlay);
      ASSERT_EQ(shOn(*host, std::string("ip addr add ") + address + (is6 ? "/64" : "/24") +
                                " dev " + ifname + (is6 ? " nodad" : "")),
                "");
      ASSERT_EQ(shOn(*host, std::string("ip link set ") + ifname + " up"), "");
      if (is6) {
        ASSERT_NO_FATAL_FAILURE(awaitLocalRoute6(*host, address));
      }
    }
    // Until the kernel has activated both ends (asynchronously), they drop what they send.
    for (const auto& [host, ifname] : {std::pair{&a_, "ua"}, std::pair{&b_, "ub"}}) {
      ASSERT_TRUE(oak::testing::waitUntil(ifname, std::chrono::seconds(5), [&] {
        return shOn(*host, std::string("ip link show ") + ifname).find("qdisc noqueue state UP") !=
               std::string::npos;
      }));
    }
    ASSERT_EQ(shOn(b_, "ip link set lo up"), "");
    ASSERT_EQ(shOn(b_, "ip addr add 10.18.0.65/32 dev lo"), "");
    ASSERT_EQ(shOn(b_, "ip addr add fc00::101/128 dev lo"), "");
    ASSERT_NO_FATAL_FAILURE(awaitLocalRoute6(b_, "fc00::101"));
  }

  void joinBoth() {
    Status a = onHost(a_, [&](nl::Socket& sock) { return joinOverlay(sock, a_, b_); });
    ASSERT_TRUE(a) << a.error().message;
    Status b = onHost(b_, [&](nl::Socket& sock) { return joinOverlay(sock, b_, a_); });
    ASSERT_TRUE(b) << b.error().message;
  }

  // Sends from A to `address` (in B's subnets) and expects B to receive it.
  void expectDelivered(const std::string& address, const std::string& payload) {
    ASSERT_TRUE(sendUdp(address, kProbePort, payload));
    Result<std::string> got = receive(listener_.get());
    ASSERT_TRUE(got) << address << ": " << got.error().message;
    EXPECT_EQ(*got, payload) << address;
  }

  void listenInB() {
    Result<UniqueFd> fd = runInNetns(b_.netns, [] { return listenUdp(kProbePort); });
    ASSERT_TRUE(fd) << fd.error().message;
    listener_ = std::move(*fd);
  }

  // The overlay carries both inner families; without the FDB entry for B's MAC, A's device
  // drops what it would send to B.
  void expectOverlayWorks() {
    ASSERT_NO_FATAL_FAILURE(wireUnderlay());
    ASSERT_NO_FATAL_FAILURE(joinBoth());
    ASSERT_NO_FATAL_FAILURE(listenInB());
    expectDelivered("10.18.0.65", "inner v4");
    expectDelivered("fc00::101", "inner v6");

    Result<int> vx0 = onHost(a_, [](nl::Socket& sock) { return ifindexOf(sock, "vx0"); });
    ASSERT_TRUE(vx0) << vx0.error().message;
    ASSERT_TRUE(onHost(
        a_, [&](nl::Socket& sock) { return nl::deleteFdb(sock, *vx0, kMacB, b_.underlay); }));
    EXPECT_EQ(sh("bridge fdb show dev vx0 | grep 02:00:00:00:00:0b"), "exit 1");
    // The kernel's own multicast (router solicitations...) is dropped too: at least two more.
    const std::string dropped = sh("cat /sys/class/net/vx0/statistics/tx_dropped");
    ASSERT_TRUE(sendUdp("10.18.0.65", kProbePort, "lost"));
    ASSERT_TRUE(sendUdp("fc00::101", kProbePort, "lost"));
    EXPECT_GE(std::stoi(sh("cat /sys/class/net/vx0/statistics/tx_dropped")),
              std::stoi(dropped) + 2);
    // Back with the entry, the next datagram B gets is the new one: the others never left.
    ASSERT_TRUE(onHost(a_, [&](nl::Socket& sock) {
      return nl::replaceFdb(sock, *vx0, kMacB, b_.underlay, kVxlanPort);
    }));
    expectDelivered("10.18.0.65", "after");
  }

  Host a_;
  Host b_;
  UniqueFd listener_;
};

TEST_F(VxlanTest, CarriesBothFamiliesOverAnIpv4Underlay) {
  expectOverlayWorks();
  EXPECT_THAT(sh("ip -d link show vx0"),
              HasSubstr("vxlan id 1 local 172.31.0.1 srcport 0 0 dstport 50103 nolearning"));
  EXPECT_THAT(sh("ip route show dev vx0"),
              HasSubstr("10.18.0.64/26 via 10.18.0.64 proto static onlink"));
  EXPECT_THAT(sh("ip -6 route show dev vx0"),
              HasSubstr("fc00::100/120 via fc00::100 proto static metric 1024 onlink"));
  EXPECT_THAT(sh("ip neigh show dev vx0"),
              HasSubstr("10.18.0.64 lladdr 02:00:00:00:00:0b PERMANENT"));
  EXPECT_THAT(sh("ip neigh show dev vx0"),
              HasSubstr("fc00::100 lladdr 02:00:00:00:00:0b PERMANENT"));
  EXPECT_THAT(sh("bridge fdb show dev vx0"),
              HasSubstr("02:00:00:00:00:0b dst 172.31.0.2 self permanent"));
}

TEST_F(VxlanTest, CarriesBothFamiliesOverAnIpv6Underlay) {
  useIpv6Underlay();
  expectOverlayWorks();
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr("vxlan id 1 local fd00:1::1"));
  EXPECT_THAT(sh("bridge fdb show dev vx0"),
              HasSubstr("02:00:00:00:00:0b dst fd00:1::2 self permanent"));
}

TEST_F(VxlanTest, EnsureCreatesTheDeviceUpWithItsMacAndMtu) {
  nl::VxlanConfig config = vxlanOf(a_);
  ASSERT_TRUE(onHost(a_, [&](nl::Socket& sock) { return nl::ensureVxlan(sock, config); }));
  const std::string link = sh("ip -d link show vx0");
  EXPECT_THAT(link, HasSubstr("mtu 1400"));
  EXPECT_THAT(link, HasSubstr(",UP,"));
  EXPECT_THAT(link, HasSubstr("link/ether 02:00:00:00:00:0a"));
  // iproute2 would show a remote or group between the id and the local address.
  EXPECT_THAT(link, HasSubstr("vxlan id 1 local 172.31.0.1 srcport 0 0 dstport 50103 nolearning"));
  EXPECT_EQ(sh("bridge fdb show dev vx0"), "") << "no default destination entry";
}

TEST_F(VxlanTest, EnsureAgainKeepsTheDeviceAndRestoresItsSettings) {
  nl::VxlanConfig config = vxlanOf(a_);
  auto ensure = [&] {
    return onHost(a_, [&](nl::Socket& sock) { return nl::ensureVxlan(sock, config); });
  };
  ASSERT_TRUE(ensure());
  const std::string index = sh("cat /sys/class/net/vx0/ifindex");
  ASSERT_TRUE(ensure());
  EXPECT_EQ(sh("cat /sys/class/net/vx0/ifindex"), index);

  ASSERT_EQ(sh("ip link set vx0 down mtu 1300 address 02:00:00:00:00:99"), "");
  ASSERT_TRUE(ensure());
  EXPECT_EQ(sh("cat /sys/class/net/vx0/ifindex"), index);
  const std::string link = sh("ip link show vx0");
  EXPECT_THAT(link, HasSubstr("mtu 1400"));
  EXPECT_THAT(link, HasSubstr(",UP,"));
  EXPECT_THAT(link, HasSubstr("link/ether 02:00:00:00:00:0a"));
}

TEST_F(VxlanTest, EnsureRecreatesADeviceThatDiffers) {
  nl::VxlanConfig config = vxlanOf(a_);
  std::string index;
  // Ensures `config`; true iff that made a new device.
  auto recreated = [&] {
    Status ensured = onHost(a_, [&](nl::Socket& sock) { return nl::ensureVxlan(sock, config); });
    EXPECT_TRUE(ensured) << ensured.error().message;
    return index != std::exchange(index, sh("cat /sys/class/net/vx0/ifindex"));
  };
  ASSERT_TRUE(recreated());

  config.vni = 2;
  EXPECT_TRUE(recreated());
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr("vxlan id 2 local 172.31.0.1 "));

  config.port = 4789;
  EXPECT_TRUE(recreated());
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr("dstport 4789 "));

  config.local = v6("fd00:1::1");
  EXPECT_TRUE(recreated());
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr("vxlan id 2 local fd00:1::1 "));

  ASSERT_EQ(sh("ip link set vx0 type vxlan learning"), "");
  ASSERT_THAT(sh("ip -d link show vx0"), Not(HasSubstr("nolearning")));
  EXPECT_TRUE(recreated()) << "learning is never on";
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr(" nolearning "));
  EXPECT_FALSE(recreated());
}

TEST_F(VxlanTest, EnsureReplacesAnotherKindOfInterface) {
  ASSERT_EQ(sh("ip link add vx0 type veth peer name vx0peer"), "");
  Status ensured = onHost(a_, [&](nl::Socket& sock) { return nl::ensureVxlan(sock, vxlanOf(a_)); });
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_THAT(sh("ip -d link show vx0"), HasSubstr("vxlan id 1 "));
  EXPECT_THAT(sh("ip link show vx0peer 2>/dev/null"), HasSubstr("exit")) << "went with its peer";
}

TEST_F(VxlanTest, EnsureRejectsInvalidSettings) {
  nl::VxlanConfig config = vxlanOf(a_);
  config.vni = 1u << 24;
  Status ensured = onHost(a_, [&](nl::Socket& sock) { return nl::ensureVxlan(sock, config); });
  ASSERT_FALSE(ensured);
  EXPECT_EQ(ensured.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ensured.error().message, "vxlan vni: must be below 2^24");
  EXPECT_THAT(sh("ip link show vx0 2>/dev/null"), HasSubstr("exit"));
}

TEST_F(VxlanTest, FdbEntriesCarryTheirPortAndAreReplaced) {
  Status done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::ensureVxlan(sock, vxlanOf(a_)));
    OAK_ASSIGN_OR_RETURN(int vx0, ifindexOf(sock, "vx0"));
    return nl::replaceFdb(sock, vx0, kMacB, v4("172.31.0.2"), 4789);
  });
  ASSERT_TRUE(done) << done.error().message;
  // The kernel shows the port only where it differs from the device's.
  EXPECT_EQ(sh("bridge fdb show dev vx0"),
            "02:00:00:00:00:0b dst 172.31.0.2 port 4789 self permanent\n");

  done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_ASSIGN_OR_RETURN(int vx0, ifindexOf(sock, "vx0"));
    return nl::replaceFdb(sock, vx0, kMacB, v4("172.31.0.3"), kVxlanPort);
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(sh("bridge fdb show dev vx0"), "02:00:00:00:00:0b dst 172.31.0.3 self permanent\n");
}

TEST_F(VxlanTest, AnFdbEntryOfTheWrongFamilyIsRefused) {
  Status done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::ensureVxlan(sock, vxlanOf(a_)));
    OAK_ASSIGN_OR_RETURN(int vx0, ifindexOf(sock, "vx0"));
    return nl::replaceFdb(sock, vx0, kMacB, v6("fd00:1::2"), kVxlanPort);
  });
  ASSERT_FALSE(done);
  // An IPv4 device takes IPv4 destinations only.
  EXPECT_EQ(done.error().message,
            "add fdb entry 02:00:00:00:00:0b dst fd00:1::2 port 50103: Address family not "
            "supported by protocol");
}

TEST_F(VxlanTest, DeletingWhatIsAbsentIsFine) {
  Status done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::ensureVxlan(sock, vxlanOf(a_)));
    OAK_ASSIGN_OR_RETURN(nl::LinkPtr vx0, nl::findLink(sock, "vx0"));
    const int ifindex = rtnl_link_get_ifindex(vx0.get());
    OAK_TRY(nl::deleteFdb(sock, ifindex, kMacB, v4("172.31.0.2")));
    OAK_TRY(nl::deleteFdb(sock, ifindex, kMacB, v6("fd00:1::2")));
    OAK_TRY(nl::deleteNeighbor(sock, ifindex, v4("10.18.0.64")));
    OAK_TRY(nl::deleteNeighbor(sock, ifindex, v6("fc00::100")));
    OAK_TRY(nl::deleteRoute(sock, vx0.get(), nl::toNlAddr(v4("10.18.0.64"), 26).get()));
    OAK_TRY(nl::deleteRoute(sock, nullptr, nl::toNlAddr(v4("10.30.0.0"), 16).get()));
    OAK_TRY(nl::deleteRoute(sock, vx0.get(), nl::toNlAddr(v6("fc00::100"), 120).get()));
    return nl::deleteRoute(sock, nullptr, nl::toNlAddr(v6("fdff::"), 16).get());
  });
  EXPECT_TRUE(done) << done.error().message;
}

TEST_F(VxlanTest, NeighboursAndRoutesComeAndGo) {
  Status done = onHost(a_, [&](nl::Socket& sock) { return joinOverlay(sock, a_, b_); });
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_THAT(sh("ip neigh show dev vx0"), HasSubstr("10.18.0.64 lladdr"));
  ASSERT_THAT(sh("ip route show dev vx0"), HasSubstr("10.18.0.64/26"));
  ASSERT_THAT(sh("ip -6 route show dev vx0"), HasSubstr("fc00::100/120"));
  done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_ASSIGN_OR_RETURN(nl::LinkPtr vx0, nl::findLink(sock, "vx0"));
    const int ifindex = rtnl_link_get_ifindex(vx0.get());
    OAK_TRY(nl::deleteNeighbor(sock, ifindex, b_.vtep4));
    OAK_TRY(nl::deleteNeighbor(sock, ifindex, b_.vtep6));
    OAK_TRY(nl::deleteRoute(sock, vx0.get(), nl::toNlAddr(b_.vtep4, 26).get()));
    return nl::deleteRoute(sock, vx0.get(), nl::toNlAddr(b_.vtep6, 120).get());
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_THAT(sh("ip neigh show dev vx0"), Not(HasSubstr("10.18.0.64")));
  EXPECT_THAT(sh("ip -6 neigh show dev vx0"), Not(HasSubstr("fc00::100")));
  EXPECT_THAT(sh("ip route show dev vx0"), Not(HasSubstr("10.18.0.64/26")));
  EXPECT_THAT(sh("ip -6 route show dev vx0"), Not(HasSubstr("fc00::100/120")));
}

TEST_F(VxlanTest, AnOnlinkGatewayOutsideEveryPrefixNeedsTheFlag) {
  Status done = onHost(a_, [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::ensureVxlan(sock, vxlanOf(a_)));
    OAK_ASSIGN_OR_RETURN(nl::LinkPtr vx0, nl::findLink(sock, "vx0"));
    nl::Route route;
    route.destination = nl::toNlAddr(b_.vtep4, 26);
    route.gateway = nl::toNlAddr(b_.vtep4);
    return nl::replaceRoute(sock, vx0.get(), route);
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message,
            "add route 10.18.0.64/26 via 10.18.0.64 dev vx0: Network is unreachable (Nexthop has "
            "invalid gateway)");
}

// Traffic leaves by a default route, so that only the unreachable route stops it.
class UnreachableRouteTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    ASSERT_EQ(sh("ip link add u0 type veth peer name u1 && ip link set u1 up && "
                 "ip link set u0 up && ip addr add 192.0.2.1/24 dev u0 && "
                 "ip addr add 2001:db8::1/64 dev u0 nodad && ip route add default via 192.0.2.2 && "
                 "ip -6 route add default via 2001:db8::2"),
              "");
  }
};

TEST_F(UnreachableRouteTest, RejectsTrafficToItsPrefixUntilDeleted) {
  const nl::AddrPtr prefix4 = nl::toNlAddr(v4("10.30.0.0"), 16);
  const nl::AddrPtr prefix6 = nl::toNlAddr(v6("fdff::"), 16);
  ASSERT_EQ(connectAndSendUdp("10.30.0.1"), 0);
  ASSERT_EQ(connectAndSendUdp("fdff::1"), 0);

  Status done = withSocket("", [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::replaceUnreachableRoute(sock, prefix4.get()));
    OAK_TRY(nl::replaceUnreachableRoute(sock, prefix6.get()));
    return nl::replaceUnreachableRoute(sock, prefix4.get());  // again: replaced
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(sh("ip route show 10.30.0.0/16"), "unreachable 10.30.0.0/16 proto static \n");
  EXPECT_THAT(sh("ip -6 route show fdff::/16"),
              HasSubstr("unreachable fdff::/16 dev lo proto static"));
  // The kernel answers "No route to host" for both families, at connect().
  EXPECT_EQ(connectAndSendUdp("10.30.0.1"), EHOSTUNREACH);
  EXPECT_EQ(connectAndSendUdp("10.30.255.254"), EHOSTUNREACH);
  EXPECT_EQ(connectAndSendUdp("fdff::1"), EHOSTUNREACH);
  EXPECT_EQ(connectAndSendUdp("10.31.0.1"), 0) << "outside the prefix";

  done = withSocket("", [&](nl::Socket& sock) -> Status {
    OAK_TRY(nl::deleteRoute(sock, nullptr, prefix4.get()));
    return nl::deleteRoute(sock, nullptr, prefix6.get());
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(sh("ip route show 10.30.0.0/16"), "");
  EXPECT_EQ(sh("ip -6 route show fdff::/16"), "");
  EXPECT_EQ(connectAndSendUdp("10.30.0.1"), 0);
  EXPECT_EQ(connectAndSendUdp("fdff::1"), 0);
}

}  // namespace
}  // namespace oak::worker::testing
