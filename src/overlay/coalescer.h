#pragma once
// Joins TCP segments on their way into a TUN device with offloads into super-packets, under the
// rules of the kernel's own receive offload (GRO): segments of one flow (addresses and ports),
// consecutive in sequence, with equal IP fields (TOS / traffic class and flow label, TTL / hop
// limit, DF), acknowledgement number, window and options (timestamps included), flags ACK only
// (PSH allowed on the last), a valid checksum each, the first one's payload size for all but the
// last, at most 64 KiB and kMaxSegments in all. Anything else is written as it is, after whatever
// is kept of its own flow, so every flow stays in order. The instance then receives one
// super-packet where it would have received many segments; its payload is the same.
//
// Nothing is copied: a super-packet is written as its first packet (headers updated for the
// whole) followed by the payloads of the others, in place.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "overlay/vnet_header.h"

namespace oak::overlay {

class TcpCoalescer {
 public:
  static constexpr size_t kMaxFlows = 8;  // open super-packets; the oldest goes out when full
  static constexpr size_t kMaxSegments = 64;

  // One write to the device: the header, then the pieces in order.
  struct Write {
    VnetHeader vnet;
    std::span<const std::span<const uint8_t>> pieces;
  };
  using Sink = std::function<void(const Write&)>;

  struct Counters {
    uint64_t packets = 0;        // handed to add()
    uint64_t super_packets = 0;  // written as super-packets
    uint64_t merged = 0;         // packets that went into them
    uint64_t bad_checksums = 0;  // candidates written alone for a wrong checksum
  };

  explicit TcpCoalescer(Sink sink);

  // One IP packet (exactly) for the device. It may be written at once or kept until flush(), so
  // it must stay valid and untouched until then; the first packet of a super-packet has its
  // headers rewritten.
  void add(std::span<uint8_t> packet);
  // Writes everything kept.
  void flush();
  const Counters& counters() const { return counters_; }

 private:
  struct Segment;
  struct Group {
    bool open = false;
    uint64_t age = 0;
    uint8_t* head = nullptr;
    uint8_t version = 0;
    uint16_t l4_offset = 0;
    uint16_t header_length = 0;
    uint16_t segment_size = 0;  // the first payload
    uint32_t next_sequence = 0;
    size_t length = 0;    // IP length of the super-packet so far
    bool closed = false;  // ended by PSH or a short segment
    bool psh = false;
    size_t count = 0;
    std::array<std::span<const uint8_t>, kMaxSegments> pieces{};
  };

  void writePlain(std::span<const uint8_t> packet);
  void emit(Group& g);
  Group* find(std::span<const uint8_t> packet, size_t l4_offset);
  bool append(Group& g, std::span<uint8_t> packet, const Segment& s);
  void start(std::span<uint8_t> packet, const Segment& s);

  Sink sink_;
  std::array<Group, kMaxFlows> groups_{};
  uint64_t next_age_ = 0;
  Counters counters_;
};

}  // namespace oak::overlay
