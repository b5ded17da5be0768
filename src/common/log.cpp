#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace oak {

Status initLogging(std::string_view level, std::string_view format, std::string_view component) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("--log-level: '{}' is not one of trace, debug, info, warn, error, "
                                 "critical, off",
                                 level));
  }
  auto logger = spdlog::stderr_color_mt(std::string(component));
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  if (format == "json") {
    spdlog::set_pattern(
        fmt::format(
            R"({{"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"{}","msg":"%v"}})",
            component),
        spdlog::pattern_time_type::utc);
  } else if (format == "text") {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %n: %v");
  } else {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("--log-format: '{}' is not one of text, json", format));
  }
  return {};
}

}  // namespace oak
