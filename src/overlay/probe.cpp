#include "overlay/probe.h"

#include "overlay/checksum.h"

namespace oak::overlay {

size_t encodeProbe(const Probe& probe, std::span<uint8_t> out) {
  if (out.size() < kProbeSize) return 0;
  out[0] = probe.reply ? kProbeReply : kProbeRequest;
  store64(&out[1], probe.sequence);
  store64(&out[9], probe.sent_us);
  return kProbeSize;
}

std::optional<Probe> decodeProbe(std::span<const uint8_t> datagram) {
  if (datagram.size() != kProbeSize) return std::nullopt;
  if (datagram[0] != kProbeRequest && datagram[0] != kProbeReply) return std::nullopt;
  return Probe{datagram[0] == kProbeReply, load64(&datagram[1]), load64(&datagram[9])};
}

}  // namespace oak::overlay
