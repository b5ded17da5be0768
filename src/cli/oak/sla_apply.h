#pragma once
// `oak apply`: an SLA file made real. New applications are created with their services; for an
// application of the same name and namespace that exists already, the services it lacks are
// added and the others left as they are. Every service of the SLA without an instance gets one.
// Applying the same file twice therefore changes nothing the second time.

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cli/oak/deployment_watch.h"
#include "cli/oak/root_api.h"

namespace oak::cli {

// Reads an SLA with the checks that need no server: JSON, an object whose `applications` are
// objects with a name, a namespace and `microservices` that have names. The root checks the rest
// (its messages name the field).
Result<boost::json::object> readSla(const std::string& path);

// Applies `sla` (from readSla), telling `report` each step; returns what to wait for.
Result<std::vector<WatchTarget>> applySla(RootApi& api, const boost::json::object& sla,
                                          const std::function<void(const std::string&)>& report);

}  // namespace oak::cli
