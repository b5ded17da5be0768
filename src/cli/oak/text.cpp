#include "cli/oak/text.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cctype>
#include <charconv>

namespace oak::cli {

namespace bj = boost::json;

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  auto bad = [&] {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("'{}' is not a duration (e.g. 90s, 5m, 1h30m)", text));
  };
  if (text.empty()) return bad();
  std::chrono::milliseconds total{0};
  std::string_view rest = text;
  while (!rest.empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || n < 0) return bad();
    rest.remove_prefix(static_cast<size_t>(p - rest.data()));
    size_t unit_len = 0;
    while (unit_len < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_len]))) {
      ++unit_len;
    }
    std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    if (unit.empty()) {
      if (!rest.empty() || total.count() != 0) return bad();
      unit = "s";
    }
    if (unit == "ms") {
      total += std::chrono::milliseconds(n);
    } else if (unit == "s") {
      total += std::chrono::seconds(n);
    } else if (unit == "m") {
      total += std::chrono::minutes(n);
    } else if (unit == "h") {
      total += std::chrono::hours(n);
    } else {
      return bad();
    }
  }
  return total;
}

std::string formatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
  int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

std::string formatNumber(double value) {
  std::string s = fmt::format("{:.2f}", value);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string formatMegabytes(double mb) {
  if (mb < 1024) return formatNumber(static_cast<double>(static_cast<int64_t>(mb))) + " MB";
  return fmt::format("{:.1f} GB", mb / 1024);
}

namespace {

void pretty(const bj::value& v, std::string& out, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(d) * 2, ' ');
  };
  if (v.is_object() && !v.get_object().empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, item] : v.get_object()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      out += bj::serialize(bj::string_view(k)) + ": ";
      pretty(item, out, depth + 1);
    }
    newline(depth);
    out += '}';
  } else if (v.is_array() && !v.get_array().empty()) {
    out += '[';
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      pretty(item, out, depth + 1);
    }
    newline(depth);
    out += ']';
  } else {
    out += bj::serialize(v);
  }
}

}  // namespace

std::string prettyJson(const bj::value& v) {
  std::string out;
  pretty(v, out, 0);
  return out;
}

}  // namespace oak::cli
