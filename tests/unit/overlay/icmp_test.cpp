#include "overlay/icmp.h"

#include <gtest/gtest.h>

#include <cstring>

#include "overlay/checksum.h"
#include "testing_packets.h"

namespace oak::overlay {
namespace {

using testing::Bytes;
using testing::checksumsValid;
using testing::v4;
using testing::v6;

Packet parse(Bytes& b) {
  Packet p;
  EXPECT_EQ(parsePacket(b, p), PacketError::kOk);
  return p;
}

// The offending packet at the start of a 64 KiB buffer, as the data path holds it.
struct InPlace {
  explicit InPlace(const Bytes& packet) : original(packet), buffer(65536, 0) {
    std::memcpy(buffer.data(), packet.data(), packet.size());
    Packet p;
    EXPECT_EQ(parsePacket(std::span(buffer).first(packet.size()), p), PacketError::kOk);
    offending = p;
  }
  Bytes result(size_t length) const { return Bytes(buffer.begin(), buffer.begin() + length); }

  Bytes original;
  Bytes buffer;
  Packet offending;
};

// Builds the error in place and checks what every error has: its length, valid checksums, the
// addresses (from `source` back to the offending sender), type and code, and the quote.
Packet build(InPlace& in, IcmpErrorKind kind, const IpAddress& source, uint16_t mtu, size_t length,
             uint8_t type, uint8_t code, size_t quote) {
  const size_t n = buildIcmpError(in.buffer, in.offending, kind, source, mtu);
  EXPECT_EQ(n, length);
  Bytes out = in.result(n);
  EXPECT_TRUE(checksumsValid(out));
  Packet p;
  EXPECT_EQ(parsePacket(in.buffer, p), PacketError::kOk);
  EXPECT_EQ(p.source(), source);
  EXPECT_EQ(p.destination(), in.offending.source());
  EXPECT_EQ(p.icmp_type, type);
  EXPECT_EQ(p.icmp_code, code);
  EXPECT_TRUE(p.icmpError());
  const size_t header = n - quote;
  EXPECT_EQ(Bytes(out.begin() + static_cast<ptrdiff_t>(header), out.end()),
            Bytes(in.original.begin(), in.original.begin() + static_cast<ptrdiff_t>(quote)));
  return p;
}

TEST(IcmpTest, Ipv4HostUnreachableQuotesHeaderAndEightBytes) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1")};
  spec.payload = 100;
  InPlace in(testing::buildPacket(spec));
  const Packet p =
      build(in, IcmpErrorKind::kUnreachable, v4("10.30.0.1"), 0, 20 + 8 + 28, 3, 1, 28);
  EXPECT_EQ(p.protocol, kProtoIcmp);
  EXPECT_EQ(load32(&in.buffer[24]), 0u);  // unused
}

TEST(IcmpTest, Ipv4FragmentationNeededCarriesTheMtu) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoUdp};
  spec.payload = 1600;
  spec.ipv4_options = 8;
  InPlace in(testing::buildPacket(spec));
  // Options are part of the quoted header.
  build(in, IcmpErrorKind::kTooBig, v4("10.30.0.1"), 1450, 20 + 8 + 28 + 8, 3, 4, 36);
  EXPECT_EQ(load16(&in.buffer[26]), 1450);
}

TEST(IcmpTest, Ipv6AddressUnreachableQuotesTheWholeSmallPacket) {
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff:2000::1")};
  spec.payload = 30;
  InPlace in(testing::buildPacket(spec));
  const size_t whole = in.original.size();
  const Packet p =
      build(in, IcmpErrorKind::kUnreachable, v6("fdff:2000::1"), 0, 48 + whole, 1, 3, whole);
  EXPECT_EQ(p.protocol, kProtoIcmpv6);
}

TEST(IcmpTest, Ipv6PacketTooBigFitsTheMinimumMtu) {
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff:2000::1"), .protocol = kProtoUdp};
  spec.payload = 2000;
  InPlace in(testing::buildPacket(spec));
  build(in, IcmpErrorKind::kTooBig, v6("fdff:2000::1"), 1450, 1280, 2, 0, 1280 - 48);
  EXPECT_EQ(load32(&in.buffer[44]), 1450u);
}

TEST(IcmpTest, WritesIntoAnotherBuffer) {
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1")};
  Bytes packet = testing::buildPacket(spec);
  const Bytes original = packet;
  Packet p = parse(packet);
  Bytes out(100, 0);
  const size_t n = buildIcmpError(out, p, IcmpErrorKind::kUnreachable, v4("10.30.0.1"));
  ASSERT_EQ(n, 56u);
  EXPECT_EQ(packet, original);
  EXPECT_TRUE(checksumsValid(std::span(out).first(n)));
}

TEST(IcmpTest, SmallBufferShortensTheQuote) {
  testing::PacketSpec spec{.src = v6("fc00::2"), .dst = v6("fdff:2000::1")};
  spec.payload = 200;
  Bytes packet = testing::buildPacket(spec);
  Packet p = parse(packet);
  Bytes out(48 + 60, 0);
  EXPECT_EQ(buildIcmpError(out, p, IcmpErrorKind::kUnreachable, v6("fdff:2000::1")), 108u);
  EXPECT_TRUE(checksumsValid(out));
  Bytes tiny(48 + 39, 0);  // not even the IPv6 header fits
  EXPECT_EQ(buildIcmpError(tiny, p, IcmpErrorKind::kUnreachable, v6("fdff:2000::1")), 0u);
}

TEST(IcmpTest, NeverAnswers) {
  Bytes out(2048, 0);
  auto answer = [&out](const testing::PacketSpec& spec, const IpAddress& source) {
    Bytes packet = testing::buildPacket(spec);
    Packet p;
    EXPECT_EQ(parsePacket(packet, p), PacketError::kOk);
    return buildIcmpError(out, p, IcmpErrorKind::kUnreachable, source);
  };
  testing::PacketSpec spec{.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoIcmp};
  spec.icmp_type = 8;  // echo: fine
  EXPECT_GT(answer(spec, v4("10.30.0.1")), 0u);
  spec.icmp_type = 3;  // an ICMP error
  EXPECT_EQ(answer(spec, v4("10.30.0.1")), 0u);
  spec.icmp_type = 11;
  EXPECT_EQ(answer(spec, v4("10.30.0.1")), 0u);
  spec = {.src = v6("fc00::2"), .dst = v6("fdff::1"), .protocol = kProtoIcmpv6};
  spec.icmp_type = 1;
  EXPECT_EQ(answer(spec, v6("fdff::1")), 0u);
  spec.icmp_type = 128;
  EXPECT_GT(answer(spec, v6("fdff::1")), 0u);
  EXPECT_EQ(answer(spec, v4("10.30.0.1")), 0u);  // source of the other family

  // Unspecified, multicast and broadcast sources.
  EXPECT_EQ(answer({.src = v4("0.0.0.0"), .dst = v4("10.30.0.1")}, v4("10.30.0.1")), 0u);
  EXPECT_EQ(answer({.src = v4("224.0.0.5"), .dst = v4("10.30.0.1")}, v4("10.30.0.1")), 0u);
  EXPECT_EQ(answer({.src = v4("255.255.255.255"), .dst = v4("10.30.0.1")}, v4("10.30.0.1")), 0u);
  EXPECT_EQ(answer({.src = v6("::"), .dst = v6("fdff::1")}, v6("fdff::1")), 0u);
  EXPECT_EQ(answer({.src = v6("ff02::1"), .dst = v6("fdff::1")}, v6("fdff::1")), 0u);

  // Non-first fragments; the first one is answered.
  spec = {.src = v4("10.18.0.2"), .dst = v4("10.30.0.1"), .protocol = kProtoUdp};
  spec.payload = 100;
  spec.dont_fragment = false;
  auto fragments = testing::fragmentPacket(testing::buildPacket(spec), 64, 5);
  Packet first;
  Packet later;
  ASSERT_EQ(parsePacket(fragments[0], first), PacketError::kOk);
  ASSERT_EQ(parsePacket(fragments[1], later), PacketError::kOk);
  EXPECT_GT(buildIcmpError(out, first, IcmpErrorKind::kUnreachable, v4("10.30.0.1")), 0u);
  EXPECT_EQ(buildIcmpError(out, later, IcmpErrorKind::kUnreachable, v4("10.30.0.1")), 0u);

  EXPECT_EQ(buildIcmpError(out, Packet{}, IcmpErrorKind::kUnreachable, v4("10.30.0.1")), 0u);
}

}  // namespace
}  // namespace oak::overlay
