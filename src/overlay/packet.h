#pragma once
// A parsed view of one IPv4 or IPv6 packet inside a caller-owned buffer, and in-place rewriting
// of its addresses with incrementally updated checksums. Nothing here copies or allocates: the
// data path parses every packet it reads from the TUN device or the tunnel.

#include <cstdint>
#include <span>
#include <string_view>

#include "net/ip.h"
#include "overlay/address.h"

namespace oak::overlay {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;

// Why a buffer is not a packet we accept.
enum class PacketError : uint8_t {
  kOk,
  kEmpty,
  kBadVersion,          // first nibble neither 4 nor 6
  kTruncated,           // shorter than the fixed header or than its own length field says
  kBadHeaderLength,     // IPv4 IHL < 5 or beyond the total length
  kBadTotalLength,      // IPv4 total length smaller than the header
  kBadFragment,         // fragment reaching past 65535 bytes, or a second Fragment header
  kBadExtensionHeader,  // IPv6 extension header chain truncated, too long or misplaced
  kTruncatedTransport,  // TCP/UDP/ICMP header cut short (also in a first fragment)
  kBadTransportHeader,  // TCP data offset < 5, UDP length inconsistent
};
std::string_view toString(PacketError e);

struct Packet {
  std::span<uint8_t> bytes;  // exactly the packet (its length field), inside the caller's buffer
  uint8_t version = 0;       // 4 or 6
  uint8_t protocol = 0;      // IPv4 protocol, or IPv6 next header after the extension headers
  uint16_t l4_offset = 0;    // where the transport header starts
  // The transport header (TCP, UDP, ICMP, ICMPv6) is in this packet: false for non-first
  // fragments and for other protocols.
  bool has_transport = false;

  net::Ipv4Address src4, dst4;  // version 4
  net::Ipv6Address src6, dst6;  // version 6

  uint16_t src_port = 0, dst_port = 0;  // TCP and UDP
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0, icmp_code = 0;  // ICMP and ICMPv6
  bool echo = false;                     // an echo request or reply; `echo_id` is valid
  uint16_t echo_id = 0;

  bool dont_fragment = false;    // IPv4 DF
  bool fragment = false;         // part of a fragmented datagram (not an atomic fragment)
  bool more_fragments = false;   // MF / M
  uint16_t fragment_offset = 0;  // in bytes
  uint32_t fragment_id = 0;      // IPv4 identification (16 bits) or IPv6 Fragment header id

  // Set by the caller, not by parsing: the TCP/UDP checksum field holds the pseudo-header sum
  // only, to be completed by whoever sends the packet (an offloaded checksum, vnet_header.h).
  // Rewriting keeps it so, as the kernel does for CHECKSUM_PARTIAL.
  bool partial_checksum = false;

  bool isV4() const { return version == 4; }
  bool firstFragment() const { return fragment && fragment_offset == 0; }
  bool laterFragment() const { return fragment && fragment_offset != 0; }
  IpAddress source() const { return isV4() ? IpAddress(src4) : IpAddress(src6); }
  IpAddress destination() const { return isV4() ? IpAddress(dst4) : IpAddress(dst6); }
  // ICMP error messages (never answered with another one).
  bool icmpError() const;
};

// Parses the packet at the start of `buffer` (which may be longer than the packet) into `out`.
// Walks the IPv6 extension headers hop-by-hop, routing, destination options and fragment.
PacketError parsePacket(std::span<uint8_t> buffer, Packet& out);

// Rewrite an address in place, updating the IPv4 header checksum and the transport checksum
// (TCP, UDP, ICMPv6; an IPv4 UDP checksum of 0 means "none" and stays 0; ICMPv4 covers no
// addresses; a partial checksum stays a partial one). The family must be the packet's; the parsed
// fields follow the change.
void setSource(Packet& p, net::Ipv4Address a);
void setSource(Packet& p, const net::Ipv6Address& a);
void setDestination(Packet& p, net::Ipv4Address a);
void setDestination(Packet& p, const net::Ipv6Address& a);
// The same for an IpAddress; one of another family than the packet's is ignored.
void setSource(Packet& p, const IpAddress& a);
void setDestination(Packet& p, const IpAddress& a);
// Rewrites the identifier of an ICMP/ICMPv6 echo (p.echo), with its checksum.
void setEchoId(Packet& p, uint16_t id);

}  // namespace oak::overlay
