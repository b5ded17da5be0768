#pragma once
// Process-wide logging set-up. Components log through spdlog directly; this only picks the level
// and the line format ("text" for humans, "json" for log shippers).

#include <string_view>

#include "common/result.h"

namespace oak {

Status initLogging(std::string_view level, std::string_view format, std::string_view component);

}  // namespace oak
