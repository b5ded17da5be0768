#pragma once
// What a service asks of the node that runs it, read from the stored service document (the SLA
// microservice fields). Both scheduling levels read the same fields; each acts on the direct
// constraint of its own level.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "scheduler/resources.h"

namespace oak::sched {

// Latency constraints become distance limits. Light in fibre covers ~200 km per ms, so a round
// trip of t ms cannot reach farther than 100·t km: a node beyond that can never meet the target.
// Real paths are longer, so a node within it may still miss the target; without latency
// measurements this is the strongest check that never wrongly rejects a node.
inline constexpr double kKmPerRoundTripMs = 100;

struct GeoConstraint {
  GeoPoint center;
  double max_km = 0;                 // the node's edge (distance − radius_km) must be within this
  std::optional<double> latency_ms;  // set when it came from a latency constraint (for messages)
  bool operator==(const GeoConstraint&) const = default;
};

struct Requirements {
  double memory_mb = 0;            // "memory"
  double vcpus = 0;                // "vcpus"
  double vgpus = 0;                // "vgpus"
  double disk_mb = 0;              // "storage"
  std::string runtime = "docker";  // "virtualization"; "container" means "docker"
  std::vector<std::string> arch;   // the node must offer one of these ("arch"); empty: any
  // The first "direct" constraint naming a cluster (root level) ...
  std::optional<std::string> direct_cluster;
  // ... and the first naming workers ("h1;h2", cluster level); empty: any worker.
  std::vector<std::string> direct_nodes;
  std::vector<GeoConstraint> geo;  // all must hold
  bool operator==(const Requirements&) const = default;
};

// Reads the requirement fields of a service. Absent or null fields ask for nothing. "geo" and
// "latency" constraints without a `location` are ignored (there is nothing to measure against);
// with one, `threshold` (km or ms round trip) is required. Unknown constraint types are ignored.
// A unikernel must name its architectures. Errors are kUnprocessable and name the field
// ("constraints[1].location: ...").
Result<Requirements> requirementsFromService(const boost::json::object& service);

}  // namespace oak::sched
