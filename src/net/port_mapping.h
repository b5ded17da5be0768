#pragma once
// Port mappings of a service (the SLA's `port` field): which host port forwards to which port of
// an instance. The root validates the text; workers install the mappings.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::net {

// One item of a `port` field: `host[:container][/tcp|/udp]`; the container port defaults to the
// host port and the protocol to TCP.
struct PortMapping {
  enum class Protocol { kTcp, kUdp };
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  Protocol protocol = Protocol::kTcp;

  bool operator==(const PortMapping&) const = default;
};

std::string_view protocolName(PortMapping::Protocol protocol);  // "tcp" or "udp"

// Parses a `port` field such as "80", "80:80", "8080:80/udp" or "80:80/tcp;90:100/tcp". The empty
// string means no mappings. Ports are 1..65535; no whitespace is allowed anywhere. Errors are
// kUnprocessable and name the bad item.
Result<std::vector<PortMapping>> parsePorts(std::string_view spec);

}  // namespace oak::net
