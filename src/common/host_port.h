#pragma once
// "HOST:PORT" and "[v6]:PORT" as flags spell them.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace oak {

// Errors name `flag`.
Result<std::pair<std::string, uint16_t>> parseHostPort(std::string_view text,
                                                       std::string_view flag);

}  // namespace oak
