#pragma once
// The root's documents as tables and detail blocks for people (`-o json` prints them as they
// are). Pure functions of the documents.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <string>

namespace oak::cli {

// Cluster id → name, for showing where instances run.
using ClusterNames = std::map<std::string, std::string>;
ClusterNames clusterNames(const boost::json::array& clusters);

std::string renderApplications(const boost::json::array& applications);
std::string renderServices(const boost::json::array& services);
// Everything about one service: definition, status, addresses, instances.
std::string renderServiceDetails(const boost::json::object& service, const ClusterNames& clusters);
std::string renderClusters(const boost::json::array& clusters);

// The root has no per-worker view: workers appear as their clusters' aggregates (per
// architecture), and by name where the caller's instances run.
boost::json::object workerView(const boost::json::array& clusters,
                               const boost::json::array& services);
std::string renderWorkerView(const boost::json::object& view);

// "running/total" instances of a service, e.g. "1/2".
std::string instanceCount(const boost::json::object& service);

}  // namespace oak::cli
