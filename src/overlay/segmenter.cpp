#include "overlay/segmenter.h"

#include <algorithm>
#include <cstring>

#include "overlay/checksum.h"
#include "overlay/packet.h"

namespace oak::overlay {
namespace {

constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

}  // namespace

Segmenter::Segmenter(std::span<const uint8_t> packet, const TunRead& layout)
    : packet_(packet), layout_(layout) {
  if (!layout.isSuper() || packet.size() <= layout.header_length) return;
  const size_t payload = packet.size() - layout.header_length;
  count_ = (payload + layout.segment_size - 1) / layout.segment_size;
  const bool v4 = layout.version == 4;
  const size_t at = v4 ? 12 : 8;
  const size_t size = v4 ? 4 : 16;
  addresses_sum_ = pseudoHeaderSum(packet.subspan(at, size), packet.subspan(at + size, size),
                                   layout.protocol, 0);
}

size_t Segmenter::length(size_t i) const {
  const size_t start = layout_.header_length + i * layout_.segment_size;
  return layout_.header_length + std::min<size_t>(layout_.segment_size, packet_.size() - start);
}

std::span<const uint8_t> Segmenter::segment(size_t i, std::span<uint8_t> headers) const {
  const size_t header_length = layout_.header_length;
  const size_t l4 = layout_.l4_offset;
  const size_t total = length(i);
  const auto payload =
      packet_.subspan(header_length + i * layout_.segment_size, total - header_length);
  uint8_t* h = headers.data();
  std::memcpy(h, packet_.data(), header_length);

  if (layout_.version == 4) {
    store16(h + 2, static_cast<uint16_t>(total));
    store16(h + 4, static_cast<uint16_t>(load16(h + 4) + i));
    store16(h + 10, 0);
    store16(h + 10, checksumFinish(checksumAdd(0, std::span<const uint8_t>(h, l4))));
  } else {
    store16(h + 4, static_cast<uint16_t>(total - 40));
  }

  uint8_t* t = h + l4;
  size_t checksum_at = 6;
  if (layout_.protocol == kProtoTcp) {
    store32(t + 4, static_cast<uint32_t>(load32(t + 4) + i * layout_.segment_size));
    if (i + 1 != count_) t[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (i != 0) t[13] &= static_cast<uint8_t>(~kTcpCwr);
    checksum_at = 16;
  } else {
    store16(t + 4, static_cast<uint16_t>(total - l4));
  }
  store16(t + checksum_at, 0);
  const uint32_t transport_length = static_cast<uint32_t>(total - l4);
  uint64_t sum = addresses_sum_ + (transport_length >> 16) + (transport_length & 0xffff);
  sum = checksumAdd(sum, std::span<const uint8_t>(t, header_length - l4));
  uint16_t checksum = checksumFinish(checksumAdd(sum, payload));
  if (checksum == 0 && layout_.protocol == kProtoUdp) checksum = 0xffff;
  store16(t + checksum_at, checksum);
  return payload;
}

}  // namespace oak::overlay
