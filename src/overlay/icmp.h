#pragma once
// ICMP errors the proxy sends back to a local instance: "destination unreachable" when a service
// address has no instance, and "fragmentation needed" / "packet too big" when a packet does not
// fit the tunnel.

#include <cstddef>
#include <cstdint>
#include <span>

#include "overlay/address.h"
#include "overlay/packet.h"

namespace oak::overlay {

enum class IcmpErrorKind {
  kUnreachable,  // v4 type 3 code 1 (host unreachable); v6 type 1 code 3 (address unreachable)
  kTooBig,       // v4 type 3 code 4 with the next-hop MTU; v6 type 2 (packet too big) with MTU
};

// Writes into `buffer` an ICMP error about `offending`, from `source` (same family) to the
// offending packet's source, and returns its length. The offending packet may lie in `buffer`
// itself (the quote is moved before the headers are written). The quote is the IPv4 header plus
// 8 bytes (RFC 792), or for IPv6 as much as keeps the error within 1280 bytes (RFC 4443); a small
// buffer shortens it further. Returns 0 when no error may be sent: the offending packet is an
// ICMP error or a non-first fragment, its source is unspecified, multicast or broadcast, the
// source given has another family, or the buffer cannot hold the headers and the IP header.
size_t buildIcmpError(std::span<uint8_t> buffer, const Packet& offending, IcmpErrorKind kind,
                      const IpAddress& source, uint16_t mtu = 0);

}  // namespace oak::overlay
