#include "overlay/checksum.h"

namespace oak::overlay {

uint64_t checksumAdd(uint64_t sum, std::span<const uint8_t> bytes) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += load16(&bytes[i]);
  if (i < bytes.size()) sum += uint64_t{bytes[i]} << 8;
  return sum;
}

uint16_t checksumFinish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t checksumAdjust(uint16_t checksum, std::span<const uint8_t> before,
                        std::span<const uint8_t> after) {
  // HC' = ~(~HC + ~m + m'), summed over every 16-bit word of the field.
  uint64_t sum = static_cast<uint16_t>(~checksum);
  for (size_t i = 0; i + 1 < before.size(); i += 2) {
    sum += static_cast<uint16_t>(~load16(&before[i]));
    sum += load16(&after[i]);
  }
  return checksumFinish(sum);
}

}  // namespace oak::overlay
