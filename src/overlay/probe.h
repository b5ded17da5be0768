#pragma once
// RTT probes between workers, sent inside tunnel datagrams. A tunnel datagram that carries a
// packet starts with its IP version nibble (0x4_ or 0x6_); a probe starts with 0x01 (request) or
// 0x02 (reply), followed by an 8-byte sequence number and the 8-byte send time of the request in
// microseconds, both big-endian. A reply echoes the request's sequence and time, so the prober
// needs no state to compute the RTT.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace oak::overlay {

inline constexpr uint8_t kProbeRequest = 0x01;
inline constexpr uint8_t kProbeReply = 0x02;
inline constexpr size_t kProbeSize = 17;

struct Probe {
  bool reply = false;
  uint64_t sequence = 0;
  uint64_t sent_us = 0;  // the prober's clock, microseconds

  friend bool operator==(const Probe&, const Probe&) = default;
};

// Writes the probe and returns kProbeSize, or 0 if `out` is too small.
size_t encodeProbe(const Probe& probe, std::span<uint8_t> out);
// A probe of exactly kProbeSize bytes with a known type byte; nullopt otherwise.
std::optional<Probe> decodeProbe(std::span<const uint8_t> datagram);

}  // namespace oak::overlay
