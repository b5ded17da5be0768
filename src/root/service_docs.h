#pragma once
// How a microservice of an SLA becomes a service ("job") document, in the shape clients of the
// original API read: every SLA field kept as given, plus the fields the server derives.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace oak::root {

// "<app>.<app_ns>.<service>.<service_ns>": the service's name in the overlay and on workers.
std::string jobName(std::string_view app, std::string_view app_ns, std::string_view service,
                    std::string_view service_ns);

// Builds a new service document for `microservice` (already validated) of application `app`.
boost::json::object newServiceDoc(const boost::json::object& microservice,
                                  const boost::json::object& app, const std::string& id);

// Replaces the SLA part of `current` with `microservice`, keeping the fields the server owns
// (ids, instances, status, addresses).
boost::json::object replaceServiceDefinition(const boost::json::object& current,
                                             const boost::json::object& microservice);

// Recomputes the fields derived from the SLA part (image, virtualization, names).
void deriveServiceFields(boost::json::object& service, const boost::json::object& app);

}  // namespace oak::root
