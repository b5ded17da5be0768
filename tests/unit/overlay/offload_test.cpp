// Offloads of a TUN device (vnet_header.h, segmenter.h, coalescer.h): checked against packets
// built here and checksums recomputed from scratch by the test helpers, byte for byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <set>

#include "overlay/checksum.h"
#include "overlay/coalescer.h"
#include "overlay/packet.h"
#include "overlay/segmenter.h"
#include "overlay/vnet_header.h"
#include "testing_packets.h"

namespace oak::overlay {

void PrintTo(VnetError e, std::ostream* os) {
  *os << toString(e);
}

namespace {

using testing::Bytes;
using testing::checksumsValid;

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kCwr = 0x80;

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

Bytes pattern(size_t n, uint32_t seed = 1) {
  Bytes b(n);
  std::mt19937 random(seed);
  for (auto& x : b) x = static_cast<uint8_t>(random());
  return b;
}

// TCP timestamps option (with two NOPs before it): 12 bytes.
Bytes timestamps(uint32_t value, uint32_t echo) {
  Bytes o = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
  put32(&o[4], value);
  put32(&o[8], echo);
  return o;
}

// One TCP or UDP packet, every field chosen by the test; checksums complete.
struct Spec {
  bool v6 = false;
  uint8_t protocol = kProtoTcp;
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint32_t seq = 1000;
  uint32_t ack = 777777;
  uint8_t flags = kAck;
  uint16_t window = 502;
  Bytes options = timestamps(11, 22);
  uint16_t id = 0x1234;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint32_t flow_label = 0x5c;
  bool dont_fragment = true;
};

Bytes build(const Spec& s, std::span<const uint8_t> payload) {
  const size_t transport = s.protocol == kProtoTcp ? 20 + s.options.size() : 8;
  const size_t ip = s.v6 ? 40 : 20;
  Bytes b(ip + transport + payload.size(), 0);
  uint8_t* p = b.data();
  if (s.v6) {
    put32(p, (6u << 28) | (uint32_t{s.tos} << 20) | s.flow_label);
    put16(p + 4, static_cast<uint16_t>(b.size() - 40));
    p[6] = s.protocol;
    p[7] = s.ttl;
    std::memcpy(p + 8, testing::v6("fdff::100:1").bytes().data(), 16);
    std::memcpy(p + 24, testing::v6("fc00::102").bytes().data(), 16);
  } else {
    p[0] = 0x45;
    p[1] = s.tos;
    put16(p + 2, static_cast<uint16_t>(b.size()));
    put16(p + 4, s.id);
    put16(p + 6, s.dont_fragment ? 0x4000 : 0);
    p[8] = s.ttl;
    p[9] = s.protocol;
    std::memcpy(p + 12, testing::v4("10.30.100.1").octets().data(), 4);
    std::memcpy(p + 16, testing::v4("10.18.1.2").octets().data(), 4);
  }
  uint8_t* t = p + ip;
  put16(t, s.src_port);
  put16(t + 2, s.dst_port);
  if (s.protocol == kProtoTcp) {
    put32(t + 4, s.seq);
    put32(t + 8, s.ack);
    t[12] = static_cast<uint8_t>((transport / 4) << 4);
    t[13] = s.flags;
    put16(t + 14, s.window);
    std::copy(s.options.begin(), s.options.end(), t + 20);
  } else {
    put16(t + 4, static_cast<uint16_t>(transport + payload.size()));
  }
  std::copy(payload.begin(), payload.end(), t + transport);
  testing::fixChecksums(b);
  return b;
}

size_t headerLength(const Spec& s) {
  return (s.v6 ? 40 : 20) + (s.protocol == kProtoTcp ? 20 + s.options.size() : 8);
}

VnetHeader gsoHeader(const Spec& s, uint16_t gso_size) {
  const bool tcp = s.protocol == kProtoTcp;
  return VnetHeader{.flags = VnetHeader::kNeedsChecksum,
                    .gso_type = !tcp   ? VnetHeader::kGsoUdpL4
                                : s.v6 ? VnetHeader::kGsoTcpV6
                                       : VnetHeader::kGsoTcpV4,
                    .hdr_len = static_cast<uint16_t>(headerLength(s)),
                    .gso_size = gso_size,
                    .csum_start = static_cast<uint16_t>(s.v6 ? 40 : 20),
                    .csum_offset = static_cast<uint16_t>(tcp ? 16 : 6)};
}

// A super-packet as the kernel hands it out: its checksum partial.
Bytes superPacket(const Spec& s, std::span<const uint8_t> payload) {
  Bytes b = build(s, payload);
  testing::makeChecksumPartial(b);
  return b;
}

// The segments the kernel would have sent instead: built one by one.
std::vector<Bytes> expectedSegments(const Spec& s, std::span<const uint8_t> payload, size_t size) {
  std::vector<Bytes> out;
  for (size_t at = 0, i = 0; at < payload.size(); at += size, ++i) {
    Spec one = s;
    one.seq = s.seq + static_cast<uint32_t>(at);
    one.id = static_cast<uint16_t>(s.id + i);
    const bool last = at + size >= payload.size();
    if (!last) one.flags &= static_cast<uint8_t>(~(kFin | kPsh));
    if (i != 0) one.flags &= static_cast<uint8_t>(~kCwr);
    out.push_back(build(one, payload.subspan(at, std::min(size, payload.size() - at))));
  }
  return out;
}

std::vector<Bytes> segmentAll(std::span<const uint8_t> packet, const TunRead& layout) {
  Segmenter segmenter(packet, layout);
  std::vector<Bytes> out;
  for (size_t i = 0; i < segmenter.count(); ++i) {
    Bytes headers(layout.header_length);
    auto payload = segmenter.segment(i, headers);
    headers.insert(headers.end(), payload.begin(), payload.end());
    EXPECT_EQ(headers.size(), segmenter.length(i));
    out.push_back(std::move(headers));
  }
  return out;
}

TunRead prepared(const VnetHeader& h, Bytes& packet) {
  TunRead layout;
  EXPECT_EQ(prepareTunRead(h, packet, layout), VnetError::kOk);
  return layout;
}

// --- checksums --------------------------------------------------------------------------------

uint16_t referenceSum(std::span<const uint8_t> b) {
  uint32_t sum = 0;
  for (size_t i = 0; i < b.size(); i += 2) {
    sum += static_cast<uint32_t>(b[i] << 8) + (i + 1 < b.size() ? b[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

TEST(ChecksumTest, TheWideSumEqualsTheWordByWordOneAtEveryLengthAndAlignment) {
  const Bytes data = pattern(4096, 7);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t length = 0; length < 300; ++length) {
      auto part = std::span<const uint8_t>(data).subspan(start, length);
      EXPECT_EQ(checksumFold(checksumAdd(0, part)), referenceSum(part))
          << "start " << start << " length " << length;
    }
  }
  const Bytes ones(65534, 0xff);
  EXPECT_EQ(checksumFold(checksumAdd(0, ones)), 0xffff);
  EXPECT_EQ(checksumFold(checksumAdd(0, pattern(65535, 3))), referenceSum(pattern(65535, 3)));
  EXPECT_EQ(checksumFold(checksumAdd(0x1234, Bytes{})), 0x1234);
}

TEST(ChecksumTest, PseudoHeaderSumCoversAddressesProtocolAndLength) {
  const Bytes src = {10, 30, 100, 1}, dst = {10, 18, 1, 2};
  // 0x0a1e + 0x6401 + 0x0a12 + 0x0102 + 6 + 0x0001 + 0x0002 (length 0x10002)
  EXPECT_EQ(checksumFold(pseudoHeaderSum(src, dst, 6, 0x10002)),
            checksumFold(0x0a1e + 0x6401 + 0x0a12 + 0x0102 + 6 + 1 + 2));
}

// --- the virtio header ------------------------------------------------------------------------

TEST(VnetHeaderTest, EncodesLittleEndianAndDecodesWhatItEncoded) {
  const VnetHeader h{.flags = 1,
                     .gso_type = VnetHeader::kGsoTcpV6,
                     .hdr_len = 0x0102,
                     .gso_size = 0x0304,
                     .csum_start = 0x0506,
                     .csum_offset = 0x0708};
  std::array<uint8_t, kVnetHeaderSize> bytes{};
  encodeVnetHeader(h, bytes);
  EXPECT_EQ(bytes, (std::array<uint8_t, kVnetHeaderSize>{1, 4, 2, 1, 4, 3, 6, 5, 8, 7}));
  EXPECT_EQ(decodeVnetHeader(bytes), h);
}

TEST(VnetHeaderTest, PlainPacketsPassAndPartialChecksumsAreCompleted) {
  for (bool v6 : {false, true}) {
    for (uint8_t protocol : {kProtoTcp, kProtoUdp}) {
      Spec s{.v6 = v6, .protocol = protocol};
      const Bytes payload = pattern(301);
      const Bytes full = build(s, payload);
      Bytes packet = full;
      TunRead layout;
      EXPECT_EQ(prepareTunRead(VnetHeader{}, packet, layout), VnetError::kOk);
      EXPECT_EQ(packet, full);
      EXPECT_FALSE(layout.isSuper());

      testing::makeChecksumPartial(packet);
      VnetHeader h = gsoHeader(s, 0);
      h.gso_type = VnetHeader::kGsoNone;
      EXPECT_EQ(prepareTunRead(h, packet, layout), VnetError::kOk);
      EXPECT_TRUE(checksumsValid(packet));
      EXPECT_EQ(packet, full);
      EXPECT_FALSE(layout.isSuper());
    }
  }
}

TEST(VnetHeaderTest, AComputedZeroIsSentAsAllOnes) {
  // A UDP datagram whose checksum comes out as 0: adjust one payload word until it does.
  Spec s{.protocol = kProtoUdp};
  Bytes payload = pattern(20);
  Bytes packet = build(s, payload);
  const size_t field = 20 + 6;
  const uint16_t now = static_cast<uint16_t>((packet[field] << 8) | packet[field + 1]);
  // Adding `now` to a payload word makes the sum all ones (checksum 0): ones' complement.
  uint32_t word = static_cast<uint32_t>((payload[0] << 8) | payload[1]) + now;
  word = (word & 0xffff) + (word >> 16);
  payload[0] = static_cast<uint8_t>(word >> 8);
  payload[1] = static_cast<uint8_t>(word);
  packet = build(s, payload);
  ASSERT_EQ(packet[field], 0xff);
  ASSERT_EQ(packet[field + 1], 0xff);
  testing::makeChecksumPartial(packet);
  ASSERT_TRUE(completeChecksum(packet, 20, 6));
  EXPECT_EQ(packet[field], 0xff);
  EXPECT_EQ(packet[field + 1], 0xff);
  EXPECT_TRUE(checksumsValid(packet));
}

TEST(VnetHeaderTest, ChecksumFieldsOutsideThePacketAreRefusedAndChangeNothing) {
  Spec s;
  Bytes packet = build(s, pattern(100));
  const Bytes before = packet;
  TunRead layout;
  for (auto [start, offset] : {std::pair{60000, 16},
                               {20, 60000},
                               {0, 0xffff},
                               {0xffff, 0xffff},
                               {static_cast<int>(packet.size()) - 1, 0}}) {
    VnetHeader h{.flags = VnetHeader::kNeedsChecksum,
                 .csum_start = static_cast<uint16_t>(start),
                 .csum_offset = static_cast<uint16_t>(offset)};
    EXPECT_EQ(prepareTunRead(h, packet, layout), VnetError::kBadChecksumOffset)
        << start << "+" << offset;
    EXPECT_EQ(packet, before);
  }
  Bytes empty;
  EXPECT_FALSE(completeChecksum(empty, 0, 0));
}

TEST(VnetHeaderTest, SuperPacketsAreDescribedAndKeepTheirPartialChecksum) {
  for (bool v6 : {false, true}) {
    Spec s{.v6 = v6};
    Bytes packet = superPacket(s, pattern(10000));
    const Bytes before = packet;
    TunRead layout = prepared(gsoHeader(s, 1448), packet);
    EXPECT_EQ(packet, before);
    EXPECT_TRUE(layout.isSuper());
    EXPECT_EQ(layout.segment_size, 1448);
    EXPECT_EQ(layout.header_length, headerLength(s));
    EXPECT_EQ(layout.l4_offset, v6 ? 40 : 20);
    EXPECT_EQ(layout.version, v6 ? 6 : 4);
    EXPECT_EQ(layout.protocol, kProtoTcp);
    EXPECT_EQ(layout.largestSegment(), headerLength(s) + 1448);
    EXPECT_EQ(vnetHeaderOf(layout), gsoHeader(s, 1448));
  }
  Spec udp{.protocol = kProtoUdp};
  Bytes datagram = superPacket(udp, pattern(5000));
  TunRead layout = prepared(gsoHeader(udp, 1000), datagram);
  EXPECT_EQ(layout.protocol, kProtoUdp);
  EXPECT_EQ(layout.header_length, 28);
  EXPECT_EQ(vnetHeaderOf(layout), gsoHeader(udp, 1000));
}

TEST(VnetHeaderTest, TheHeaderLengthHintIsNeverTrusted) {
  Spec s;
  const Bytes payload = pattern(5000);
  for (uint16_t hint : {0, 1, 40, 60000, 0xffff}) {
    Bytes packet = superPacket(s, payload);
    VnetHeader h = gsoHeader(s, 1000);
    h.hdr_len = hint;
    TunRead layout = prepared(h, packet);
    EXPECT_EQ(layout.header_length, headerLength(s)) << hint;
    EXPECT_EQ(segmentAll(packet, layout), expectedSegments(s, payload, 1000)) << hint;
  }
}

TEST(VnetHeaderTest, ASuperPacketOfOneSegmentBecomesAPlainPacket) {
  Spec s{.flags = kAck | kPsh};
  const Bytes payload = pattern(900);
  Bytes packet = superPacket(s, payload);
  TunRead layout = prepared(gsoHeader(s, 1448), packet);
  EXPECT_FALSE(layout.isSuper());
  EXPECT_EQ(packet, build(s, payload));
}

TEST(VnetHeaderTest, HostileSuperPacketsAreRefusedUntouched) {
  Spec s;
  const Bytes good = superPacket(s, pattern(5000));
  auto refuse = [](VnetHeader h, Bytes packet) {
    const Bytes before = packet;
    TunRead layout;
    const VnetError e = prepareTunRead(h, packet, layout);
    EXPECT_EQ(packet, before);
    EXPECT_FALSE(layout.isSuper());
    return e;
  };
  VnetHeader h = gsoHeader(s, 1448);
  h.gso_size = 0;
  EXPECT_EQ(refuse(h, good), VnetError::kZeroSegmentSize);

  h = gsoHeader(s, 1448);
  h.csum_start = 0xfff0;
  EXPECT_EQ(refuse(h, good), VnetError::kBadChecksumOffset);
  h.csum_start = 20;
  h.csum_offset = 6;  // UDP's field in a TCP packet
  EXPECT_EQ(refuse(h, good), VnetError::kBadChecksumOffset);
  h.csum_offset = 0xffff;
  EXPECT_EQ(refuse(h, good), VnetError::kBadChecksumOffset);

  h = gsoHeader(s, 1448);
  h.flags = 0;
  EXPECT_EQ(refuse(h, good), VnetError::kNoPartialChecksum);

  for (uint8_t type : {2, 3, 6, 7, 0x7f}) {
    h = gsoHeader(s, 1448);
    h.gso_type = type;
    EXPECT_EQ(refuse(h, good), VnetError::kUnknownGsoType) << int(type);
  }
  h = gsoHeader(s, 1448);
  h.gso_type = VnetHeader::kGsoTcpV6;  // an IPv4 packet
  EXPECT_EQ(refuse(h, good), VnetError::kWrongProtocol);
  h.gso_type = VnetHeader::kGsoUdpL4;  // a TCP packet
  EXPECT_EQ(refuse(h, good), VnetError::kWrongProtocol);

  // Longer than 64 KiB: an IPv4 packet cannot say so; what follows its length is not it.
  Bytes longer = superPacket(s, pattern(65535 - 52));
  ASSERT_EQ(longer.size(), 65535u);
  longer.resize(70000, 0xab);
  EXPECT_EQ(refuse(gsoHeader(s, 1448), longer), VnetError::kMalformed);
  // An IPv6 payload length of 0 (a jumbogram's) leaves no TCP header.
  Spec s6{.v6 = true};
  Bytes jumbo = superPacket(s6, pattern(5000));
  jumbo[4] = jumbo[5] = 0;
  EXPECT_EQ(refuse(gsoHeader(s6, 1448), jumbo), VnetError::kMalformed);
  // Shorter than its length says.
  Bytes cut = good;
  cut.resize(cut.size() - 1);
  EXPECT_EQ(refuse(gsoHeader(s, 1448), cut), VnetError::kMalformed);
  // A fragment.
  Bytes fragment = good;
  fragment[6] |= 0x20;  // MF
  testing::fixChecksums(fragment);
  EXPECT_EQ(refuse(gsoHeader(s, 1448), fragment), VnetError::kFragment);
  // Headers beyond what a segment may repeat: IPv6 with a long destination options header.
  Bytes extended = superPacket(s6, pattern(5000));
  Bytes options(240, 0);
  options[0] = kProtoTcp;
  options[1] = 29;  // (29 + 1) * 8 = 240 bytes
  options[2] = 1;   // PadN over the rest
  options[3] = 236;
  extended[6] = 60;
  extended.insert(extended.begin() + 40, options.begin(), options.end());
  put16(&extended[4], static_cast<uint16_t>(extended.size() - 40));
  VnetHeader eh = gsoHeader(s6, 1448);
  eh.csum_start = 280;
  EXPECT_EQ(refuse(eh, extended), VnetError::kHeaderTooLong);
  EXPECT_EQ(refuse(gsoHeader(s, 1448), Bytes{}), VnetError::kMalformed);
}

// --- segmentation -----------------------------------------------------------------------------

TEST(SegmenterTest, CutsTcpSuperPacketsIntoTheSegmentsTheKernelWouldSend) {
  for (bool v6 : {false, true}) {
    for (size_t length : {2 * 1448, 10000, 65535 - 52 - (v6 ? 20 : 0)}) {
      Spec s{.v6 = v6, .seq = 0xfffff000, .flags = kAck | kPsh | kFin | kCwr, .id = 0xfffe};
      const Bytes payload = pattern(length);
      Bytes packet = superPacket(s, payload);
      const TunRead layout = prepared(gsoHeader(s, 1448), packet);
      const auto segments = segmentAll(packet, layout);
      const auto expected = expectedSegments(s, payload, 1448);
      ASSERT_EQ(segments.size(), expected.size());
      for (size_t i = 0; i < segments.size(); ++i) {
        EXPECT_EQ(segments[i], expected[i]) << (v6 ? "v6" : "v4") << " segment " << i;
        EXPECT_TRUE(checksumsValid(segments[i])) << i;
      }
    }
  }
}

TEST(SegmenterTest, CutsUdpSuperPacketsIntoDatagrams) {
  for (bool v6 : {false, true}) {
    Spec s{.v6 = v6, .protocol = kProtoUdp};
    const Bytes payload = pattern(4500);
    Bytes packet = superPacket(s, payload);
    const TunRead layout = prepared(gsoHeader(s, 1000), packet);
    const auto segments = segmentAll(packet, layout);
    const auto expected = expectedSegments(s, payload, 1000);
    ASSERT_EQ(segments.size(), 5u);
    for (size_t i = 0; i < segments.size(); ++i) {
      EXPECT_EQ(segments[i], expected[i]) << i;
      EXPECT_TRUE(checksumsValid(segments[i]));
    }
    EXPECT_EQ(segments.back().size(), headerLength(s) + 500);
  }
}

TEST(SegmenterTest, IgnoresWhatTheSuperPacketsChecksumFieldHolds) {
  Spec s;
  const Bytes payload = pattern(3000);
  Bytes packet = superPacket(s, payload);
  const TunRead layout = prepared(gsoHeader(s, 1000), packet);
  packet[20 + 16] ^= 0x5a;  // the segments' checksums are computed from scratch
  EXPECT_EQ(segmentAll(packet, layout), expectedSegments(s, payload, 1000));
}

TEST(SegmenterTest, AnExactMultipleEndsWithAFullSegment) {
  Spec s;
  Bytes packet = superPacket(s, pattern(3 * 500));
  const TunRead layout = prepared(gsoHeader(s, 500), packet);
  Segmenter segmenter(packet, layout);
  ASSERT_EQ(segmenter.count(), 3u);
  EXPECT_EQ(segmenter.length(2), headerLength(s) + 500);
  Segmenter none(packet, TunRead{});
  EXPECT_EQ(none.count(), 0u);
}

// --- coalescing -------------------------------------------------------------------------------

struct Written {
  VnetHeader vnet;
  Bytes bytes;
};

class CoalescerTest : public ::testing::Test {
 protected:
  CoalescerTest()
      : coalescer_([this](const TcpCoalescer::Write& w) {
          Written out{w.vnet, {}};
          for (auto piece : w.pieces) out.bytes.insert(out.bytes.end(), piece.begin(), piece.end());
          written_.push_back(std::move(out));
        }) {}

  // Consecutive segments of `payload`, `size` bytes each, built as the peer's segmentation
  // sends them; kept alive by the fixture (the coalescer points into them).
  std::vector<Bytes>& segments(const Spec& s, std::span<const uint8_t> payload, size_t size) {
    packets_.push_back(expectedSegments(s, payload, size));
    return packets_.back();
  }
  void addAll(std::vector<Bytes>& packets) {
    for (auto& p : packets) coalescer_.add(p);
  }
  // A written super-packet cut again: the segments it stands for.
  std::vector<Bytes> resegment(const Written& w) {
    Bytes copy = w.bytes;
    TunRead layout;
    EXPECT_EQ(prepareTunRead(w.vnet, copy, layout), VnetError::kOk);
    if (!layout.isSuper()) return {copy};
    return segmentAll(copy, layout);
  }

  std::deque<std::vector<Bytes>> packets_;  // references stay valid as it grows
  std::vector<Written> written_;
  TcpCoalescer coalescer_;
};

TEST_F(CoalescerTest, InOrderSegmentsOfAFlowBecomeOneSuperPacketWithAPartialChecksum) {
  for (bool v6 : {false, true}) {
    written_.clear();
    Spec s{.v6 = v6, .flags = kAck};
    const Bytes payload = pattern(20000);
    auto& packets = segments(s, payload, 1448);
    const auto originals = packets;  // the first one's headers get rewritten
    addAll(packets);
    EXPECT_TRUE(written_.empty()) << "kept until flushed";
    coalescer_.flush();
    ASSERT_EQ(written_.size(), 1u);
    const Written& w = written_[0];
    EXPECT_EQ(w.vnet, gsoHeader(s, 1448));
    // The whole, with its checksum completed, is the packet the sender would have built.
    Bytes whole = w.bytes;
    testing::completePartialChecksum(whole);
    EXPECT_EQ(whole, build(s, payload));
    // Its TCP field holds the pseudo-header sum, as a device expects.
    Bytes partial = build(s, payload);
    testing::makeChecksumPartial(partial);
    EXPECT_EQ(w.bytes, partial);
    // And cut again, it is the original segments, byte for byte.
    EXPECT_EQ(resegment(w), originals);
  }
  EXPECT_EQ(coalescer_.counters().super_packets, 2u);
  EXPECT_EQ(coalescer_.counters().merged, 2u * 14);
}

TEST_F(CoalescerTest, PshEndsASuperPacketAndIsKeptOnItsLastSegment) {
  Spec s{.flags = kAck | kPsh};
  const Bytes payload = pattern(5000);
  auto& packets = segments(s, payload, 1000);  // PSH on the last only
  const auto originals = packets;
  Spec next = s;
  next.seq = s.seq + 5000;
  auto& more = segments(next, pattern(2000, 9), 1000);
  addAll(packets);
  addAll(more);
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(resegment(written_[0]), originals);
  EXPECT_EQ(written_[0].bytes[20 + 13], kAck | kPsh);
  EXPECT_EQ(written_[1].vnet.gso_type, VnetHeader::kGsoTcpV4);
}

TEST_F(CoalescerTest, AShortSegmentEndsASuperPacket) {
  Spec s;
  auto& packets = segments(s, pattern(2500), 1000);  // 1000, 1000, 500
  Spec next = s;
  next.seq = s.seq + 2500;
  auto& more = segments(next, pattern(2000, 4), 1000);
  addAll(packets);
  addAll(more);
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[0].bytes.size(), headerLength(s) + 2500);
  EXPECT_EQ(written_[1].bytes.size(), headerLength(s) + 2000);
}

TEST_F(CoalescerTest, SegmentsThatDifferAreNotJoined) {
  struct Case {
    const char* what;
    void (*change)(Spec&);
  };
  const Case cases[] = {
      {"ack", [](Spec& s) { s.ack += 1; }},
      {"window", [](Spec& s) { s.window += 1; }},
      {"timestamp", [](Spec& s) { s.options = timestamps(12, 22); }},
      {"options length",
       [](Spec& s) {
         s.options = {1, 1, 1, 1};
       }},
      {"ttl", [](Spec& s) { s.ttl -= 1; }},
      {"tos", [](Spec& s) { s.tos = 0x02; }},
      {"df", [](Spec& s) { s.dont_fragment = false; }},
      {"port", [](Spec& s) { s.src_port += 1; }},
      {"sequence gap", [](Spec& s) { s.seq += 1; }},
      {"ece", [](Spec& s) { s.flags |= 0x40; }},
      {"urg", [](Spec& s) { s.flags |= 0x20; }},
      {"larger", [](Spec&) {}},
  };
  for (const Case& c : cases) {
    written_.clear();
    Spec s;
    auto& first = segments(s, pattern(2000), 1000);
    Spec other = s;
    other.seq = s.seq + 2000;
    c.change(other);
    const bool larger = std::string_view(c.what) == "larger";
    auto& second = segments(other, pattern(larger ? 1200 : 1000, 5), larger ? 1200 : 1000);
    const Bytes expected_second = second[0];
    addAll(first);
    addAll(second);
    coalescer_.flush();
    ASSERT_GE(written_.size(), 2u) << c.what;
    EXPECT_EQ(written_.back().bytes, expected_second) << c.what;
    EXPECT_EQ(written_.back().vnet, VnetHeader{}) << c.what;
  }
}

TEST_F(CoalescerTest, OtherPacketsOfAFlowGoOutAfterWhatIsKeptOfIt) {
  Spec s;
  auto& data = segments(s, pattern(3000), 1000);
  Spec fin = s;
  fin.seq = s.seq + 3000;
  fin.flags = kAck | kFin;
  auto& last = segments(fin, pattern(10, 2), 1000);
  Spec pure_ack = s;  // same flow, no payload
  pure_ack.seq = fin.seq;
  Bytes ack = build(pure_ack, {});
  Spec udp{.protocol = kProtoUdp};
  Bytes datagram = build(udp, pattern(50));
  addAll(data);
  coalescer_.add(datagram);  // another flow: at once
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0].bytes, datagram);
  coalescer_.add(ack);
  ASSERT_EQ(written_.size(), 3u);
  EXPECT_EQ(written_[1].bytes.size(), headerLength(s) + 3000) << "the kept data first";
  EXPECT_EQ(written_[2].bytes, ack);
  addAll(last);
  ASSERT_EQ(written_.size(), 4u);
  EXPECT_EQ(written_[3].bytes, last[0]);
}

TEST_F(CoalescerTest, ASegmentWithAWrongChecksumIsWrittenAloneInItsPlace) {
  Spec s;
  auto& packets = segments(s, pattern(4000), 1000);
  const auto originals = packets;
  packets[2][headerLength(s) + 7] ^= 1;  // corrupted payload
  const Bytes corrupted = packets[2];
  addAll(packets);
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 3u);
  EXPECT_EQ(resegment(written_[0]), (std::vector<Bytes>{originals[0], originals[1]}));
  EXPECT_EQ(written_[1].bytes, corrupted);
  EXPECT_FALSE(checksumsValid(written_[1].bytes));
  EXPECT_EQ(written_[2].bytes, originals[3]);
  EXPECT_EQ(coalescer_.counters().bad_checksums, 1u);
}

TEST_F(CoalescerTest, SuperPacketsStayWithin64KiBAnd64Segments) {
  Spec s;
  const Bytes payload = pattern(100000);
  auto& packets = segments(s, payload, 1448);
  const auto originals = packets;
  addAll(packets);
  coalescer_.flush();
  std::vector<Bytes> all;
  for (const Written& w : written_) {
    EXPECT_LE(w.bytes.size(), 65535u);
    auto again = resegment(w);
    all.insert(all.end(), again.begin(), again.end());
  }
  EXPECT_EQ(all, originals);
  EXPECT_EQ(written_[0].bytes.size(), headerLength(s) + 45 * 1448) << "45 fit, 46 would not";

  written_.clear();
  Spec small = s;
  small.seq = 5;
  auto& tiny = segments(small, pattern(100 * 10), 10);
  addAll(tiny);
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[0].bytes.size(), headerLength(s) + 64 * 10);
}

TEST_F(CoalescerTest, InterleavedFlowsAreJoinedEachInOrder) {
  Spec a;
  Spec b = a;
  b.src_port = 40001;
  Spec c = a;
  c.v6 = true;
  auto& pa = segments(a, pattern(5000, 1), 1000);
  auto& pb = segments(b, pattern(5000, 2), 1000);
  auto& pc = segments(c, pattern(5000, 3), 1000);
  const auto oa = pa, ob = pb, oc = pc;
  for (size_t i = 0; i < 5; ++i) {
    coalescer_.add(pa[i]);
    coalescer_.add(pb[i]);
    coalescer_.add(pc[i]);
  }
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 3u);
  std::set<std::vector<Bytes>> got;
  for (const Written& w : written_) got.insert(resegment(w));
  EXPECT_EQ(got, (std::set<std::vector<Bytes>>{oa, ob, oc}));
}

TEST_F(CoalescerTest, MoreFlowsThanItKeepsPushOutTheOldestAndLoseNothing) {
  std::vector<std::vector<Bytes>> originals;
  std::vector<std::vector<Bytes>*> flows;
  for (uint16_t f = 0; f < TcpCoalescer::kMaxFlows + 3; ++f) {
    Spec s;
    s.src_port = static_cast<uint16_t>(41000 + f);
    flows.push_back(&segments(s, pattern(2000, f), 1000));
    originals.push_back(*flows.back());
  }
  for (size_t i = 0; i < 2; ++i) {
    for (auto* flow : flows) coalescer_.add((*flow)[i]);
  }
  coalescer_.flush();
  std::vector<Bytes> got;
  for (const Written& w : written_) {
    auto again = resegment(w);
    got.insert(got.end(), again.begin(), again.end());
  }
  std::vector<Bytes> want;
  for (const auto& flow : originals) want.insert(want.end(), flow.begin(), flow.end());
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST_F(CoalescerTest, ALoneSegmentAndNonCandidatesAreWrittenUnchanged) {
  Spec s;
  auto& one = segments(s, pattern(700), 1000);
  const Bytes original = one[0];
  coalescer_.add(one[0]);
  coalescer_.flush();
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0].bytes, original);
  EXPECT_EQ(written_[0].vnet, VnetHeader{});

  Bytes garbage = {0x45, 0};
  Bytes not_ip(60, 0x00);
  Spec syn{.flags = 0x02};
  Bytes with_syn = build(syn, {});
  Spec options_v4;
  Bytes ip_options = build(options_v4, pattern(100));
  ip_options.insert(ip_options.begin() + 20, {1, 1, 1, 1});
  ip_options[0] = 0x46;
  put16(&ip_options[2], static_cast<uint16_t>(ip_options.size()));
  testing::fixChecksums(ip_options);
  for (Bytes* p : {&garbage, &not_ip, &with_syn, &ip_options}) {
    written_.clear();
    const Bytes before = *p;
    coalescer_.add(*p);
    coalescer_.flush();
    ASSERT_EQ(written_.size(), 1u);
    EXPECT_EQ(written_[0].bytes, before);
  }
}

}  // namespace
}  // namespace oak::overlay
