#include "overlay/kernel_plan.h"

#include <limits>
#include <set>
#include <variant>

#include "net/address_plan.h"

namespace oak::overlay {

std::array<uint8_t, 6> vxlanMac(const net::Ipv4Prefix& subnet4) {
  const auto o = subnet4.first().octets();
  return {0x02, 0x6f, o[0], o[1], o[2], o[3]};
}

int vxlanMtu(int overlay_mtu, bool ipv6_underlay) {
  return ipv6_underlay ? overlay_mtu - 20 : overlay_mtu;
}

net::Ipv6Address PeerWorker::gateway6() const {
  const uint32_t s = subnet4.first().toUint32();
  return net::Ipv6Address::fromHextets(
      {0xfe80, 0, 0, 0, 0, 0x6f, static_cast<uint16_t>(s >> 16), static_cast<uint16_t>(s)});
}

namespace {

bool sameFamily(const IpAddress& a, const IpAddress& b) {
  return a.index() == b.index();
}

class Planner {
 public:
  Planner(const ServiceTable& table, const KernelPlanContext& context)
      : table_(table), context_(context) {}

  KernelPlan run() {
    for (const LocalInstance& l : table_.locals()) {
      plan_.snat4[l.nsip] = l.instance_ip;
      if (l.nsip6) plan_.snat6[*l.nsip6] = l.instance_ip6;
    }
    for (const JobRoutes& job : table_.jobs()) {
      for (const InstanceRoute& i : job.instances) addRemote(i);
    }
    dropRoutesOfRefusedPeers();
    for (const Resolution& r : table_.resolutions()) addAddress(r);
    plan_.unreachable_peers = refused_.size();
    return std::move(plan_);
  }

 private:
  bool isLocal(const InstanceRoute& i) const { return context_.subnet4.contains(i.nsip); }

  // A remote instance: its worker becomes a peer, its instance addresses get routes there.
  void addRemote(const InstanceRoute& i) {
    if (isLocal(i)) return;
    const net::Ipv4Prefix subnet4(i.nsip, kWorkerSubnet4Length);
    const net::Ipv4Address key = subnet4.first();
    if (refused_.count(key)) return;
    if (!sameFamily(i.host.address, context_.self.address)) {
      refused_.insert(key);
      plan_.peers.erase(key);
      return;
    }
    auto [it, added] = plan_.peers.try_emplace(key, PeerWorker{subnet4, std::nullopt, i.host});
    PeerWorker& peer = it->second;
    if (!added && peer.endpoint != i.host) {
      // Two endpoints claim one subnet (a worker that moved, or a stale route): trust neither.
      refused_.insert(key);
      plan_.peers.erase(it);
      return;
    }
    if (i.nsip6 && !peer.subnet6) peer.subnet6 = net::Ipv6Prefix(*i.nsip6, kWorkerSubnet6Length);
    plan_.routes4[i.instance_ip] = peer.gateway4();
    plan_.routes6[i.instance_ip6] = peer.gateway6();
  }

  // A peer refused after some of its instances were seen leaves routes to nowhere behind.
  void dropRoutesOfRefusedPeers() {
    std::set<net::Ipv4Address> gateways4;
    std::set<net::Ipv6Address> gateways6;
    for (const auto& [key, peer] : plan_.peers) {
      gateways4.insert(peer.gateway4());
      gateways6.insert(peer.gateway6());
    }
    std::erase_if(plan_.routes4, [&](const auto& r) { return !gateways4.count(r.second); });
    std::erase_if(plan_.routes6, [&](const auto& r) { return !gateways6.count(r.second); });
  }

  bool reachable(const InstanceRoute& i) const {
    return isLocal(i) || plan_.peers.count(net::Ipv4Prefix(i.nsip, kWorkerSubnet4Length).first());
  }

  int64_t cost(const Resolution& r, const InstanceRoute& i) const {
    if (r.policy != net::kClosestPolicy || isLocal(i)) return 0;
    if (!context_.rtt) return 1;
    auto measured = context_.rtt->get(i.host);
    return measured ? measured->count() : std::numeric_limits<int64_t>::max();
  }

  void addAddress(const Resolution& r) {
    const bool v6 = std::holds_alternative<net::Ipv6Address>(r.address);
    std::vector<const InstanceRoute*> candidates;
    int64_t best = std::numeric_limits<int64_t>::max();
    for (const InstanceRoute& i : r.instances) {
      if ((v6 && !i.nsip6) || !reachable(i)) continue;
      const int64_t c = cost(r, i);
      if (candidates.empty() || c < best) {
        candidates.clear();
        best = c;
      }
      if (c == best) candidates.push_back(&i);
    }
    if (candidates.empty()) return;  // unknown to the kernel: the proxy answers "unreachable"
    if (v6) {
      auto& targets = plan_.dnat6[std::get<net::Ipv6Address>(r.address)];
      for (const InstanceRoute* i : candidates) targets.push_back(*i->nsip6);
    } else {
      auto& targets = plan_.dnat4[std::get<net::Ipv4Address>(r.address)];
      for (const InstanceRoute* i : candidates) targets.push_back(i->nsip);
    }
  }

  const ServiceTable& table_;
  const KernelPlanContext& context_;
  KernelPlan plan_;
  std::set<net::Ipv4Address> refused_;
};

template <typename Address>
void collectGone(const std::map<Address, std::vector<Address>>& before,
                 const std::map<Address, std::vector<Address>>& after, std::vector<Address>& out) {
  std::set<Address> kept;
  for (const auto& [address, targets] : after) kept.insert(targets.begin(), targets.end());
  std::set<Address> gone;
  for (const auto& [address, targets] : before) {
    for (const Address& t : targets) {
      if (!kept.count(t)) gone.insert(t);
    }
  }
  out.assign(gone.begin(), gone.end());
}

}  // namespace

KernelPlan planKernel(const ServiceTable& table, const KernelPlanContext& context) {
  return Planner(table, context).run();
}

GoneTargets goneTargets(const KernelPlan& before, const KernelPlan& after) {
  GoneTargets gone;
  collectGone(before.dnat4, after.dnat4, gone.v4);
  collectGone(before.dnat6, after.dnat6, gone.v6);
  return gone;
}

}  // namespace oak::overlay
