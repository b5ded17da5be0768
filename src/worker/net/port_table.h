#pragma once
// What a PortMapper installed, per task: the bookkeeping shared by the nftables mapper and the
// fake, including the rule that a host port belongs to one instance at a time.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "net/ip.h"
#include "net/port_mapping.h"

namespace oak::worker {

struct InstancePorts {
  net::Ipv4Address nsip;
  std::optional<net::Ipv6Address> nsip6;
  std::vector<net::PortMapping> mappings;

  bool operator==(const InstancePorts&) const = default;
};

class PortTable {
 public:
  // kConflict if a host port (per protocol) of `mappings` is mapped by another task or appears
  // twice in `mappings`: "host port tcp/8080 is already mapped by app.instance.0".
  Status check(const std::string& task_id, const std::vector<net::PortMapping>& mappings) const;

  // Replaces the task's entry (an entry without mappings is dropped).
  void set(const std::string& task_id, InstancePorts ports);
  void erase(const std::string& task_id);
  void clear();

  const InstancePorts* find(const std::string& task_id) const;
  const std::map<std::string, InstancePorts>& entries() const { return by_task_; }

 private:
  using Key = std::pair<net::PortMapping::Protocol, uint16_t>;
  std::map<std::string, InstancePorts> by_task_;
  std::map<Key, std::string> owners_;
};

}  // namespace oak::worker
