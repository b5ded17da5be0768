#pragma once
// The root's documents as tables and detail blocks for people (`-o json` prints them as they
// are). Pure functions of the documents.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <utility>

#include "common/clock.h"

namespace oak::cli {

// Cluster id → name, for showing where instances run.
using ClusterNames = std::map<std::string, std::string>;
ClusterNames clusterNames(const boost::json::array& clusters);

std::string renderApplications(const boost::json::array& applications);
std::string renderServices(const boost::json::array& services);
// Everything about one service: definition, status, addresses, instances.
std::string renderServiceDetails(const boost::json::object& service, const ClusterNames& clusters);
std::string renderClusters(const boost::json::array& clusters);

// How many of `services`' instances run on each worker, by (cluster id, worker name).
using WorkerInstances = std::map<std::pair<std::string, std::string>, int64_t>;
WorkerInstances instancesPerWorker(const boost::json::array& services);
// GET /api/workers as a table; `instances` fills the YOUR INSTANCES column.
std::string renderWorkers(const boost::json::array& workers, const WorkerInstances& instances);
// GET /api/alerts as a table; FOR is how long each has been active at `now`.
std::string renderAlerts(const boost::json::array& alerts, Clock::TimePoint now);
// One control-plane record as a line: "<time> <level> <component node@cluster>: <msg>".
std::string renderControlRecord(const boost::json::object& record);

// "running/total" instances of a service, e.g. "1/2".
std::string instanceCount(const boost::json::object& service);

}  // namespace oak::cli
