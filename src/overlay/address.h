#pragma once
// Addresses as the data path sees them: one IPv4-or-IPv6 value type, and the UDP endpoint of a
// worker's tunnel.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <variant>

#include "net/ip.h"

namespace oak::overlay {

using IpAddress = std::variant<net::Ipv4Address, net::Ipv6Address>;

std::string toString(const IpAddress& address);
// True for service and instance addresses (10.30.0.0/16, fdff::/16): what the proxy translates.
bool isServiceAddress(const IpAddress& address);

// 16-byte form used in hash keys: IPv4 as "::ffff:a.b.c.d" (keys also carry the family, so a
// real IPv6 address of that form cannot collide with an IPv4 one).
inline net::Ipv6Address widen(net::Ipv4Address a) {
  return net::Ipv6Address::fromUint128((net::Uint128{0xffff} << 32) | a.toUint32());
}
inline net::Ipv4Address narrow(const net::Ipv6Address& a) {
  return net::Ipv4Address(static_cast<uint32_t>(a.toUint128()));
}

// Where a worker receives tunnel datagrams (its node address and UDP port).
struct TunnelEndpoint {
  IpAddress address{};
  uint16_t port = 0;

  friend bool operator==(const TunnelEndpoint&, const TunnelEndpoint&) = default;
  std::string toString() const;  // "172.31.0.2:50103", "[fc00::1]:50103"
};

std::ostream& operator<<(std::ostream& os, const TunnelEndpoint& e);

}  // namespace oak::overlay

template <>
struct std::hash<oak::overlay::TunnelEndpoint> {
  size_t operator()(const oak::overlay::TunnelEndpoint& e) const noexcept {
    return std::hash<oak::overlay::IpAddress>{}(e.address) * 31 + e.port;
  }
};
