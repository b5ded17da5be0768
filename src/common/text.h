#pragma once
// Text that crosses process boundaries: RFC 3339 timestamps and UTF-8 that JSON can carry.

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace oak {

// "2026-11-22T17:10:58.123456789Z" (always 9 fraction digits, so records sort as text too).
std::string formatTimestamp(Clock::TimePoint t);
// Reads RFC 3339 timestamps in UTC ("Z") with 0 to 9 fraction digits.
std::optional<Clock::TimePoint> parseTimestamp(std::string_view text);

// Replaces every byte that is not part of a well-formed UTF-8 sequence with U+FFFD.
std::string sanitizeUtf8(std::string_view bytes);

// The length of the longest prefix of `bytes` of at most `max` bytes that does not end inside a
// UTF-8 sequence (when `bytes` is valid UTF-8; otherwise a prefix that is not shorter than
// `max - 3`).
size_t utf8Prefix(std::string_view bytes, size_t max);

}  // namespace oak
