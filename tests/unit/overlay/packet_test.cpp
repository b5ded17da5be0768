#include "overlay/packet.h"

#include <gtest/gtest.h>

#include <random>

#include "overlay/checksum.h"
#include "testing_packets.h"

namespace oak::overlay {

void PrintTo(PacketError e, std::ostream* os) {
  *os << toString(e);
}

namespace {

using testing::Bytes;
using testing::checksumsValid;
using testing::onlyAddressesChanged;
using testing::v4;
using testing::v6;

// Captures from a running overlay: IPv6 TCP SYN fc00::203:47492 → fdff:1000::1:80 (hop limit
// 63), IPv4 TCP ACK 10.30.0.19:43260 → 10.18.0.136:80, IPv4 TCP SYN 10.30.0.1:46498 →
// 10.18.0.6:80.
constexpr std::string_view kV6Syn =
    "600219310028063ffc000000000000000000000000000203fdff1000000000000000000000000001b984005"
    "02a8697ed00000000a002ff322a8900000204056e0402080a7fb1168c0000000001030307";
constexpr std::string_view kV4Ack =
    "4500003471ab40003f06b54e0a1e00130a120088a8fc0050866d4e41ec673059801001f6a3fd000001010"
    "80aac259946269fb537";
constexpr std::string_view kV4Syn =
    "4500003cf20440003f0635810a1e00010a120006b5a2005071f2e51a00000000a002fd5c8ee5000002040"
    "5820402080a3b625f570000000001030307";

Packet parseOk(Bytes& bytes) {
  Packet p;
  EXPECT_EQ(parsePacket(bytes, p), PacketError::kOk);
  return p;
}

// Rewrites both addresses of a copy of `original` (parsed as `p` in `b`) and checks that only
// they and the checksums changed, and that the checksums are right.
void rewriteAndCheck(const Bytes& original, Bytes& b, Packet& p, const IpAddress& src,
                     const IpAddress& dst) {
  setSource(p, src);
  setDestination(p, dst);
  EXPECT_TRUE(checksumsValid(b));
  EXPECT_TRUE(onlyAddressesChanged(original, b));
  EXPECT_EQ(p.source(), src);  // the view follows
}

PacketError parseError(Bytes bytes) {
  Packet p;
  return parsePacket(bytes, p);
}

TEST(PacketTest, ParsesTheIpv6Fixture) {
  Bytes b = testing::fromHex(kV6Syn);
  ASSERT_TRUE(checksumsValid(b));
  const Packet p = parseOk(b);
  EXPECT_EQ(p.version, 6);
  EXPECT_EQ(p.protocol, kProtoTcp);
  EXPECT_EQ(p.bytes.size(), 80u);
  EXPECT_EQ(p.l4_offset, 40);
  EXPECT_EQ(p.src6, v6("fc00::203"));
  EXPECT_EQ(p.dst6, v6("fdff:1000::1"));
  EXPECT_EQ(p.src_port, 47492);
  EXPECT_EQ(p.dst_port, 80);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(b[7], 63);  // hop limit
  EXPECT_TRUE(p.has_transport);
  EXPECT_FALSE(p.fragment);
}

TEST(PacketTest, ParsesTheIpv4Fixtures) {
  Bytes ack = testing::fromHex(kV4Ack);
  ASSERT_TRUE(checksumsValid(ack));
  Packet p = parseOk(ack);
  EXPECT_EQ(p.version, 4);
  EXPECT_EQ(p.src4, v4("10.30.0.19"));
  EXPECT_EQ(p.dst4, v4("10.18.0.136"));
  EXPECT_EQ(p.src_port, 43260);
  EXPECT_EQ(p.dst_port, 80);
  EXPECT_EQ(p.tcp_flags, 0x10);  // ACK
  EXPECT_TRUE(p.dont_fragment);
  EXPECT_EQ(p.fragment_id, 0x71ab);

  Bytes syn = testing::fromHex(kV4Syn);
  ASSERT_TRUE(checksumsValid(syn));
  p = parseOk(syn);
  EXPECT_EQ(p.src4, v4("10.30.0.1"));
  EXPECT_EQ(p.dst4, v4("10.18.0.6"));
  EXPECT_EQ(p.src_port, 46498);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(p.bytes.size(), 60u);
}

// The translations of the reference proxy tests: outgoing, the destination becomes the chosen
// namespace address and the source the sender's instance address.
TEST(PacketTest, RewritesTheFixturesWithValidChecksums) {
  for (auto hex : {kV4Ack, kV4Syn}) {
    const Bytes original = testing::fromHex(hex);
    Bytes b = original;
    Packet p = parseOk(b);
    setDestination(p, v4("10.19.2.12"));
    setSource(p, v4("10.30.255.253"));
    EXPECT_TRUE(checksumsValid(b));
    EXPECT_TRUE(onlyAddressesChanged(original, b));
    Packet again = parseOk(b);
    EXPECT_EQ(again.src4, v4("10.30.255.253"));
    EXPECT_EQ(again.dst4, v4("10.19.2.12"));
    EXPECT_EQ(p.dst4, v4("10.19.2.12"));  // the view follows
    EXPECT_EQ(again.src_port, p.src_port);
  }
  const Bytes original = testing::fromHex(kV6Syn);
  Bytes b = original;
  Packet p = parseOk(b);
  setDestination(p, v6("fd00::12"));
  setSource(p, v6("fdff::fd"));
  EXPECT_TRUE(checksumsValid(b));
  EXPECT_TRUE(onlyAddressesChanged(original, b));
  EXPECT_EQ(parseOk(b).dst6, v6("fd00::12"));
  // Incoming: only the source goes back to the service address.
  setSource(p, v6("fdff:3000::ff"));
  EXPECT_TRUE(checksumsValid(b));
  EXPECT_EQ(parseOk(b).src6, v6("fdff:3000::ff"));
}

TEST(PacketTest, WrongFamilyRewriteIsIgnored) {
  const Bytes original = testing::fromHex(kV4Syn);
  Bytes b = original;
  Packet p = parseOk(b);
  setSource(p, v6("fdff::1"));
  setDestination(p, IpAddress(v6("fdff::1")));
  EXPECT_EQ(b, original);
}

TEST(PacketTest, UdpChecksums) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoUdp};
  spec.payload = 33;
  const Bytes original = testing::buildPacket(spec);
  Bytes b = original;
  Packet p = parseOk(b);
  EXPECT_EQ(p.src_port, 40000);
  rewriteAndCheck(original, b, p, v4("10.30.0.9"), v4("10.18.0.70"));

  // No checksum stays no checksum.
  spec.udp_zero_checksum = true;
  b = testing::buildPacket(spec);
  p = parseOk(b);
  setDestination(p, v4("10.18.0.70"));
  EXPECT_EQ(load16(&b[20 + 6]), 0);
  EXPECT_TRUE(checksumsValid(b));
}

TEST(PacketTest, PartialChecksumsStayPartialForTheNewAddresses) {
  struct Case {
    IpAddress src, dst, new_src, new_dst;
  };
  const Case cases[] = {{v4("10.18.0.2"), v4("10.30.0.1"), v4("10.30.0.9"), v4("10.18.0.70")},
                        {v6("fc00::2"), v6("fdff:2000::1"), v6("fdff::9"), v6("fc00::146")}};
  for (const Case& c : cases) {
    for (uint8_t protocol : {kProtoTcp, kProtoUdp}) {
      testing::PacketSpec spec{.src = c.src, .dst = c.dst, .protocol = protocol};
      spec.payload = 1001;
      Bytes b = testing::buildPacket(spec);
      testing::makeChecksumPartial(b);
      Packet p = parseOk(b);
      p.partial_checksum = true;
      setSource(p, c.new_src);
      setDestination(p, c.new_dst);
      // What the sender would have put there for the new addresses.
      spec.src = c.new_src;
      spec.dst = c.new_dst;
      Bytes expected = testing::buildPacket(spec);
      testing::makeChecksumPartial(expected);
      EXPECT_EQ(b, expected) << toString(c.src) << " " << int(protocol);
      testing::completePartialChecksum(b);
      EXPECT_TRUE(checksumsValid(b));
    }
  }
}

TEST(PacketTest, UdpChecksumThatComputesToZeroIsSentAsAllOnes) {
  // Choose a payload word so that the checksum after the rewrite computes to 0.
  testing::PacketSpec after{.src = v4("10.30.0.9"), .dst = v4("10.18.0.70"), .protocol = kProtoUdp};
  after.payload = 2;
  Bytes target = testing::buildPacket(after);
  const uint16_t sum = load16(&target[26]);
  const uint16_t word = load16(&target[28]);
  testing::PacketSpec before = after;
  before.src = v4("10.18.0.2");
  before.dst = v4("10.30.0.1");
  Bytes b = testing::buildPacket(before);
  // Adding ~0 … : a payload word w + sum makes the data sum all ones.
  store16(&b[28], static_cast<uint16_t>(word + sum + ((uint32_t{word} + sum) >> 16)));
  b[26] = b[27] = 0;
  store16(&b[26],
          checksumFinish(checksumAdd(checksumAdd(17 + 10, std::span<const uint8_t>(&b[12], 8)),
                                     std::span<const uint8_t>(&b[20], b.size() - 20))));
  ASSERT_TRUE(checksumsValid(b));
  Packet p = parseOk(b);
  setSource(p, v4("10.30.0.9"));
  setDestination(p, v4("10.18.0.70"));
  EXPECT_EQ(load16(&b[26]), 0xffff);
  EXPECT_TRUE(checksumsValid(b));
}

TEST(PacketTest, IcmpEcho) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoIcmp};
  spec.icmp_type = 8;
  spec.echo_id = 0x1234;
  spec.payload = 56;
  const Bytes original = testing::buildPacket(spec);
  Bytes b = original;
  Packet p = parseOk(b);
  EXPECT_TRUE(p.echo);
  EXPECT_FALSE(p.icmpError());
  EXPECT_EQ(p.echo_id, 0x1234);
  EXPECT_EQ(p.src_port, 0);
  const uint16_t icmp_sum = load16(&b[22]);
  rewriteAndCheck(original, b, p, v4("10.30.0.9"), v4("10.18.0.70"));
  EXPECT_EQ(load16(&b[22]), icmp_sum);  // ICMPv4 has no pseudo-header
  setEchoId(p, 0xbeef);
  EXPECT_EQ(parseOk(b).echo_id, 0xbeef);
  EXPECT_TRUE(checksumsValid(b));

  spec = {.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoIcmpv6};
  spec.icmp_type = 129;  // echo reply
  spec.echo_id = 7;
  const Bytes original6 = testing::buildPacket(spec);
  b = original6;
  p = parseOk(b);
  EXPECT_TRUE(p.echo);
  rewriteAndCheck(original6, b, p, v6("fdff::9"), v6("fc00::102"));
  setEchoId(p, 9);
  EXPECT_TRUE(checksumsValid(b));
}

TEST(PacketTest, IcmpErrorsAreRecognised) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoIcmp};
  spec.icmp_type = 3;
  Bytes b = testing::buildPacket(spec);
  Packet p = parseOk(b);
  EXPECT_TRUE(p.icmpError());
  EXPECT_FALSE(p.echo);
  spec = {.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoIcmpv6};
  spec.icmp_type = 2;
  b = testing::buildPacket(spec);
  EXPECT_TRUE(parseOk(b).icmpError());
  spec.icmp_type = 128;
  b = testing::buildPacket(spec);
  EXPECT_FALSE(parseOk(b).icmpError());
}

TEST(PacketTest, Ipv4OptionsAreKept) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1")};
  spec.ipv4_options = 40;  // the maximum: IHL 15
  spec.payload = 10;
  const Bytes original = testing::buildPacket(spec);
  Bytes b = original;
  Packet p = parseOk(b);
  EXPECT_EQ(p.l4_offset, 60);
  EXPECT_EQ(p.dst_port, 80);
  rewriteAndCheck(original, b, p, v4("10.30.0.9"), v4("10.18.0.70"));
}

TEST(PacketTest, Ipv6ExtensionHeaderChain) {
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff:2000::1"), .protocol = kProtoUdp};
  spec.ipv6_extensions = {0, 43, 60};
  spec.payload = 5;
  const Bytes original = testing::buildPacket(spec);
  Bytes b = original;
  Packet p = parseOk(b);
  EXPECT_EQ(p.protocol, kProtoUdp);
  EXPECT_EQ(p.l4_offset, 64);
  EXPECT_EQ(p.dst_port, 80);
  rewriteAndCheck(original, b, p, v6("fdff::9"), v6("fc00::102"));
}

TEST(PacketTest, AtomicFragmentIsAWholePacket) {
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff:2000::1"), .protocol = kProtoUdp};
  spec.payload = 8;
  const Bytes whole = testing::buildPacket(spec);
  auto fragments = testing::fragmentPacket(whole, 64, 99);  // one fragment, offset 0, M = 0
  ASSERT_EQ(fragments.size(), 1u);
  Packet p = parseOk(fragments[0]);
  EXPECT_FALSE(p.fragment);
  EXPECT_TRUE(p.has_transport);
  EXPECT_EQ(p.fragment_id, 99u);
  EXPECT_EQ(p.dst_port, 80);
}

// The transport checksum covers the reassembled datagram: rewriting the first fragment's
// checksum and every fragment's addresses keeps it right.
TEST(PacketTest, FragmentsRewriteToAValidDatagram) {
  for (const IpAddress& src : {IpAddress(v4("10.18.0.2")), IpAddress(v6("fc00::2"))}) {
    const bool is_v4 = std::holds_alternative<net::Ipv4Address>(src);
    testing::PacketSpec spec{.src = src,
                             .dst = is_v4 ? IpAddress(v4("10.30.0.1")) : IpAddress(v6("fdff::1")),
                             .protocol = kProtoUdp};
    spec.payload = 3000;
    spec.dont_fragment = false;
    auto fragments = testing::fragmentPacket(testing::buildPacket(spec), 1232, 0x4321);
    ASSERT_EQ(fragments.size(), 3u);
    for (size_t i = 0; i < fragments.size(); ++i) {
      Packet p = parseOk(fragments[i]);
      EXPECT_TRUE(p.fragment);
      EXPECT_EQ(p.fragment_id, 0x4321u);
      EXPECT_EQ(p.protocol, kProtoUdp);
      EXPECT_EQ(p.firstFragment(), i == 0);
      EXPECT_EQ(p.has_transport, i == 0);
      EXPECT_EQ(p.dst_port, i == 0 ? 80 : 0);
      EXPECT_EQ(p.more_fragments, i + 1 < fragments.size());
      EXPECT_EQ(p.fragment_offset, i * 1232);
      if (is_v4) {
        setSource(p, v4("10.30.0.9"));
        setDestination(p, v4("10.18.0.70"));
      } else {
        setSource(p, v6("fdff::9"));
        setDestination(p, v6("fc00::102"));
      }
      EXPECT_TRUE(checksumsValid(fragments[i]));
    }
    EXPECT_TRUE(checksumsValid(testing::reassemble(fragments)));
  }
}

TEST(PacketTest, LargestPackets) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoUdp};
  spec.payload = 65535 - 28;
  Bytes b = testing::buildPacket(spec);
  ASSERT_EQ(b.size(), 65535u);
  Packet p = parseOk(b);
  EXPECT_EQ(p.bytes.size(), 65535u);
  setDestination(p, v4("10.18.0.70"));
  EXPECT_TRUE(checksumsValid(b));

  spec = {.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoTcp};
  spec.payload = 65535 - 20;
  b = testing::buildPacket(spec);
  ASSERT_EQ(b.size(), 40u + 65535u);
  p = parseOk(b);
  EXPECT_EQ(p.bytes.size(), 65575u);
  setDestination(p, v6("fc00::102"));
  EXPECT_TRUE(checksumsValid(b));
}

TEST(PacketTest, TrailingBytesAfterThePacketAreNotPartOfIt) {
  Bytes b = testing::fromHex(kV4Syn);
  b.resize(b.size() + 100, 0xee);
  EXPECT_EQ(parseOk(b).bytes.size(), 60u);
}

TEST(PacketTest, RejectsMalformedIpv4) {
  const Bytes good = testing::fromHex(kV4Syn);
  EXPECT_EQ(parseError({}), PacketError::kEmpty);
  Bytes b = good;
  b[0] = 0x55;
  EXPECT_EQ(parseError(b), PacketError::kBadVersion);
  EXPECT_EQ(parseError(Bytes(good.begin(), good.begin() + 19)), PacketError::kTruncated);
  b = good;
  b[0] = 0x44;  // IHL 4
  EXPECT_EQ(parseError(b), PacketError::kBadHeaderLength);
  b = good;
  b[0] = 0x4f;  // IHL 15: 60 bytes, the whole packet, no room for TCP
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);
  b = good;
  store16(&b[2], 24);
  b[0] = 0x47;  // header 28 > total 24
  EXPECT_EQ(parseError(b), PacketError::kBadHeaderLength);
  b = good;
  store16(&b[2], 19);
  EXPECT_EQ(parseError(b), PacketError::kBadTotalLength);
  b = good;
  store16(&b[2], 61);  // one byte more than the buffer
  EXPECT_EQ(parseError(b), PacketError::kTruncated);
  b = good;
  store16(&b[2], 0xffff);
  EXPECT_EQ(parseError(b), PacketError::kTruncated);
  b = good;
  b[32] = 0x40;  // TCP data offset 4
  EXPECT_EQ(parseError(b), PacketError::kBadTransportHeader);
  b = good;
  b[32] = 0xf0;  // TCP data offset 15 > 40 bytes available
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);
  b = good;
  store16(&b[2], 30);  // TCP header cut after 10 bytes
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);
  b = good;
  store16(&b[6], 0x1fff);  // offset 65528 + 40 bytes of payload > 65535
  EXPECT_EQ(parseError(b), PacketError::kBadFragment);
}

TEST(PacketTest, RejectsMalformedTransport) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoUdp};
  Bytes b = testing::buildPacket(spec);
  store16(&b[24], 9);  // UDP length beyond the packet
  EXPECT_EQ(parseError(b), PacketError::kBadTransportHeader);
  store16(&b[24], 7);
  EXPECT_EQ(parseError(b), PacketError::kBadTransportHeader);

  spec.protocol = kProtoIcmp;
  b = testing::buildPacket(spec);
  b.resize(26);
  store16(&b[2], 26);  // echo without identifier
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);
  b.resize(22);
  store16(&b[2], 22);
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);

  // Unknown protocols parse without transport.
  spec.protocol = 47;
  b = testing::buildPacket(spec);
  Packet p;
  ASSERT_EQ(parsePacket(b, p), PacketError::kOk);
  EXPECT_FALSE(p.has_transport);
}

TEST(PacketTest, RejectsMalformedIpv6) {
  const Bytes good = testing::fromHex(kV6Syn);
  EXPECT_EQ(parseError(Bytes(good.begin(), good.begin() + 39)), PacketError::kTruncated);
  Bytes b = good;
  store16(&b[4], 41);  // payload one byte longer than the buffer
  EXPECT_EQ(parseError(b), PacketError::kTruncated);
  b = good;
  store16(&b[4], 0);  // jumbogram-style zero length: no room for TCP
  EXPECT_EQ(parseError(b), PacketError::kTruncatedTransport);

  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoUdp};
  spec.ipv6_extensions = {60, 0};  // hop-by-hop not first
  EXPECT_EQ(parseError(testing::buildPacket(spec)), PacketError::kBadExtensionHeader);
  spec.ipv6_extensions.assign(9, 60);  // too many
  EXPECT_EQ(parseError(testing::buildPacket(spec)), PacketError::kBadExtensionHeader);
  spec.ipv6_extensions.assign(8, 60);  // still fine
  EXPECT_EQ(parseError(testing::buildPacket(spec)), PacketError::kOk);

  spec.ipv6_extensions = {60};
  b = testing::buildPacket(spec);
  b[41] = 10;  // extension length beyond the packet
  EXPECT_EQ(parseError(b), PacketError::kBadExtensionHeader);
  b = testing::buildPacket(spec);
  b.resize(44);
  store16(&b[4], 4);  // extension header cut short
  EXPECT_EQ(parseError(b), PacketError::kBadExtensionHeader);

  // Two fragment headers.
  spec.ipv6_extensions = {};
  spec.payload = 100;
  auto fragments = testing::fragmentPacket(testing::buildPacket(spec), 64, 1);
  b = fragments[0];
  Bytes again(b.begin() + 40, b.begin() + 48);
  b.insert(b.begin() + 48, again.begin(), again.end());
  b[40] = 44;
  store16(&b[4], static_cast<uint16_t>(b.size() - 40));
  EXPECT_EQ(parseError(b), PacketError::kBadFragment);
}

// Whatever the bytes, parsing stays inside the buffer and rewriting inside the packet (run
// under AddressSanitizer).
TEST(PacketTest, HostileBytesNeverEscapeTheBuffer) {
  std::vector<Bytes> seeds = {testing::fromHex(kV4Syn), testing::fromHex(kV6Syn)};
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoUdp};
  spec.ipv6_extensions = {0, 43, 60};
  seeds.push_back(testing::buildPacket(spec));
  std::mt19937 random(7);
  size_t accepted = 0;
  for (const Bytes& seed : seeds) {
    for (size_t cut = 0; cut <= seed.size(); ++cut) {
      Bytes b(seed.begin(), seed.begin() + static_cast<ptrdiff_t>(cut));
      Packet p;
      if (parsePacket(b, p) == PacketError::kOk) ++accepted;
    }
    for (int round = 0; round < 20000; ++round) {
      Bytes b = seed;
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        b[random() % b.size()] = static_cast<uint8_t>(random());
      }
      b.resize(random() % (b.size() + 1));
      Packet p;
      if (parsePacket(b, p) != PacketError::kOk) continue;
      ++accepted;
      ASSERT_LE(p.bytes.size(), b.size());
      ASSERT_LE(p.l4_offset, p.bytes.size());
      setSource(p, p.isV4() ? IpAddress(v4("10.30.0.9")) : IpAddress(v6("fdff::9")));
      setDestination(p, p.isV4() ? IpAddress(v4("10.18.0.70")) : IpAddress(v6("fc00::102")));
      setEchoId(p, 1);
    }
  }
  EXPECT_GT(accepted, 3u);
}

}  // namespace
}  // namespace oak::overlay
