#pragma once
// Validation of SLA v2.0 deployment descriptors (the bodies of `POST /api/application/` and
// `POST /api/service/`). Every failure is `kUnprocessable` with a message of the form
// "<path>: <what is wrong>", where the path names the field with dots and `[index]`, e.g.
// `applications[0].microservices[1].memory: 1.5 is not of type 'integer'`.
// Unknown properties are accepted everywhere, because users' files carry extra keys.

#include "common/result.h"

#include <boost/json/value.hpp>

#include <string_view>

namespace oak::sla {

// Validates a whole SLA document and reports the first violation in document order (the fields
// of each object are checked in schema order, array items by index).
Status validateSla(const boost::json::value& sla);

// Validates one microservice object; `path` prefixes the messages (e.g.
// "applications[0].microservices[1]"; empty means the object is the document itself).
Status validateMicroservice(const boost::json::value& microservice, std::string_view path);

// True iff `name` matches ^[a-zA-Z0-9]{1,30}$ (ASCII only; a trailing newline is not tolerated).
bool isValidName(std::string_view name);

}  // namespace oak::sla
