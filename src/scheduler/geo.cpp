#include "scheduler/geo.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <optional>

namespace oak::sched {

namespace {

constexpr double radians(double degrees) {
  return degrees * std::numbers::pi / 180.0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A whole decimal number in `limit`'s range; nullopt otherwise.
std::optional<double> degrees(std::string_view s, double limit) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::fixed);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d) ||
      d < -limit || d > limit) {
    return std::nullopt;
  }
  return d;
}

}  // namespace

double distanceKm(const GeoPoint& a, const GeoPoint& b) {
  double dlat = radians(b.lat - a.lat);
  double dlon = radians(b.lon - a.lon);
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(radians(a.lat)) *
                                                           std::cos(radians(b.lat)) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::sqrt(std::min(1.0, h)));
}

Result<GeoPoint> parseLatLon(std::string_view text) {
  size_t comma = text.find(',');
  std::optional<double> lat, lon;
  if (comma != std::string_view::npos) {
    lat = degrees(text.substr(0, comma), 90);
    lon = degrees(text.substr(comma + 1), 180);
  }
  if (!lat || !lon) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("expected 'lat,lon' in decimal degrees (lat -90..90, lon "
                                 "-180..180), got '{}'",
                                 text));
  }
  return GeoPoint{*lat, *lon};
}

}  // namespace oak::sched
