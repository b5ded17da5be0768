#pragma once
// The resource model shared by both scheduling levels: one schema describes a worker or a whole
// cluster (the aggregate of its workers). It travels on the wire (worker → cluster → root) and is
// served by the APIs, hence the JSON round trip.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace oak::sched {

struct GeoPoint {
  double lat = 0;  // degrees, -90..90
  double lon = 0;  // degrees, -180..180
  bool operator==(const GeoPoint&) const = default;
};

// Capacity of the part of a node built for one CPU architecture.
struct ArchCapacity {
  double cores_total = 0, cores_free = 0;
  double memory_total_mb = 0, memory_free_mb = 0;
  bool operator==(const ArchCapacity&) const = default;
};

struct Resources {
  std::string id, name;
  bool active = true;  // reported within its lease
  // Clusters cover an area around `location`; workers are points (radius 0).
  std::optional<GeoPoint> location;
  double radius_km = 0;
  // Free capacity is total * (1 - usage): never negative, never above the total.
  double cores_total = 0, cores_free = 0;
  double memory_total_mb = 0, memory_free_mb = 0;
  double gpus_total = 0, gpus_free = 0;
  double disk_total_mb = 0, disk_free_mb = 0;
  std::vector<std::string> runtimes;             // "docker", "unikernel"; sorted, unique
  std::map<std::string, ArchCapacity> per_arch;  // GOARCH name ("amd64", "arm64") → capacity
  // What a worker's runtimes say about themselves, by runtime name (the unikernel runtime:
  // "arch", "acceleration": kvm or emulation, "qemu": its version). Reported, never scheduled
  // on; empty for a cluster's aggregate.
  std::map<std::string, std::map<std::string, std::string>> capabilities;  // see Capabilities
  uint32_t nodes = 1;  // workers behind it (1 for a worker)
  bool operator==(const Resources&) const = default;
};

boost::json::object toJson(const GeoPoint& p);
boost::json::object toJson(const ArchCapacity& c);
boost::json::object toJson(const Resources& r);
// {"<runtime>": {"<key>": "<value>"}}: the `capabilities` of a report.
using Capabilities = std::map<std::string, std::map<std::string, std::string>>;
boost::json::object capabilitiesToJson(const Capabilities& capabilities);

// Validates a report. `id` is required; `name` defaults to the id; absent numbers are 0, absent
// `nodes` is 1; unknown keys are ignored so that newer senders stay readable. Runtimes come back
// sorted and unique. Errors are kUnprocessable and name the field ("per_arch.arm64.cores_free:").
Result<Resources> resourcesFromJson(const boost::json::value& v);

// A cluster's aggregate of its active workers: sums of capacities (per architecture too), the
// union of runtimes and the number of workers; location and radius are the cluster's own.
Resources aggregate(std::string id, std::string name, std::optional<GeoPoint> location,
                    double radius_km, const std::vector<Resources>& workers);

}  // namespace oak::sched
