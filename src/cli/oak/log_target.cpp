#include "cli/oak/log_target.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>

#include "cli/oak/resolve.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

Result<LogTarget> parseLogTarget(std::string_view text) {
  LogTarget t;
  size_t slash = text.rfind('/');
  t.service = std::string(text.substr(0, slash));
  if (slash != std::string_view::npos) {
    std::string_view number = text.substr(slash + 1);
    int64_t n = -1;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (number.empty() || ec != std::errc() || p != number.data() + number.size() || n < 0) {
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("'{}': expected SERVICE or SERVICE/INSTANCE (a number)", text));
    }
    t.instance = n;
  }
  if (t.service.empty()) {
    return makeError(ErrorCode::kInvalidArgument, fmt::format("'{}': no service named", text));
  }
  return t;
}

Result<int64_t> chooseInstance(const bj::object& service, std::optional<int64_t> wanted) {
  std::optional<int64_t> lowest;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& i : *list) {
      if (!i.is_object()) continue;
      auto n = json::getInt(i.get_object(), "instance_number");
      if (!n) continue;
      if (wanted && *n == *wanted) return *n;
      if (!lowest || *n < *lowest) lowest = n;
    }
  }
  std::string name = serviceName(service);
  if (wanted) {
    return makeError(ErrorCode::kNotFound,
                     fmt::format("{} has no instance {} (oak service inspect {} lists them)", name,
                                 *wanted, name));
  }
  if (!lowest) {
    return makeError(ErrorCode::kNotFound, fmt::format("{} has no instances", name));
  }
  return *lowest;
}

}  // namespace oak::cli
