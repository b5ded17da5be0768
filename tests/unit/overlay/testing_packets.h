#pragma once
// Packets for the overlay tests, built and checked by code independent of the library: a builder
// with correct checksums, fragmentation and reassembly, and a full checksum recomputation.

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "overlay/address.h"

namespace oak::overlay::testing {

using Bytes = std::vector<uint8_t>;

struct PacketSpec {
  IpAddress src;
  IpAddress dst;
  uint8_t protocol = 6;  // TCP
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint8_t tcp_flags = 0x02;  // SYN
  uint8_t icmp_type = 8;     // ICMP: echo request (use 128 for ICMPv6)
  uint16_t echo_id = 0;
  size_t payload = 0;  // bytes of a fixed pattern
  bool dont_fragment = true;
  bool udp_zero_checksum = false;          // IPv4 UDP without checksum
  size_t ipv4_options = 0;                 // bytes of NOP options, a multiple of 4
  std::vector<uint8_t> ipv6_extensions{};  // header types (0, 43, 60) inserted, 8 bytes each
};

Bytes buildPacket(const PacketSpec& spec);
// Splits the payload after the fixed header into fragments of `chunk` bytes (a multiple of 8).
std::vector<Bytes> fragmentPacket(std::span<const uint8_t> packet, size_t chunk, uint32_t id);
Bytes reassemble(const std::vector<Bytes>& fragments);

Bytes fromHex(std::string_view hex);
net::Ipv4Address v4(const char* text);
net::Ipv6Address v6(const char* text);

// Sets every checksum of an unfragmented packet, computed from scratch: the IPv4 header and the
// TCP/UDP/ICMP/ICMPv6 one.
void fixChecksums(Bytes& packet);
// Replaces the TCP/UDP checksum with what a packet whose checksum is offloaded carries: the
// folded pseudo-header sum, not complemented.
void makeChecksumPartial(Bytes& packet);
// Completes such a checksum, as the device would.
void completePartialChecksum(Bytes& packet);

// Every checksum recomputed from scratch: the IPv4 header, and the TCP/UDP/ICMP/ICMPv6 checksum
// of unfragmented packets.
::testing::AssertionResult checksumsValid(std::span<const uint8_t> packet);
// Same length, and equal except the address fields and the checksum fields.
::testing::AssertionResult onlyAddressesChanged(std::span<const uint8_t> before,
                                                std::span<const uint8_t> after);

}  // namespace oak::overlay::testing
