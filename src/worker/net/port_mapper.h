#pragma once
// Host port mappings of instances and the NAT around the bridge. A mapping forwards traffic that
// is addressed to this host (any of its addresses except loopback) on a host port to an
// instance's port; overlay traffic to other instances on the same port is left alone. Calls are
// synchronous (run them off the event loop).

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/ip.h"
#include "net/port_mapping.h"

namespace oak::worker {

class PortMapper {
 public:
  virtual ~PortMapper() = default;

  // At worker start: (re)creates the rules with no mappings: masquerade for instance traffic
  // leaving the host, hairpin NAT for instances reaching mapped ports of the host, forwarding
  // for the bridge and the TUN. The worker then re-adds the mappings of recovered instances.
  virtual Status reset(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) = 0;

  // Maps the host ports of one instance (IPv4 to nsip, IPv6 to nsip6 when given). A host port
  // already mapped by another instance is a kConflict naming it; nothing is then changed. Adding
  // again for the same task id replaces its mappings.
  virtual Status add(const std::string& task_id, net::Ipv4Address nsip,
                     std::optional<net::Ipv6Address> nsip6,
                     const std::vector<net::PortMapping>& mappings) = 0;

  // Removes what `add` installed for the task; ok if there is nothing.
  virtual Status remove(const std::string& task_id) = 0;

  // Removes every rule (worker shutdown with clean-up).
  virtual Status teardown() = 0;
};

}  // namespace oak::worker
