#pragma once
// Validation of SLA v2.0 deployment descriptors (the bodies of `POST /api/application/` and
// `POST /api/service/`). Every failure is `kUnprocessable` with a message of the form
// "<path>: <what is wrong>", where the path names the field with dots and `[index]`, e.g.
// `applications[0].microservices[1].memory: 1.5 is not of type 'integer'`.
// Unknown properties are accepted everywhere, because users' files carry extra keys.

#include "common/result.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace oak::sla {

// Validates a whole SLA document and reports the first violation in document order (the fields
// of each object are checked in schema order, array items by index).
Status validateSla(const boost::json::value& sla);

// Validates one microservice object; `path` prefixes the messages (e.g.
// "applications[0].microservices[1]"; empty means the object is the document itself).
Status validateMicroservice(const boost::json::value& microservice, std::string_view path);

// One item of a `port` field: `host[:container][/tcp|/udp]`; the container port defaults to the
// host port and the protocol to TCP.
struct PortMapping {
  enum class Protocol { kTcp, kUdp };
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  Protocol protocol = Protocol::kTcp;

  bool operator==(const PortMapping&) const = default;
};

// Parses a `port` field such as "80", "80:80", "8080:80/udp" or "80:80/tcp;90:100/tcp". The empty
// string means no mappings. Ports are 1..65535; no whitespace is allowed anywhere.
Result<std::vector<PortMapping>> parsePorts(std::string_view spec);

// True iff `name` matches ^[a-zA-Z0-9]{1,30}$ (ASCII only; a trailing newline is not tolerated).
bool isValidName(std::string_view name);

}  // namespace oak::sla
