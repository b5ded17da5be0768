#pragma once
// Users name applications and services as they see them in tables: by id or by name.
//
// An application: its id, its name, or NAME.NAMESPACE. A service: its id, its full name
// (app.app_ns.service.service_ns, as `oak service ls` shows it), APP.SERVICE, or its name alone.
// A name that fits several is an error that lists them.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string_view>

#include "cli/oak/root_api.h"
#include "common/result.h"

namespace oak::cli {

Result<boost::json::object> findApplication(const boost::json::array& applications,
                                            std::string_view ref);
Result<boost::json::object> findService(const boost::json::array& services, std::string_view ref);

// Through the API: an id is asked for directly (so Admins reach every user's); names are looked
// up among the caller's applications.
Result<boost::json::object> resolveApplication(RootApi& api, std::string_view ref);
Result<boost::json::object> resolveService(RootApi& api, std::string_view ref);

// Every service of the caller's applications.
Result<boost::json::array> myServices(RootApi& api);

// A service as users name it: its full name (job_name).
std::string serviceName(const boost::json::object& service);

}  // namespace oak::cli
