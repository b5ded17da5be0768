#pragma once
// Cuts a super-packet read from a TUN device with offloads (vnet_header.h) into the packets the
// kernel would have sent without segmentation offload, for the tunnel. Every segment repeats the
// super-packet's headers with these changes: IPv4 total length, identification (+1 per segment)
// and header checksum; IPv6 payload length; TCP sequence number, FIN and PSH on the last segment
// only, CWR on the first only; UDP length; complete TCP/UDP checksums. Nothing is copied: a
// segment is its new headers, written into the caller's buffer, and a slice of the super-packet's
// payload, ready for a gather send.

#include <cstddef>
#include <cstdint>
#include <span>

#include "overlay/vnet_header.h"

namespace oak::overlay {

class Segmenter {
 public:
  // `packet` and `layout` as prepareTunRead accepted them (a super-packet); both must outlive
  // the segmenter.
  Segmenter(std::span<const uint8_t> packet, const TunRead& layout);

  size_t count() const { return count_; }
  // IP length of segment `i`: layout.header_length + its payload.
  size_t length(size_t i) const;
  // Writes the headers of segment `i` into `headers` (layout.header_length bytes) and returns
  // its payload, a part of the super-packet.
  std::span<const uint8_t> segment(size_t i, std::span<uint8_t> headers) const;

 private:
  std::span<const uint8_t> packet_;
  TunRead layout_;
  size_t count_ = 0;
  uint64_t addresses_sum_ = 0;  // pseudo-header without the length
};

}  // namespace oak::overlay
