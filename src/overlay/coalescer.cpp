#include "overlay/coalescer.h"

#include <cstring>

#include "overlay/checksum.h"
#include "overlay/packet.h"

namespace oak::overlay {
namespace {

constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr size_t kMaxIpLength = 65535;

bool isExtensionHeader(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 60;
}

// Where the addresses of a packet are, and how long each is.
size_t addressesAt(uint8_t version) {
  return version == 4 ? 12 : 8;
}
size_t addressSize(uint8_t version) {
  return version == 4 ? 4 : 16;
}

}  // namespace

// A packet that may join a super-packet: what the rules look at.
struct TcpCoalescer::Segment {
  uint16_t l4_offset = 0;
  uint16_t header_length = 0;
  uint16_t payload = 0;
  uint32_t sequence = 0;
  bool psh = false;
};

TcpCoalescer::TcpCoalescer(Sink sink) : sink_(std::move(sink)) {}

void TcpCoalescer::add(std::span<uint8_t> packet) {
  ++counters_.packets;
  const uint8_t* b = packet.data();
  if (packet.size() < 20) return writePlain(packet);
  const uint8_t version = b[0] >> 4;

  // The flow of a TCP packet: where its ports are. Packets of other protocols are never kept
  // back and belong to no flow kept here; a TCP packet whose header we cannot find quickly
  // (IPv6 extension headers) goes out after everything kept.
  size_t l4 = 0;
  if (version == 4 && b[9] == kProtoTcp && (load16(b + 6) & 0x1fff) == 0) {
    l4 = size_t{b[0] & 0x0fu} * 4;
  } else if (version == 6 && packet.size() >= 40 && b[6] == kProtoTcp) {
    l4 = 40;
  } else if (version == 6 && packet.size() >= 40 && isExtensionHeader(b[6])) {
    flush();
    return writePlain(packet);
  }
  if (l4 < 20 || l4 + 20 > packet.size()) return writePlain(packet);
  Group* group = find(packet, l4);

  Segment s;
  s.l4_offset = static_cast<uint16_t>(l4);
  const uint8_t* t = b + l4;
  const size_t header_length = l4 + static_cast<size_t>(t[12] >> 4) * 4;
  const size_t ip_length = version == 4 ? load16(b + 2) : 40u + load16(b + 4);
  const uint8_t flags = t[13];
  const bool candidate = ip_length == packet.size() && (version == 6 || l4 == 20) &&
                         (version == 6 || (b[6] & 0x20) == 0) && header_length >= l4 + 20 &&
                         header_length < packet.size() &&
                         (flags == kTcpAck || flags == (kTcpAck | kTcpPsh));
  if (!candidate) {
    if (group != nullptr) emit(*group);
    return writePlain(packet);
  }
  const size_t at = addressesAt(version);
  const size_t size = addressSize(version);
  const uint64_t pseudo = pseudoHeaderSum(packet.subspan(at, size), packet.subspan(at + size, size),
                                          kProtoTcp, static_cast<uint32_t>(packet.size() - l4));
  if (checksumFold(checksumAdd(pseudo, packet.subspan(l4))) != 0xffff) {
    // Written alone, so the instance drops it as it would have without offloads.
    ++counters_.bad_checksums;
    if (group != nullptr) emit(*group);
    return writePlain(packet);
  }
  s.header_length = static_cast<uint16_t>(header_length);
  s.payload = static_cast<uint16_t>(packet.size() - header_length);
  s.sequence = load32(t + 4);
  s.psh = (flags & kTcpPsh) != 0;
  if (group != nullptr) {
    if (append(*group, packet, s)) return;
    emit(*group);
  }
  start(packet, s);
}

void TcpCoalescer::flush() {
  for (Group& g : groups_) {
    if (g.open) emit(g);
  }
}

void TcpCoalescer::writePlain(std::span<const uint8_t> packet) {
  const std::span<const uint8_t> pieces[1] = {packet};
  sink_(Write{VnetHeader{}, pieces});
}

TcpCoalescer::Group* TcpCoalescer::find(std::span<const uint8_t> packet, size_t l4_offset) {
  const uint8_t version = packet[0] >> 4;
  const size_t at = addressesAt(version);
  const size_t size = 2 * addressSize(version);
  for (Group& g : groups_) {
    if (!g.open || g.version != version) continue;
    if (std::memcmp(g.head + at, packet.data() + at, size) != 0) continue;
    if (std::memcmp(g.head + g.l4_offset, packet.data() + l4_offset, 4) != 0) continue;
    return &g;
  }
  return nullptr;
}

bool TcpCoalescer::append(Group& g, std::span<uint8_t> packet, const Segment& s) {
  if (g.closed || g.count == kMaxSegments) return false;
  if (s.l4_offset != g.l4_offset || s.header_length != g.header_length) return false;
  if (s.sequence != g.next_sequence || s.payload > g.segment_size) return false;
  const size_t ip_header = g.version == 4 ? 0 : 40;  // IPv6 counts the payload only
  if (g.length - ip_header + s.payload > kMaxIpLength) return false;
  const uint8_t* h = g.head;
  const uint8_t* p = packet.data();
  if (g.version == 4) {
    // TOS, DF (and the reserved bit), TTL.
    if (h[1] != p[1] || (h[6] & 0xe0) != (p[6] & 0xe0) || h[8] != p[8]) return false;
  } else {
    // Traffic class and flow label, hop limit.
    if (std::memcmp(h, p, 4) != 0 || h[7] != p[7]) return false;
  }
  const uint8_t* ht = h + g.l4_offset;
  const uint8_t* pt = p + s.l4_offset;
  // Acknowledgement; window; options, timestamps included.
  if (std::memcmp(ht + 8, pt + 8, 4) != 0 || std::memcmp(ht + 14, pt + 14, 2) != 0) return false;
  const size_t options = g.header_length - g.l4_offset - 20u;
  if (std::memcmp(ht + 20, pt + 20, options) != 0) return false;

  g.pieces[g.count++] = packet.subspan(s.header_length);
  g.length += s.payload;
  g.next_sequence += s.payload;
  g.psh = s.psh;
  g.closed = s.psh || s.payload < g.segment_size;
  return true;
}

void TcpCoalescer::start(std::span<uint8_t> packet, const Segment& s) {
  if (s.psh) return writePlain(packet);  // nothing may follow it
  Group* free = nullptr;
  for (Group& g : groups_) {
    if (!g.open) {
      free = &g;
      break;
    }
    if (free == nullptr || g.age < free->age) free = &g;
  }
  if (free->open) emit(*free);
  Group& g = *free;
  g.open = true;
  g.age = next_age_++;
  g.head = packet.data();
  g.version = packet[0] >> 4;
  g.l4_offset = s.l4_offset;
  g.header_length = s.header_length;
  g.segment_size = s.payload;
  g.next_sequence = s.sequence + s.payload;
  g.length = packet.size();
  g.closed = false;
  g.psh = false;
  g.count = 1;
  g.pieces[0] = packet;
}

void TcpCoalescer::emit(Group& g) {
  g.open = false;
  if (g.count == 1) return writePlain(g.pieces[0]);
  uint8_t* h = g.head;
  const size_t l4 = g.l4_offset;
  if (g.version == 4) {
    store16(h + 2, static_cast<uint16_t>(g.length));
    store16(h + 10, 0);
    store16(h + 10, checksumFinish(checksumAdd(0, std::span<const uint8_t>(h, l4))));
  } else {
    store16(h + 4, static_cast<uint16_t>(g.length - 40));
  }
  if (g.psh) h[l4 + 13] |= kTcpPsh;
  // The checksum is left to the device: its field holds the pseudo-header sum of the whole.
  const size_t at = addressesAt(g.version);
  const size_t size = addressSize(g.version);
  const std::span<const uint8_t> ip(h, l4);
  store16(h + l4 + 16,
          checksumFold(pseudoHeaderSum(ip.subspan(at, size), ip.subspan(at + size, size), kProtoTcp,
                                       static_cast<uint32_t>(g.length - l4))));
  const VnetHeader vnet{.flags = VnetHeader::kNeedsChecksum,
                        .gso_type = g.version == 4 ? VnetHeader::kGsoTcpV4 : VnetHeader::kGsoTcpV6,
                        .hdr_len = g.header_length,
                        .gso_size = g.segment_size,
                        .csum_start = g.l4_offset,
                        .csum_offset = 16};
  ++counters_.super_packets;
  counters_.merged += g.count;
  sink_(Write{vnet, std::span<const std::span<const uint8_t>>(g.pieces.data(), g.count)});
}

}  // namespace oak::overlay
