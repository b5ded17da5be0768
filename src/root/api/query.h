#pragma once
// Query parameters of the root's API, checked: errors are 400s that name the parameter.

#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace oak::root::api {

// A non-negative decimal integer.
Result<int64_t> integerParam(std::string_view text, std::string_view name);
// "true" or "false"; `fallback` when absent.
Result<bool> boolParam(const http::Request& req, std::string_view name, bool fallback);

}  // namespace oak::root::api
