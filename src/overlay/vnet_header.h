#pragma once
// The virtio-net header that a TUN device opened with IFF_VNET_HDR puts before every packet it
// hands out, and expects before every packet written to it. It says whether the packet's TCP/UDP
// checksum is left to the reader (partial: the field holds the pseudo-header sum only) and
// whether the packet is a super-packet of up to 64 KiB to be cut into segments (GSO). The data
// path checks every header against its packet: a wrong one is refused, never followed outside the
// packet. See docs/design/overlay.md, "Offloads".

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace oak::overlay {

inline constexpr size_t kVnetHeaderSize = 10;
// Headers repeated in every segment of a super-packet (IP with extensions, TCP with options)
// longer than this are refused; the kernel's own are at most 120 bytes without IPv6 extensions.
inline constexpr size_t kMaxSegmentHeader = 256;

struct VnetHeader {
  static constexpr uint8_t kNeedsChecksum = 1;  // the checksum is partial
  static constexpr uint8_t kDataValid = 2;      // the kernel checked the checksum (reads only)
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpV4 = 1;
  static constexpr uint8_t kGsoUdpFragments = 3;  // IP fragmentation offload: never asked for
  static constexpr uint8_t kGsoTcpV6 = 4;
  static constexpr uint8_t kGsoUdpL4 = 5;   // UDP segmentation (UDP_SEGMENT), both families
  static constexpr uint8_t kGsoEcn = 0x80;  // flag: the first segment carries CWR

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;      // headers before the payload; a hint, never trusted
  uint16_t gso_size = 0;     // payload bytes per segment
  uint16_t csum_start = 0;   // where the checksummed part starts
  uint16_t csum_offset = 0;  // where its checksum field is, counted from csum_start

  friend bool operator==(const VnetHeader&, const VnetHeader&) = default;
};

// Little-endian, which the device is switched to (TUNSETVNETLE): the same on every host.
VnetHeader decodeVnetHeader(std::span<const uint8_t, kVnetHeaderSize> bytes);
void encodeVnetHeader(const VnetHeader& header, std::span<uint8_t, kVnetHeaderSize> out);

// A packet read from the device, as its header describes it once checked.
struct TunRead {
  // A super-packet: `header_length` bytes of IP and TCP/UDP headers that every segment repeats,
  // then payload cut into segments of `segment_size` bytes (the last may be shorter). 0 for a
  // plain packet.
  uint16_t segment_size = 0;
  uint16_t header_length = 0;
  uint16_t l4_offset = 0;
  uint8_t version = 0;
  uint8_t protocol = 0;  // TCP or UDP
  bool ecn = false;      // the kGsoEcn flag

  bool isSuper() const { return segment_size != 0; }
  // IP length of its largest segment: what has to fit the MTU.
  size_t largestSegment() const { return size_t{header_length} + segment_size; }
};

enum class VnetError : uint8_t {
  kOk,
  kUnknownGsoType,     // not TCPv4, TCPv6 or UDP L4 segmentation
  kMalformed,          // not a valid packet, or the read is longer than the packet says
  kWrongProtocol,      // the GSO type names another family or transport than the packet's
  kFragment,           // a super-packet that is a fragment
  kNoPartialChecksum,  // a super-packet whose checksum is not left partial
  kBadChecksumOffset,  // csum_start/csum_offset outside the packet or not at its TCP/UDP field
  kZeroSegmentSize,    // gso_size 0
  kHeaderTooLong,      // beyond kMaxSegmentHeader
};
std::string_view toString(VnetError e);

// Checks a packet read from the device against its header. A plain packet whose checksum the
// kernel left partial gets it completed here, as does a super-packet of a single segment, so that
// the rest of the data path sees them as if read without offloads. A super-packet is described
// in `out` (its checksum stays partial). On an error nothing is changed.
VnetError prepareTunRead(const VnetHeader& header, std::span<uint8_t> packet, TunRead& out);

// The header to write a super-packet back into the device with (delivered on this worker):
// built from its checked layout, not copied from what was read.
VnetHeader vnetHeaderOf(const TunRead& layout);

// Completes a partial checksum in place: sums everything from `start` on, the field at
// `start + offset` (which holds the pseudo-header sum) included. False, and nothing changed, when
// the field is not inside the packet.
bool completeChecksum(std::span<uint8_t> packet, size_t start, size_t offset);

}  // namespace oak::overlay
