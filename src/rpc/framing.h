#pragma once
// gRPC's length-prefixed messages: a flag byte (1: compressed), a big-endian uint32 length, the
// bytes. A message may span several DATA frames and a DATA frame may carry several messages.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "rpc/channel.h"

namespace oak::rpc {

constexpr size_t kPrefixSize = 5;

// The prefix of an uncompressed message of `length` bytes (at most 4 GiB - 1).
std::array<uint8_t, kPrefixSize> messagePrefix(size_t length);
// Prefix and message in one buffer (tests and small messages).
std::string framed(std::string_view message);

// Splits a response body into messages as its bytes arrive.
class Deframer {
 public:
  explicit Deframer(size_t max_message_size) : max_message_size_(max_message_size) {}

  // Takes the next bytes of the body. False once a message cannot be taken (compressed, since we
  // never ask for compression, or larger than the limit); error() says why and the rest of the
  // body is ignored.
  bool feed(std::string_view bytes);
  // Moves the oldest complete message into `message`.
  bool next(std::string& message);
  size_t pending() const { return ready_.size(); }
  void dropReady() { ready_.clear(); }
  // Whether the body so far ends inside a message (a truncated response when the stream ends).
  bool midMessage() const { return have_ > 0; }
  const CallStatus& error() const { return error_; }
  // Ready for the next call's body; keeps the buffers' capacity.
  void reset();

 private:
  size_t max_message_size_;
  std::deque<std::string> ready_;
  std::array<uint8_t, kPrefixSize> prefix_{};
  size_t have_ = 0;  // bytes of the current prefix + message received so far
  size_t length_ = 0;
  std::string current_;
  CallStatus error_;
};

}  // namespace oak::rpc
