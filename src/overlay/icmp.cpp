#include "overlay/icmp.h"

#include <algorithm>
#include <cstring>

#include "overlay/checksum.h"

namespace oak::overlay {
namespace {

constexpr size_t kIcmpHeader = 8;
constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kIpv6MinMtu = 1280;
constexpr uint8_t kTtl = 64;

// Moves up to `limit` bytes of the offending packet behind the `header` bytes of the error and
// returns how many; 0 if fewer than `minimum` fit in the buffer.
size_t placeQuote(std::span<uint8_t> buffer, const Packet& p, size_t header, size_t limit,
                  size_t minimum) {
  const size_t room = buffer.size() > header ? buffer.size() - header : 0;
  const size_t quote = std::min({limit, p.bytes.size(), room});
  if (quote < minimum) return 0;
  std::memmove(buffer.data() + header, p.bytes.data(), quote);
  return quote;
}

bool mayAnswer(const Packet& p) {
  if (p.icmpError() || p.laterFragment()) return false;
  if (p.isV4()) {
    const uint32_t src = p.src4.toUint32();
    const uint32_t dst = p.dst4.toUint32();
    const bool src_ok = src != 0 && (src >> 28) != 0xe && src != 0xffffffff;
    return src_ok && (dst >> 28) != 0xe && dst != 0xffffffff;
  }
  return p.src6 != net::Ipv6Address{} && p.src6.bytes()[0] != 0xff;
}

size_t buildV4(std::span<uint8_t> buffer, const Packet& p, IcmpErrorKind kind,
               net::Ipv4Address source, uint16_t mtu) {
  const size_t header = kIpv4Header + kIcmpHeader;
  const net::Ipv4Address destination = p.src4;
  const size_t quote = placeQuote(buffer, p, header, size_t{p.l4_offset} + 8, p.l4_offset);
  if (quote == 0) return 0;
  uint8_t* b = buffer.data();

  const size_t total = header + quote;
  std::memset(b, 0, header);
  b[0] = 0x45;
  b[1] = 0xc0;  // precedence "internetwork control", as routers mark their ICMP
  store16(b + 2, static_cast<uint16_t>(total));
  b[8] = kTtl;
  b[9] = kProtoIcmp;
  store32(b + 12, source.toUint32());
  store32(b + 16, destination.toUint32());
  store16(b + 10, checksumFinish(checksumAdd(0, std::span<const uint8_t>(b, kIpv4Header))));

  uint8_t* icmp = b + kIpv4Header;
  icmp[0] = 3;
  icmp[1] = kind == IcmpErrorKind::kUnreachable ? 1 : 4;
  if (kind == IcmpErrorKind::kTooBig) store16(icmp + 6, mtu);
  store16(icmp + 2, checksumFinish(checksumAdd(0, std::span<const uint8_t>(icmp, 8 + quote))));
  return total;
}

size_t buildV6(std::span<uint8_t> buffer, const Packet& p, IcmpErrorKind kind,
               const net::Ipv6Address& source, uint16_t mtu) {
  const size_t header = kIpv6Header + kIcmpHeader;
  const net::Ipv6Address destination = p.src6;
  const size_t quote = placeQuote(buffer, p, header, kIpv6MinMtu - header, kIpv6Header);
  if (quote == 0) return 0;
  uint8_t* b = buffer.data();

  const size_t length = kIcmpHeader + quote;
  std::memset(b, 0, header);
  b[0] = 0x60;
  store16(b + 4, static_cast<uint16_t>(length));
  b[6] = kProtoIcmpv6;
  b[7] = kTtl;
  std::memcpy(b + 8, source.bytes().data(), 16);
  std::memcpy(b + 24, destination.bytes().data(), 16);

  uint8_t* icmp = b + kIpv6Header;
  icmp[0] = kind == IcmpErrorKind::kUnreachable ? 1 : 2;
  icmp[1] = kind == IcmpErrorKind::kUnreachable ? 3 : 0;
  if (kind == IcmpErrorKind::kTooBig) store32(icmp + 4, mtu);
  // Pseudo-header: both addresses, the upper-layer length and the next header.
  uint64_t sum = checksumAdd(0, std::span<const uint8_t>(b + 8, 32));
  sum += length + kProtoIcmpv6;
  store16(icmp + 2, checksumFinish(checksumAdd(sum, std::span<const uint8_t>(icmp, length))));
  return kIpv6Header + length;
}

}  // namespace

size_t buildIcmpError(std::span<uint8_t> buffer, const Packet& offending, IcmpErrorKind kind,
                      const IpAddress& source, uint16_t mtu) {
  if (offending.version == 0 || !mayAnswer(offending)) return 0;
  if (offending.isV4()) {
    const auto* v4 = std::get_if<net::Ipv4Address>(&source);
    return v4 ? buildV4(buffer, offending, kind, *v4, mtu) : 0;
  }
  const auto* v6 = std::get_if<net::Ipv6Address>(&source);
  return v6 ? buildV6(buffer, offending, kind, *v6, mtu) : 0;
}

}  // namespace oak::overlay
