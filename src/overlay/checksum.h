#pragma once
// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), plus big-endian loads
// and stores on packet bytes.

#include <cstddef>
#include <cstdint>
#include <span>

namespace oak::overlay {

inline uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store32(uint8_t* p, uint32_t v) {
  store16(p, static_cast<uint16_t>(v >> 16));
  store16(p + 2, static_cast<uint16_t>(v));
}
inline uint64_t load64(const uint8_t* p) {
  return (uint64_t{load32(p)} << 32) | load32(p + 4);
}
inline void store64(uint8_t* p, uint64_t v) {
  store32(p, static_cast<uint32_t>(v >> 32));
  store32(p + 4, static_cast<uint32_t>(v));
}

// Adds `bytes` as big-endian 16-bit words (an odd last byte is padded with zero) to `sum`. Fast
// enough for whole segments: eight bytes per step, in native order, swapped once at the end
// (RFC 1071 2.B).
uint64_t checksumAdd(uint64_t sum, std::span<const uint8_t> bytes);
// Folds a sum to 16 bits without complementing it: the pseudo-header sum a packet with an
// offloaded (partial) checksum carries in its checksum field.
uint16_t checksumFold(uint64_t sum);
// Folds a sum to 16 bits and complements it: the value to store in a checksum field.
uint16_t checksumFinish(uint64_t sum);

// The TCP/UDP pseudo-header (RFC 9293 3.1, RFC 8200 8.1) of a packet: its two addresses (4 or
// 16 bytes each, as in the IP header), the protocol and the transport length.
uint64_t pseudoHeaderSum(std::span<const uint8_t> source, std::span<const uint8_t> destination,
                         uint8_t protocol, uint32_t length);

// The checksum after the even-length field `before` was replaced by `after` (RFC 1624 eqn. 3,
// which never turns a correct checksum into the other zero).
uint16_t checksumAdjust(uint16_t checksum, std::span<const uint8_t> before,
                        std::span<const uint8_t> after);

}  // namespace oak::overlay
