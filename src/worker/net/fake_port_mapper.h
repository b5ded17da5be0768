#pragma once
// PortMapper in memory, for tests of the code that drives it: the same conflict rules as the
// real one (PortTable), every call recorded, injectable failures. Thread-safe.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "worker/net/fake_call_log.h"
#include "worker/net/port_mapper.h"
#include "worker/net/port_table.h"

namespace oak::worker {

class FakePortMapper final : public PortMapper {
 public:
  Status reset(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) override;
  Status add(const std::string& task_id, net::Ipv4Address nsip,
             std::optional<net::Ipv6Address> nsip6,
             const std::vector<net::PortMapping>& mappings) override;
  Status remove(const std::string& task_id) override;
  Status teardown() override;

  // Calls in order: "reset 10.18.0.0/26 fc00::/120", "add <task>", "remove <task>", "teardown".
  std::vector<std::string> calls() const;
  // The next call of `method` ("add", ...) fails with `error`, changing nothing.
  void failNext(const std::string& method, Error error);
  // Installed mappings by task id.
  std::map<std::string, InstancePorts> mappings() const;
  bool active() const;  // reset and not torn down since

 private:
  mutable std::mutex mutex_;
  FakeCallLog log_;
  PortTable table_;
  bool active_ = false;
};

}  // namespace oak::worker
