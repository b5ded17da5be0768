#include "overlay/balancer.h"

#include <limits>

#include "net/address_plan.h"

namespace oak::overlay {

void RttTable::set(const TunnelEndpoint& endpoint, std::chrono::microseconds rtt) {
  if (auto it = rtt_.find(endpoint); it != rtt_.end()) {
    it->second = rtt.count();
  } else if (rtt_.size() < max_endpoints_) {
    rtt_.emplace(endpoint, rtt.count());
  }
}

void RttTable::expect(const TunnelEndpoint& endpoint) {
  if (rtt_.size() < max_endpoints_) rtt_.try_emplace(endpoint, kUnmeasured);
}

bool RttTable::sample(const TunnelEndpoint& endpoint, std::chrono::microseconds rtt) {
  auto it = rtt_.find(endpoint);
  if (it == rtt_.end()) return false;
  it->second =
      it->second == kUnmeasured ? rtt.count() : it->second + (rtt.count() - it->second) / 8;
  return true;
}

std::optional<std::chrono::microseconds> RttTable::get(const TunnelEndpoint& endpoint) const {
  auto it = rtt_.find(endpoint);
  if (it == rtt_.end() || it->second == kUnmeasured) return std::nullopt;
  return std::chrono::microseconds(it->second);
}

void Balancer::setTable(const ServiceTable* previous, const ServiceTable& next) {
  std::vector<uint64_t> counters(next.addressCount(), 0);
  if (previous != nullptr) {
    for (const Resolution& r : next.resolutions()) {
      const Resolution* old = previous->resolve(r.address);
      if (old != nullptr && old->index < counters_.size())
        counters[r.index] = counters_[old->index];
    }
  }
  counters_ = std::move(counters);
}

const InstanceRoute* Balancer::choose(const Resolution& r, bool ipv6, const RttTable& rtt) {
  auto eligible = [ipv6](const InstanceRoute& i) { return !ipv6 || i.nsip6.has_value(); };
  if (r.index >= counters_.size()) counters_.resize(r.index + 1, 0);  // a table not yet seen
  uint64_t& counter = counters_[r.index];

  // Candidates for this flow: all eligible ones (round robin, instance address) or those with
  // the lowest RTT (closest). Then the counter picks one of them.
  constexpr int64_t kWorst = std::numeric_limits<int64_t>::max();
  auto cost = [&](const InstanceRoute& i) -> int64_t {
    if (r.policy != net::kClosestPolicy) return 0;
    auto measured = rtt.get(i.host);
    return measured ? measured->count() : kWorst;
  };
  int64_t best = kWorst;
  size_t ties = 0;
  for (const InstanceRoute& i : r.instances) {
    if (!eligible(i)) continue;
    const int64_t c = cost(i);
    if (ties == 0 || c < best) {
      best = c;
      ties = 1;
    } else if (c == best) {
      ++ties;
    }
  }
  if (ties == 0) return nullptr;
  size_t pick = counter++ % ties;
  for (const InstanceRoute& i : r.instances) {
    if (eligible(i) && cost(i) == best && pick-- == 0) return &i;
  }
  return nullptr;  // not reached
}

}  // namespace oak::overlay
