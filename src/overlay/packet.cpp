#include "overlay/packet.h"

#include <cstring>

#include "overlay/checksum.h"

namespace oak::overlay {
namespace {

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr int kMaxExtensionHeaders = 8;  // more is an attack or a broken stack

constexpr uint8_t kExtHopByHop = 0;
constexpr uint8_t kExtRouting = 43;
constexpr uint8_t kExtFragment = 44;
constexpr uint8_t kExtDestination = 60;

bool isIcmp(const Packet& p) {
  return p.protocol == (p.isV4() ? kProtoIcmp : kProtoIcmpv6);
}

// Ports, flags, ICMP type and echo id. `available` bytes follow l4_offset.
PacketError parseTransport(Packet& p, size_t available) {
  const uint8_t* l4 = p.bytes.data() + p.l4_offset;
  if (p.protocol == kProtoTcp) {
    if (available < 20) return PacketError::kTruncatedTransport;
    const size_t data_offset = static_cast<size_t>(l4[12] >> 4) * 4;
    if (data_offset < 20) return PacketError::kBadTransportHeader;
    if (data_offset > available) return PacketError::kTruncatedTransport;
    p.src_port = load16(l4);
    p.dst_port = load16(l4 + 2);
    p.tcp_flags = l4[13];
  } else if (p.protocol == kProtoUdp) {
    if (available < 8) return PacketError::kTruncatedTransport;
    const size_t length = load16(l4 + 4);
    if (!p.fragment && (length < 8 || length > available)) {
      return PacketError::kBadTransportHeader;
    }
    p.src_port = load16(l4);
    p.dst_port = load16(l4 + 2);
  } else if (isIcmp(p)) {
    if (available < 4) return PacketError::kTruncatedTransport;
    p.icmp_type = l4[0];
    p.icmp_code = l4[1];
    p.echo = p.isV4() ? (p.icmp_type == 0 || p.icmp_type == 8)
                      : (p.icmp_type == 128 || p.icmp_type == 129);
    if (p.echo) {
      if (available < 8) return PacketError::kTruncatedTransport;
      p.echo_id = load16(l4 + 4);
    }
  } else {
    return PacketError::kOk;
  }
  p.has_transport = true;
  return PacketError::kOk;
}

PacketError parseV4(std::span<uint8_t> buffer, Packet& p) {
  if (buffer.size() < kIpv4MinHeader) return PacketError::kTruncated;
  const uint8_t* b = buffer.data();
  const size_t header = static_cast<size_t>(b[0] & 0x0f) * 4;
  const size_t total = load16(b + 2);
  if (header < kIpv4MinHeader) return PacketError::kBadHeaderLength;
  if (total < kIpv4MinHeader) return PacketError::kBadTotalLength;
  if (header > total) return PacketError::kBadHeaderLength;
  if (total > buffer.size()) return PacketError::kTruncated;
  p.bytes = buffer.first(total);
  p.version = 4;
  p.protocol = b[9];
  p.l4_offset = static_cast<uint16_t>(header);
  p.src4 = net::Ipv4Address(load32(b + 12));
  p.dst4 = net::Ipv4Address(load32(b + 16));
  const uint16_t flags = load16(b + 6);
  p.dont_fragment = (flags & 0x4000) != 0;
  p.more_fragments = (flags & 0x2000) != 0;
  p.fragment_offset = static_cast<uint16_t>((flags & 0x1fff) * 8);
  p.fragment_id = load16(b + 4);
  p.fragment = p.more_fragments || p.fragment_offset != 0;
  if (size_t{p.fragment_offset} + (total - header) > 65535) return PacketError::kBadFragment;
  if (p.laterFragment()) return PacketError::kOk;
  return parseTransport(p, total - header);
}

PacketError parseV6(std::span<uint8_t> buffer, Packet& p) {
  if (buffer.size() < kIpv6Header) return PacketError::kTruncated;
  const uint8_t* b = buffer.data();
  const size_t total = kIpv6Header + load16(b + 4);
  if (total > buffer.size()) return PacketError::kTruncated;
  p.bytes = buffer.first(total);
  p.version = 6;
  net::Ipv6Address::Bytes address;
  std::memcpy(address.data(), b + 8, 16);
  p.src6 = net::Ipv6Address(address);
  std::memcpy(address.data(), b + 24, 16);
  p.dst6 = net::Ipv6Address(address);

  uint8_t next = b[6];
  size_t offset = kIpv6Header;
  bool seen_fragment_header = false;
  for (int count = 0;; ++count) {
    if (next != kExtHopByHop && next != kExtRouting && next != kExtDestination &&
        next != kExtFragment) {
      break;
    }
    if (count == kMaxExtensionHeaders) return PacketError::kBadExtensionHeader;
    // Hop-by-hop options may only come first (RFC 8200 4.1).
    if (next == kExtHopByHop && count != 0) return PacketError::kBadExtensionHeader;
    if (offset + 8 > total) return PacketError::kBadExtensionHeader;
    const uint8_t* h = b + offset;
    if (next == kExtFragment) {
      if (seen_fragment_header) return PacketError::kBadFragment;
      seen_fragment_header = true;
      const uint16_t field = load16(h + 2);
      p.fragment_offset = static_cast<uint16_t>(field & 0xfff8);
      p.more_fragments = (field & 1) != 0;
      p.fragment_id = load32(h + 4);
      // Offset 0 without M is an "atomic fragment": a whole packet (RFC 6946).
      p.fragment = p.fragment_offset != 0 || p.more_fragments;
      if (size_t{p.fragment_offset} + (total - offset - 8) > 65535) {
        return PacketError::kBadFragment;
      }
      next = h[0];
      offset += 8;
      // What follows the Fragment header of a later fragment is not a header.
      if (p.laterFragment()) break;
      continue;
    }
    const size_t length = (size_t{h[1]} + 1) * 8;
    if (offset + length > total) return PacketError::kBadExtensionHeader;
    next = h[0];
    offset += length;
  }
  p.protocol = next;
  p.l4_offset = static_cast<uint16_t>(offset);
  if (p.laterFragment()) return PacketError::kOk;
  return parseTransport(p, total - offset);
}

// Offset of the transport checksum that covers the addresses (pseudo-header), or 0 for none.
size_t pseudoHeaderChecksumOffset(const Packet& p) {
  if (!p.has_transport) return 0;
  switch (p.protocol) {
    case kProtoTcp:
      return p.l4_offset + 16u;
    case kProtoUdp:
      // An IPv4 UDP checksum of 0 means the sender did not compute one (a partial one is the
      // pseudo-header sum, never left out).
      if (p.isV4() && !p.partial_checksum && load16(p.bytes.data() + p.l4_offset + 6) == 0) {
        return 0;
      }
      return p.l4_offset + 6u;
    case kProtoIcmpv6:
      return p.isV4() ? 0 : p.l4_offset + 2u;
    default:
      return 0;
  }
}

// Replaces the address field at `offset` with `after`, fixing the checksums it is part of.
void replaceAddress(Packet& p, size_t offset, std::span<const uint8_t> after) {
  uint8_t* b = p.bytes.data();
  const std::span<const uint8_t> before(b + offset, after.size());
  if (p.isV4()) store16(b + 10, checksumAdjust(load16(b + 10), before, after));
  if (const size_t at = pseudoHeaderChecksumOffset(p); at != 0 && p.partial_checksum) {
    // A plain (uncomplemented) sum: adjusting its complement and complementing back is
    // exactly P' = P + ~m + m'.
    const auto partial = static_cast<uint16_t>(~load16(b + at));
    store16(b + at, static_cast<uint16_t>(~checksumAdjust(partial, before, after)));
  } else if (at != 0) {
    uint16_t sum = checksumAdjust(load16(b + at), before, after);
    // UDP sends a computed zero as all ones (zero would mean "no checksum").
    if (sum == 0 && p.protocol == kProtoUdp) sum = 0xffff;
    store16(b + at, sum);
  }
  std::memcpy(b + offset, after.data(), after.size());
}

void replaceAddress4(Packet& p, size_t offset, net::Ipv4Address a) {
  const auto octets = a.octets();
  replaceAddress(p, offset, octets);
}

}  // namespace

std::string_view toString(PacketError e) {
  switch (e) {
    case PacketError::kOk:
      return "ok";
    case PacketError::kEmpty:
      return "empty";
    case PacketError::kBadVersion:
      return "bad_version";
    case PacketError::kTruncated:
      return "truncated";
    case PacketError::kBadHeaderLength:
      return "bad_header_length";
    case PacketError::kBadTotalLength:
      return "bad_total_length";
    case PacketError::kBadFragment:
      return "bad_fragment";
    case PacketError::kBadExtensionHeader:
      return "bad_extension_header";
    case PacketError::kTruncatedTransport:
      return "truncated_transport";
    case PacketError::kBadTransportHeader:
      return "bad_transport_header";
  }
  return "unknown";
}

bool Packet::icmpError() const {
  if (!has_transport || !isIcmp(*this)) return false;
  // ICMPv6 errors are types 0..127; ICMPv4 errors are these five.
  if (!isV4()) return icmp_type < 128;
  return icmp_type == 3 || icmp_type == 4 || icmp_type == 5 || icmp_type == 11 || icmp_type == 12;
}

PacketError parsePacket(std::span<uint8_t> buffer, Packet& out) {
  out = Packet{};
  if (buffer.empty()) return PacketError::kEmpty;
  switch (buffer[0] >> 4) {
    case 4:
      return parseV4(buffer, out);
    case 6:
      return parseV6(buffer, out);
    default:
      return PacketError::kBadVersion;
  }
}

void setSource(Packet& p, net::Ipv4Address a) {
  if (!p.isV4()) return;
  replaceAddress4(p, 12, a);
  p.src4 = a;
}

void setDestination(Packet& p, net::Ipv4Address a) {
  if (!p.isV4()) return;
  replaceAddress4(p, 16, a);
  p.dst4 = a;
}

void setSource(Packet& p, const net::Ipv6Address& a) {
  if (p.isV4()) return;
  replaceAddress(p, 8, a.bytes());
  p.src6 = a;
}

void setDestination(Packet& p, const net::Ipv6Address& a) {
  if (p.isV4()) return;
  replaceAddress(p, 24, a.bytes());
  p.dst6 = a;
}

void setSource(Packet& p, const IpAddress& a) {
  std::visit([&p](const auto& address) { setSource(p, address); }, a);
}

void setDestination(Packet& p, const IpAddress& a) {
  std::visit([&p](const auto& address) { setDestination(p, address); }, a);
}

void setEchoId(Packet& p, uint16_t id) {
  if (!p.echo) return;
  uint8_t* l4 = p.bytes.data() + p.l4_offset;
  uint8_t after[2];
  store16(after, id);
  store16(l4 + 2, checksumAdjust(load16(l4 + 2), std::span<const uint8_t>(l4 + 4, 2), after));
  store16(l4 + 4, id);
  p.echo_id = id;
}

}  // namespace oak::overlay
