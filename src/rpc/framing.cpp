#include "rpc/framing.h"

#include <fmt/format.h>

#include <algorithm>

namespace oak::rpc {

std::array<uint8_t, kPrefixSize> messagePrefix(size_t length) {
  auto n = static_cast<uint32_t>(length);
  return {0, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
          static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
}

std::string framed(std::string_view message) {
  auto prefix = messagePrefix(message.size());
  std::string out(prefix.begin(), prefix.end());
  out.append(message);
  return out;
}

bool Deframer::feed(std::string_view bytes) {
  if (!error_.ok()) return false;
  while (!bytes.empty()) {
    if (have_ < kPrefixSize) {
      size_t n = std::min(kPrefixSize - have_, bytes.size());
      std::copy_n(bytes.begin(), n, prefix_.begin() + have_);
      have_ += n;
      bytes.remove_prefix(n);
      if (have_ < kPrefixSize) return true;
      if (prefix_[0] != 0) {
        error_ = {prefix_[0] == 1 ? StatusCode::kUnimplemented : StatusCode::kInternal,
                  fmt::format("response message with flags {:#x}: compressed messages are not "
                              "supported",
                              prefix_[0])};
        return false;
      }
      length_ = size_t{prefix_[1]} << 24 | size_t{prefix_[2]} << 16 | size_t{prefix_[3]} << 8 |
                size_t{prefix_[4]};
      if (length_ > max_message_size_) {
        error_ = {StatusCode::kResourceExhausted,
                  fmt::format("response message of {} bytes exceeds the limit of {} bytes", length_,
                              max_message_size_)};
        return false;
      }
      current_.clear();
      if (length_ > bytes.size()) current_.reserve(length_);
    }
    size_t n = std::min(length_ - (have_ - kPrefixSize), bytes.size());
    current_.append(bytes.substr(0, n));
    have_ += n;
    bytes.remove_prefix(n);
    if (have_ == kPrefixSize + length_) {
      ready_.push_back(std::move(current_));
      have_ = 0;
    }
  }
  return true;
}

bool Deframer::next(std::string& message) {
  if (ready_.empty()) return false;
  message = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void Deframer::reset() {
  ready_.clear();
  have_ = 0;
  length_ = 0;
  current_.clear();
  error_ = {};
}

}  // namespace oak::rpc
