#include "overlay/vnet_header.h"

#include "overlay/checksum.h"
#include "overlay/packet.h"

namespace oak::overlay {
namespace {

constexpr size_t kTcpChecksumOffset = 16;
constexpr size_t kUdpChecksumOffset = 6;

uint16_t loadLe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

void storeLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

std::string_view toString(VnetError e) {
  switch (e) {
    case VnetError::kOk:
      return "ok";
    case VnetError::kUnknownGsoType:
      return "unknown_gso_type";
    case VnetError::kMalformed:
      return "malformed";
    case VnetError::kWrongProtocol:
      return "wrong_protocol";
    case VnetError::kFragment:
      return "fragment";
    case VnetError::kNoPartialChecksum:
      return "no_partial_checksum";
    case VnetError::kBadChecksumOffset:
      return "bad_checksum_offset";
    case VnetError::kZeroSegmentSize:
      return "zero_segment_size";
    case VnetError::kHeaderTooLong:
      return "header_too_long";
  }
  return "unknown";
}

VnetHeader decodeVnetHeader(std::span<const uint8_t, kVnetHeaderSize> b) {
  return VnetHeader{.flags = b[0],
                    .gso_type = b[1],
                    .hdr_len = loadLe16(&b[2]),
                    .gso_size = loadLe16(&b[4]),
                    .csum_start = loadLe16(&b[6]),
                    .csum_offset = loadLe16(&b[8])};
}

void encodeVnetHeader(const VnetHeader& h, std::span<uint8_t, kVnetHeaderSize> out) {
  out[0] = h.flags;
  out[1] = h.gso_type;
  storeLe16(&out[2], h.hdr_len);
  storeLe16(&out[4], h.gso_size);
  storeLe16(&out[6], h.csum_start);
  storeLe16(&out[8], h.csum_offset);
}

bool completeChecksum(std::span<uint8_t> packet, size_t start, size_t offset) {
  if (start > packet.size() || offset > packet.size() - start ||
      packet.size() - start - offset < 2) {
    return false;
  }
  // The field already holds the pseudo-header sum, so summing over it adds it in.
  uint16_t sum = checksumFinish(checksumAdd(0, packet.subspan(start)));
  // As the kernel does: a computed 0 is sent as its other form (0 means "none" for UDP).
  if (sum == 0) sum = 0xffff;
  store16(packet.data() + start + offset, sum);
  return true;
}

VnetError prepareTunRead(const VnetHeader& h, std::span<uint8_t> packet, TunRead& out) {
  out = TunRead{};
  const bool partial = (h.flags & VnetHeader::kNeedsChecksum) != 0;
  const uint8_t type = h.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  if (type == VnetHeader::kGsoNone) {
    if (partial && !completeChecksum(packet, h.csum_start, h.csum_offset)) {
      return VnetError::kBadChecksumOffset;
    }
    return VnetError::kOk;
  }
  if (type != VnetHeader::kGsoTcpV4 && type != VnetHeader::kGsoTcpV6 &&
      type != VnetHeader::kGsoUdpL4) {
    return VnetError::kUnknownGsoType;
  }
  Packet p;
  if (parsePacket(packet, p) != PacketError::kOk || p.bytes.size() != packet.size()) {
    return VnetError::kMalformed;
  }
  const bool tcp = type != VnetHeader::kGsoUdpL4;
  const bool family_ok =
      type == VnetHeader::kGsoUdpL4 || p.isV4() == (type == VnetHeader::kGsoTcpV4);
  if (!family_ok || !p.has_transport || p.protocol != (tcp ? kProtoTcp : kProtoUdp)) {
    return VnetError::kWrongProtocol;
  }
  if (p.fragment) return VnetError::kFragment;
  if (!partial) return VnetError::kNoPartialChecksum;
  if (h.csum_start != p.l4_offset ||
      h.csum_offset != (tcp ? kTcpChecksumOffset : kUdpChecksumOffset)) {
    return VnetError::kBadChecksumOffset;
  }
  if (h.gso_size == 0) return VnetError::kZeroSegmentSize;
  // Parsing checked that the whole TCP header is there.
  const size_t transport = tcp ? static_cast<size_t>(packet[p.l4_offset + 12u] >> 4) * 4 : 8;
  const size_t headers = p.l4_offset + transport;
  if (headers > kMaxSegmentHeader) return VnetError::kHeaderTooLong;
  if (packet.size() - headers <= h.gso_size) {
    // A single segment: an ordinary packet once its checksum is complete.
    completeChecksum(packet, h.csum_start, h.csum_offset);
    return VnetError::kOk;
  }
  out.segment_size = h.gso_size;
  out.header_length = static_cast<uint16_t>(headers);
  out.l4_offset = p.l4_offset;
  out.version = p.version;
  out.protocol = p.protocol;
  out.ecn = (h.gso_type & VnetHeader::kGsoEcn) != 0;
  return VnetError::kOk;
}

VnetHeader vnetHeaderOf(const TunRead& layout) {
  if (!layout.isSuper()) return VnetHeader{};
  const bool tcp = layout.protocol == kProtoTcp;
  uint8_t type = !tcp                  ? VnetHeader::kGsoUdpL4
                 : layout.version == 4 ? VnetHeader::kGsoTcpV4
                                       : VnetHeader::kGsoTcpV6;
  if (layout.ecn) type |= VnetHeader::kGsoEcn;
  return VnetHeader{
      .flags = VnetHeader::kNeedsChecksum,
      .gso_type = type,
      .hdr_len = layout.header_length,
      .gso_size = layout.segment_size,
      .csum_start = layout.l4_offset,
      .csum_offset = static_cast<uint16_t>(tcp ? kTcpChecksumOffset : kUdpChecksumOffset)};
}

}  // namespace oak::overlay
