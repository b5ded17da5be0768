#include "worker/net/fake_port_mapper.h"

namespace oak::worker {

Status FakePortMapper::reset(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("reset " + subnet4.toString() + " " + subnet6.toString(), "reset"));
  table_.clear();
  active_ = true;
  return {};
}

Status FakePortMapper::add(const std::string& task_id, net::Ipv4Address nsip,
                           std::optional<net::Ipv6Address> nsip6,
                           const std::vector<net::PortMapping>& mappings) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("add " + task_id, "add"));
  OAK_TRY(table_.check(task_id, mappings));
  table_.set(task_id, InstancePorts{nsip, nsip6, mappings});
  return {};
}

Status FakePortMapper::remove(const std::string& task_id) {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("remove " + task_id, "remove"));
  table_.erase(task_id);
  return {};
}

Status FakePortMapper::teardown() {
  std::lock_guard lock(mutex_);
  OAK_TRY(log_.record("teardown", "teardown"));
  table_.clear();
  active_ = false;
  return {};
}

std::vector<std::string> FakePortMapper::calls() const {
  std::lock_guard lock(mutex_);
  return log_.calls();
}

void FakePortMapper::failNext(const std::string& method, Error error) {
  std::lock_guard lock(mutex_);
  log_.failNext(method, std::move(error));
}

std::map<std::string, InstancePorts> FakePortMapper::mappings() const {
  std::lock_guard lock(mutex_);
  return table_.entries();
}

bool FakePortMapper::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

}  // namespace oak::worker
