#include "worker/net/port_table.h"

#include <fmt/format.h>

#include <set>

namespace oak::worker {
namespace {

std::string portName(const net::PortMapping& m) {
  return fmt::format("{}/{}", net::protocolName(m.protocol), m.host_port);
}

}  // namespace

Status PortTable::check(const std::string& task_id,
                        const std::vector<net::PortMapping>& mappings) const {
  std::set<Key> seen;
  for (const net::PortMapping& m : mappings) {
    const Key key{m.protocol, m.host_port};
    if (!seen.insert(key).second) {
      return makeError(ErrorCode::kConflict,
                       fmt::format("host port {} is mapped twice by {}", portName(m), task_id));
    }
    auto owner = owners_.find(key);
    if (owner != owners_.end() && owner->second != task_id) {
      return makeError(ErrorCode::kConflict, fmt::format("host port {} is already mapped by {}",
                                                         portName(m), owner->second));
    }
  }
  return {};
}

void PortTable::set(const std::string& task_id, InstancePorts ports) {
  erase(task_id);
  if (ports.mappings.empty()) return;
  for (const net::PortMapping& m : ports.mappings) owners_[{m.protocol, m.host_port}] = task_id;
  by_task_.emplace(task_id, std::move(ports));
}

void PortTable::erase(const std::string& task_id) {
  auto it = by_task_.find(task_id);
  if (it == by_task_.end()) return;
  for (const net::PortMapping& m : it->second.mappings) owners_.erase({m.protocol, m.host_port});
  by_task_.erase(it);
}

void PortTable::clear() {
  by_task_.clear();
  owners_.clear();
}

const InstancePorts* PortTable::find(const std::string& task_id) const {
  auto it = by_task_.find(task_id);
  return it == by_task_.end() ? nullptr : &it->second;
}

}  // namespace oak::worker
