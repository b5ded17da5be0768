#pragma once
// Typed, validating field reads for the scheduler's wire formats. Every error is kUnprocessable
// and starts with the field's path ("per_arch.arm64.cores_free: must be ...").

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::sched::fields {

// "prefix.key", or "key" when the prefix is empty.
std::string join(std::string_view prefix, std::string_view key);
Error invalid(std::string_view path, std::string_view what);

// Absent or null → nullopt. Anything else must be a finite number.
Result<std::optional<double>> number(const boost::json::object& o, std::string_view key,
                                     std::string_view prefix);
// Like `number`, and >= 0.
Result<std::optional<double>> nonNegative(const boost::json::object& o, std::string_view key,
                                          std::string_view prefix);
// Absent or null → nullopt. Anything else must be a string.
Result<std::optional<std::string>> string(const boost::json::object& o, std::string_view key,
                                          std::string_view prefix);
// Absent or null → nullopt. Anything else must be an array of non-empty strings.
Result<std::optional<std::vector<std::string>>> strings(const boost::json::object& o,
                                                        std::string_view key,
                                                        std::string_view prefix);

}  // namespace oak::sched::fields
