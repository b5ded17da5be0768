#pragma once
// What `oak logs` reads: SERVICE or SERVICE/INSTANCE.

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::cli {

struct LogTarget {
  std::string service;
  std::optional<int64_t> instance;
};

// "nginx/2" → {"nginx", 2}; "nginx" → {"nginx", nullopt}.
Result<LogTarget> parseLogTarget(std::string_view text);

// The instance to read: the one asked for, which must exist, else the lowest-numbered one.
Result<int64_t> chooseInstance(const boost::json::object& service, std::optional<int64_t> wanted);

}  // namespace oak::cli
