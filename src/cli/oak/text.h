#pragma once
// Small conversions between values and what people type and read.

#include <boost/json/value.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::cli {

// "90", "90s", "5m", "1h30m", "500ms" (a plain number is seconds).
Result<std::chrono::milliseconds> parseDuration(std::string_view text);
// "850ms", "4.2s", "2m05s", "1h02m".
std::string formatDuration(std::chrono::milliseconds d);
// Megabytes as people read them: "512 MB", "23.5 GB".
std::string formatMegabytes(double mb);
// A number without needless decimals: 2 → "2", 1.5 → "1.5", 1.25 → "1.25".
std::string formatNumber(double value);
// Indented JSON, for `-o json`.
std::string prettyJson(const boost::json::value& v);

}  // namespace oak::cli
