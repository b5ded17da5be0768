#include "overlay/checksum.h"

#include <bit>
#include <cstring>

namespace oak::overlay {
namespace {

// Whole segments are summed for every packet cut or joined by the offloads: worth the vector
// unit, whose instructions the x86-64 baseline lacks (a copy for AVX2 is chosen at load time).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OAK_VECTORIZED                             \
  __attribute__((target_clones("avx2", "default"), \
                 optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define OAK_VECTORIZED
#endif

// The sum of `words` 32-bit words in the machine's byte order, unfolded: one 64-bit accumulator
// takes 2^32 of them without overflowing.
OAK_VECTORIZED uint64_t sumWords(const uint8_t* p, size_t words) {
  uint64_t sum = 0;
  for (size_t i = 0; i < words; ++i) {
    uint32_t w;
    std::memcpy(&w, p + 4 * i, sizeof(w));
    sum += w;
  }
  return sum;
}

// The one's complement sum of `bytes` as 16-bit words in the machine's byte order, folded to 16
// bits (a 32-bit word is two 16-bit ones: 2^16 = 1 modulo 2^16 - 1).
uint16_t nativeSum(const uint8_t* p, size_t n) {
  uint64_t sum = sumWords(p, n / 4);
  p += n / 4 * 4;
  n %= 4;
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof(w));
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd byte is the first of a zero-padded word: its low half on a little-endian machine.
    sum += std::endian::native == std::endian::little ? uint64_t{*p} : uint64_t{*p} << 8;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

uint64_t checksumAdd(uint64_t sum, std::span<const uint8_t> bytes) {
  const uint16_t native = nativeSum(bytes.data(), bytes.size());
  if constexpr (std::endian::native == std::endian::little) {
    return sum + static_cast<uint16_t>((native >> 8) | (native << 8));
  } else {
    return sum + native;
  }
}

uint16_t checksumFold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t checksumFinish(uint64_t sum) {
  return static_cast<uint16_t>(~checksumFold(sum));
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

uint64_t pseudoHeaderSum(std::span<const uint8_t> source, std::span<const uint8_t> destination,
                         uint8_t protocol, uint32_t length) {
  uint64_t sum = checksumAdd(0, source);
  sum = checksumAdd(sum, destination);
  return sum + protocol + (length >> 16) + (length & 0xffff);
}

}  // namespace oak::overlay
