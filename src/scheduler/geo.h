#pragma once
// Distances on the Earth's surface, and the "lat,lon" text form of SLA constraints.

#include <string_view>

#include "common/result.h"
#include "scheduler/resources.h"

namespace oak::sched {

inline constexpr double kEarthRadiusKm = 6371.0;

// Great-circle distance (haversine formula) on a sphere of the Earth's mean radius.
double distanceKm(const GeoPoint& a, const GeoPoint& b);

// Parses "lat,lon" in decimal degrees (spaces around either number allowed). The error message
// says what is wrong without the field name; callers prefix it.
Result<GeoPoint> parseLatLon(std::string_view text);

}  // namespace oak::sched
