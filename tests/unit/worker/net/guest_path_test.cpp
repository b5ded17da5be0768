// NetlinkHostNetwork::attachGuest against the kernel: the namespace of a guest is a wire between
// the host bridge and a TAP. The test plays the emulator: it opens tap0 as QEMU does and speaks
// Ethernet through it with an instance on the same bridge.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "kernel_fixture.h"
#include "net_probe.h"
#include "wait.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/netns.h"

namespace oak::worker::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Frame = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

constexpr Mac kGuestMac = {0x02, 0x6f, 10, 18, 0, 2};
constexpr uint16_t kArp = 0x0806;
constexpr uint16_t kIpv4 = 0x0800;

Error failure(const std::string& what) {
  return makeError(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

// Attaches to tap0 of the calling thread's namespace the way QEMU does (`flags` beyond
// IFF_TAP | IFF_NO_PI, e.g. IFF_VNET_HDR).
Result<UniqueFd> openTap(int flags = 0) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return failure("open /dev/net/tun");
  ifreq request{};
  std::strcpy(request.ifr_name, "tap0");
  request.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | flags);
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) return failure("TUNSETIFF tap0");
  return fd;
}

Result<UniqueFd> listenUdp(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return failure("bind");
  }
  return fd;
}

// The payload and source address of one datagram, within the probe timeout.
Result<std::pair<std::string, std::string>> receiveUdp(int fd) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(kProbeTimeout.count())) != 1) {
    return makeError(ErrorCode::kUnavailable, "no datagram arrived");
  }
  char data[512];
  sockaddr_in from{};
  socklen_t length = sizeof(from);
  const ssize_t n =
      ::recvfrom(fd, data, sizeof(data), 0, reinterpret_cast<sockaddr*>(&from), &length);
  if (n < 0) return failure("recvfrom");
  char source[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &from.sin_addr, source, sizeof(source));
  return std::make_pair(std::string(data, static_cast<size_t>(n)), std::string(source));
}

uint16_t etherType(const Frame& frame) {
  return frame.size() < 14 ? 0 : static_cast<uint16_t>(frame[12] << 8 | frame[13]);
}

Mac sourceMac(const Frame& frame) {
  Mac mac{};
  std::copy(frame.begin() + 6, frame.begin() + 12, mac.begin());
  return mac;
}

std::array<uint8_t, 4> v4Bytes(const char* text) {
  std::array<uint8_t, 4> bytes{};
  ::inet_pton(AF_INET, text, bytes.data());
  return bytes;
}

// An ARP request (operation 1) asking for `target`.
bool isArpRequestFor(const Frame& frame, const char* target) {
  const auto wanted = v4Bytes(target);
  return etherType(frame) == kArp && frame.size() >= 42 && frame[21] == 1 &&
         std::equal(wanted.begin(), wanted.end(), frame.begin() + 38);
}

void put16(Frame& frame, uint16_t value) {
  frame.push_back(static_cast<uint8_t>(value >> 8));
  frame.push_back(static_cast<uint8_t>(value));
}

template <class Bytes>
void put(Frame& frame, const Bytes& bytes) {
  frame.insert(frame.end(), bytes.begin(), bytes.end());
}

void putEthernet(Frame& frame, const Mac& destination, uint16_t type) {
  put(frame, destination);
  put(frame, kGuestMac);
  put16(frame, type);
}

// The guest's answer to an ARP request: 10.18.0.2 is at kGuestMac.
Frame arpReply(const Frame& request) {
  const Mac asker = sourceMac(request);
  Frame frame;
  putEthernet(frame, asker, kArp);
  put16(frame, 1);      // Ethernet
  put16(frame, kIpv4);  // IPv4
  frame.push_back(6);
  frame.push_back(4);
  put16(frame, 2);  // reply
  put(frame, kGuestMac);
  put(frame, v4Bytes("10.18.0.2"));
  frame.insert(frame.end(), request.begin() + 22, request.begin() + 32);  // asker's MAC and IP
  return frame;
}

// A UDP datagram from the guest (10.18.0.2) to `destination`, whose MAC is `mac`.
Frame udpFromGuest(const Mac& mac, const char* destination, uint16_t port,
                   const std::string& data) {
  Frame frame;
  putEthernet(frame, mac, kIpv4);
  const size_t ip = frame.size();
  put16(frame, 0x4500);
  put16(frame, static_cast<uint16_t>(20 + 8 + data.size()));
  put16(frame, 0);
  put16(frame, 0x4000);  // don't fragment
  put16(frame, 0x4011);  // TTL 64, UDP
  put16(frame, 0);       // checksum, below
  put(frame, v4Bytes("10.18.0.2"));
  put(frame, v4Bytes(destination));
  uint32_t sum = 0;
  for (size_t i = ip; i < ip + 20; i += 2)
    sum += static_cast<uint32_t>(frame[i] << 8 | frame[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  frame[ip + 10] = static_cast<uint8_t>(~sum >> 8);
  frame[ip + 11] = static_cast<uint8_t>(~sum);
  put16(frame, 40000);
  put16(frame, port);
  put16(frame, static_cast<uint16_t>(8 + data.size()));
  put16(frame, 0);  // no UDP checksum (allowed over IPv4)
  put(frame, data);
  return frame;
}

class GuestPathTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    Status ensured = host_.ensureBridge(bridge_);
    ASSERT_TRUE(ensured) << ensured.error().message;
  }

  void attachGuest(const InstanceLink& link) {
    Status attached = host_.attachGuest(bridge_, link);
    ASSERT_TRUE(attached) << attached.error().message;
  }

  static std::string inside(const InstanceLink& link, const std::string& command) {
    return sh("nsenter --net=" + link.netns_path + " " + command + " 2>&1");
  }

  NetlinkHostNetwork host_;
  BridgeConfig bridge_ = workerBridge();
};

TEST_F(GuestPathTest, TheNamespaceBridgesEth0AndAPersistentTapWithoutAddresses) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  attachGuest(guest);
  for (const char* name : {"eth0", "br0", "tap0"}) {
    EXPECT_THAT(inside(guest, std::string("ip link show ") + name), HasSubstr("mtu 1450")) << name;
    EXPECT_THAT(inside(guest, std::string("ip link show ") + name), ContainsRegex("[<,]UP[,>]"))
        << name;
    EXPECT_EQ(inside(guest, std::string("ip addr show dev ") + name + " | grep inet"), "exit 1")
        << name << " has an address";
  }
  EXPECT_THAT(inside(guest, "ip link show eth0"), HasSubstr("master br0"));
  EXPECT_THAT(inside(guest, "ip link show tap0"), HasSubstr("master br0"));
  EXPECT_THAT(inside(guest, "ip -d link show tap0"), HasSubstr("tun type tap pi off"));
  EXPECT_THAT(inside(guest, "ip -d link show tap0"), HasSubstr("persist on"));
  EXPECT_THAT(inside(guest, "ip link show tap0"), HasSubstr("NO-CARRIER")) << "nobody has it open";
  EXPECT_EQ(inside(guest, "ip route show"), "");
  EXPECT_THAT(sh("ip link show " + guest.host_ifname), HasSubstr("master oak0"));
}

TEST_F(GuestPathTest, FramesPassBetweenTheTapAndAnotherInstance) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  const InstanceLink other = makeInstance("other", "10.18.0.3", "fc00::3");
  attachGuest(guest);
  Status attached = host_.attachInstance(bridge_, other);
  ASSERT_TRUE(attached) << attached.error().message;
  Result<UniqueFd> tap = runInNetns(guest.netns_path, [] { return openTap(); });
  ASSERT_TRUE(tap) << tap.error().message;
  EXPECT_THAT(inside(guest, "ip link show tap0"), Not(HasSubstr("NO-CARRIER")));

  // The other instance asks for 10.18.0.2; the guest answers and gets the datagram.
  ASSERT_TRUE(runInNetns(other.netns_path, [] { return sendUdp("10.18.0.2", 7000, "to guest"); }));
  auto request =
      readPacket(tap->get(), [](const Frame& f) { return isArpRequestFor(f, "10.18.0.2"); });
  ASSERT_TRUE(request) << "ARP request at the TAP: " << request.error().message;
  const Mac other_mac = sourceMac(*request);
  const Frame reply = arpReply(*request);
  ASSERT_EQ(::write(tap->get(), reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
  Ipv4Packet header;
  auto datagram = readPacket(tap->get(), [&](const Frame& f) {
    if (etherType(f) != kIpv4) return false;
    return parseIpv4(Frame(f.begin() + 14, f.end()), header) && header.destination == "10.18.0.2";
  });
  ASSERT_TRUE(datagram) << "datagram at the TAP: " << datagram.error().message;
  EXPECT_EQ(header.source, "10.18.0.3");
  EXPECT_EQ(header.destination_port, 7000);
  EXPECT_EQ(std::string(datagram->end() - 8, datagram->end()), "to guest");

  // And back: a datagram the guest writes reaches a socket of the other instance.
  Result<UniqueFd> listener = runInNetns(other.netns_path, [] { return listenUdp(7001); });
  ASSERT_TRUE(listener) << listener.error().message;
  const Frame sent = udpFromGuest(other_mac, "10.18.0.3", 7001, "from guest");
  ASSERT_EQ(::write(tap->get(), sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  auto received = receiveUdp(listener->get());
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(received->first, "from guest");
  EXPECT_EQ(received->second, "10.18.0.2");
}

TEST_F(GuestPathTest, QemuMayAttachWithVirtioNetHeaders) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  attachGuest(guest);
  Result<UniqueFd> tap = runInNetns(guest.netns_path, [] { return openTap(IFF_VNET_HDR); });
  ASSERT_TRUE(tap) << tap.error().message;
  EXPECT_THAT(inside(guest, "ip -d link show tap0"), HasSubstr("vnet_hdr on"));
}

TEST_F(GuestPathTest, AttachingAgainKeepsTheDevices) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  attachGuest(guest);
  const std::string before = inside(guest, "ip -o link show | cut -d: -f1,2");
  attachGuest(guest);
  EXPECT_EQ(inside(guest, "ip -o link show | cut -d: -f1,2"), before);
}

TEST_F(GuestPathTest, AFailureInsideRemovesWhatTheAttachMade) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  ASSERT_EQ(inside(guest, "ip tuntap add tap0 mode tun"), "");  // a TUN: IP packets, no frames
  Status attached = host_.attachGuest(bridge_, guest);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, ErrorCode::kConflict);
  EXPECT_EQ(attached.error().message, "interface tap0 is not a TAP");
  EXPECT_THAT(sh("ip link show " + guest.host_ifname + " 2>/dev/null"), HasSubstr("exit"));
  EXPECT_THAT(inside(guest, "ip link show br0"), HasSubstr("exit"));
  EXPECT_THAT(inside(guest, "ip link show eth0"), HasSubstr("exit"));
  EXPECT_THAT(inside(guest, "ip -d link show tap0"), HasSubstr("tun type tun")) << "not ours: kept";
}

TEST_F(GuestPathTest, DetachDeletesTheTapEvenWhileItIsOpen) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  attachGuest(guest);
  Result<UniqueFd> tap = runInNetns(guest.netns_path, [] { return openTap(); });
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(host_.detachInstance(guest));
  EXPECT_THAT(sh("ip link show " + guest.host_ifname + " 2>/dev/null"), HasSubstr("exit"));
  EXPECT_EQ(inside(guest, "ip -o link show | cut -d: -f2"), " lo\n");
  EXPECT_TRUE(host_.detachInstance(guest)) << "idempotent";
}

TEST_F(GuestPathTest, TheWholePathGoesWithItsNamespace) {
  const InstanceLink guest = makeInstance("guest", "10.18.0.2", "fc00::2");
  attachGuest(guest);
  // The persistent TAP does not keep the namespace alive: once it is unmounted, the kernel
  // dismantles it, and the veth's host end goes with its peer.
  ASSERT_TRUE(removeNetns(guest.netns_path));
  EXPECT_TRUE(oak::testing::waitUntil("the host end is gone", std::chrono::seconds(10), [&] {
    return sh("ip link show " + guest.host_ifname + " 2>/dev/null").find("exit") !=
           std::string::npos;
  }));
  EXPECT_THAT(*host_.instanceLinks("oak0"), IsEmpty());
}

}  // namespace
}  // namespace oak::worker::testing
