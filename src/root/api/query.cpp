#include "root/api/query.h"

#include <fmt/format.h>

#include <charconv>

namespace oak::root::api {

Result<int64_t> integerParam(std::string_view text, std::string_view name) {
  int64_t n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) {
    return makeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: '{}' is not a non-negative integer", name, text.substr(0, 32)));
  }
  return n;
}

Result<bool> boolParam(const http::Request& req, std::string_view name, bool fallback) {
  auto v = req.queryParam(name);
  if (!v) return fallback;
  if (*v != "true" && *v != "false") {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: '{}' is neither true nor false", name, v->substr(0, 32)));
  }
  return *v == "true";
}

}  // namespace oak::root::api
