#include "worker/overlay/kernel_path.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "overlay/icmp.h"
#include "overlay/kernel_plan.h"
#include "overlay/kernel_rules.h"
#include "overlay/packet.h"
#include "worker/net/conntrack.h"
#include "worker/net/netlink.h"
#include "worker/net/nft.h"
#include "worker/overlay/inbox.h"
#include "worker/overlay/pinger.h"

namespace oak::worker {

namespace {

constexpr size_t kMaxPacket = 65535;
constexpr size_t kIcmpRoom = 2048;
constexpr size_t kReadsPerWake = 64;
constexpr auto kHousekeepingEvery = std::chrono::seconds(1);
// A packet for an address the kernel translates can still reach the device just after the
// address was programmed (it was routed before): written back once. Later ones mean the kernel
// cannot deliver it (a loop), and get "unreachable".
constexpr auto kRaceWindow = std::chrono::seconds(2);

std::string key(const overlay::IpAddress& address) {
  return overlay::toString(address);
}

uint64_t micros(Clock::TimePoint t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

// In `nft list counters` output, "counter <name> {" ... "packets 12 bytes 840" → 12.
uint64_t packetsOf(const std::string& listing, const std::string& name) {
  const size_t counter = listing.find("counter " + name + " {");
  if (counter == std::string::npos) return 0;
  const size_t at = listing.find("packets ", counter);
  if (at == std::string::npos) return 0;
  return std::strtoull(listing.c_str() + at + 8, nullptr, 10);
}

enum RouteStep { kRemove, kAdd };

// The routes to instance addresses through the VXLAN device's peers, from `before` to `after`:
// first removing those that went (kRemove), later adding new and changed ones (kAdd). The first
// error, if any; the others are tried anyway.
template <typename Address>
Status syncRoutes(nl::Socket& sock, rtnl_link* link, const std::map<Address, Address>& before,
                  const std::map<Address, Address>& after, RouteStep step) {
  Status first;
  auto note = [&first](Status s) {
    if (!s && first) first = std::move(s);
  };
  if (step == kRemove) {
    for (const auto& [address, gateway] : before) {
      if (!after.count(address)) note(nl::deleteRoute(sock, link, nl::toNlAddr(address).get()));
    }
    return first;
  }
  for (const auto& [address, gateway] : after) {
    auto old = before.find(address);
    if (old != before.end() && old->second == gateway) continue;
    nl::Route r{nl::toNlAddr(address), nl::toNlAddr(gateway), std::nullopt};
    r.onlink = true;
    note(nl::replaceRoute(sock, link, r));
  }
  return first;
}

// Stamps the addresses `after` translates and `before` did not with `now`.
template <typename Address, typename Targets>
void noteProgrammed(const std::map<Address, Targets>& before,
                    const std::map<Address, Targets>& after, Clock::TimePoint now,
                    std::map<overlay::IpAddress, Clock::TimePoint>& programmed_at) {
  for (const auto& [address, targets] : after) {
    if (!before.count(address)) programmed_at[overlay::IpAddress(address)] = now;
  }
}

}  // namespace

struct KernelPath::Impl {
  Impl(UniqueFd tun_fd, KernelPathOptions o, const Clock& c, QueryHook q)
      : tun(std::move(tun_fd)), options(std::move(o)), clock(c), query_hook(std::move(q)) {
    rules.table = options.nft_table;
    rules.vxlan = options.vxlan;
    rules.subnet4 = options.subnet4;
    rules.subnet6 = options.subnet6;
    rules.port = options.self.port;
    rules.vni = options.vni;
  }

  struct Waiting {
    std::deque<std::vector<uint8_t>> packets;
    overlay::IpAddress address;
    Clock::TimePoint since;
  };

  UniqueFd tun;
  std::optional<Pinger> pinger;
  Inbox inbox;
  KernelPathOptions options;
  overlay::KernelRulesConfig rules;
  const Clock& clock;
  QueryHook query_hook;
  std::optional<nl::Socket> sock;
  int vxlan_ifindex = 0;
  std::thread thread;

  // Thread-owned.
  std::shared_ptr<const overlay::ServiceTable> table;
  overlay::KernelPlan applied;
  std::map<overlay::IpAddress, Clock::TimePoint> programmed_at;
  overlay::RttTable rtt;
  overlay::ProxyCounters counters;
  uint64_t kernel_garbage = 0, kernel_tunnel_drops = 0, kernel_host_drops = 0, device_errors = 0;
  std::map<std::string, Waiting> held;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(kMaxPacket + kIcmpRoom);
  uint16_t probe_sequence = 0;
  Clock::TimePoint last_probe{};
  Clock::TimePoint last_housekeeping{};

  Status setUp();
  void run();
  void applyInbox();
  void removeFromKernel();
  void replan();
  Status programPeers(const overlay::KernelPlan& next);
  Status programRules(const overlay::KernelPlan& next);
  void forgetGone(const overlay::KernelPlan& next);
  void readTun();
  void onMiss(size_t length);
  bool programmed(const overlay::IpAddress& address) const;
  void hold(const overlay::IpAddress& address, std::span<const uint8_t> packet);
  void release(const std::string& address, bool answered_not_found);
  void unreachable(std::span<uint8_t> buffer, size_t length);
  void writeTun(std::span<const uint8_t> packet);
  void expireHeld();
  void probePeers();
  void readProbes();
  void readKernelCounters();
  void publish();
};

Status KernelPath::Impl::setUp() {
  nl::VxlanConfig vx;
  vx.name = options.vxlan;
  vx.vni = options.vni;
  vx.port = options.self.port;
  vx.local = options.self.address;
  vx.mtu = overlay::vxlanMtu(options.mtu,
                             std::holds_alternative<net::Ipv6Address>(options.self.address));
  vx.mac = overlay::vxlanMac(options.subnet4);
  // A device left by an earlier run still holds that run's peers and routes, which this one does
  // not know: start from a new one. Established connections pause until their peers are back.
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr old, nl::findLink(*sock, options.vxlan));
  if (old) OAK_TRY(nl::deleteLink(*sock, old.get()));
  OAK_TRY(nl::ensureVxlan(*sock, vx));
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(*sock, options.vxlan));
  if (!link) return makeError(ErrorCode::kInternal, "VXLAN device " + options.vxlan + " vanished");
  vxlan_ifindex = rtnl_link_get_ifindex(link.get());
  OAK_TRY(runNft(overlay::kernelTableScript(rules), "create nftables table inet " + rules.table));
  const bool ipv6 = std::holds_alternative<net::Ipv6Address>(options.self.address);
  OAK_ASSIGN_OR_RETURN(Pinger p, Pinger::open(ipv6, static_cast<uint16_t>(std::random_device{}())));
  pinger.emplace(std::move(p));
  OAK_TRY(inbox.open());
  const int flags = ::fcntl(tun.get(), F_GETFL);
  ::fcntl(tun.get(), F_SETFL, flags | O_NONBLOCK);
  return {};
}

Result<std::unique_ptr<KernelPath>> KernelPath::start(UniqueFd tun, KernelPathOptions options,
                                                      const Clock& clock, QueryHook query) {
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  auto impl = std::make_unique<Impl>(std::move(tun), std::move(options), clock, std::move(query));
  impl->sock.emplace(std::move(sock));
  if (Status set_up = impl->setUp(); !set_up) {
    impl->removeFromKernel();  // what was made before the failure
    return set_up.error();
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<KernelPath>(new KernelPath(std::move(impl)));
}

Status KernelPath::removeLeftovers(const std::string& vxlan, const std::string& nft_table) {
  OAK_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::open());
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(sock, vxlan));
  if (link && nl::isKind(link.get(), "vxlan")) OAK_TRY(nl::deleteLink(sock, link.get()));
  return runNft(fmt::format("add table inet {0}\ndelete table inet {0}\n", nft_table),
                "remove nftables table inet " + nft_table);
}

KernelPath::KernelPath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KernelPath::~KernelPath() {
  impl_->inbox.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void KernelPath::setTable(std::shared_ptr<const overlay::ServiceTable> table) {
  impl_->inbox.setTable(std::move(table));
}

void KernelPath::queryDone(const std::string& address, bool found) {
  impl_->inbox.queryDone(address, found);
}

overlay::ProxyCounters KernelPath::counters() const {
  return impl_->inbox.counters();
}

uint64_t KernelPath::tablesApplied() const {
  return impl_->inbox.tablesApplied();
}

void KernelPath::Impl::run() {
  std::array<pollfd, 3> fds{pollfd{tun.get(), POLLIN, 0}, pollfd{pinger->fd(), POLLIN, 0},
                            pollfd{inbox.fd(), POLLIN, 0}};
  while (!inbox.stopping()) {
    const int timeout_ms = held.empty() ? 1000 : 100;
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("{}", errnoText("kernel data path poll"));
      return;
    }
    if (fds[2].revents & POLLIN) applyInbox();
    if (fds[0].revents & POLLIN) readTun();
    if (fds[1].revents & POLLIN) readProbes();
    const auto now = clock.now();
    if (!held.empty()) expireHeld();
    if (now - last_housekeeping >= kHousekeepingEvery) {
      last_housekeeping = now;
      readKernelCounters();
      publish();
    }
    if (now - last_probe >= kProbeEvery) {
      last_probe = now;
      probePeers();
    }
  }
  publish();
  removeFromKernel();
}

void KernelPath::Impl::removeFromKernel() {
  // Here, on the thread that lives in the worker's network namespace (nftables acts on the
  // caller's). Established connections between instances stop until a worker runs again.
  Status s = removeLeftovers(options.vxlan, rules.table);
  if (!s) spdlog::warn("overlay: {}", s.error().message);
}

void KernelPath::Impl::applyInbox() {
  auto [fresh, done] = inbox.take();
  if (fresh) {
    table = std::move(fresh);
    replan();
    inbox.tableApplied();
  }
  for (const auto& [address, found] : done) release(address, !found);
}

void KernelPath::Impl::replan() {
  if (!table) return;
  overlay::KernelPlanContext context{options.subnet4, options.subnet6, options.self, &rtt};
  overlay::KernelPlan next = overlay::planKernel(*table, context);
  if (next != applied) {
    if (next.unreachable_peers != applied.unreachable_peers && next.unreachable_peers > 0) {
      spdlog::warn(
          "overlay: {} worker(s) left out of the tunnel: their endpoint is of another address "
          "family than {}, or two endpoints claim one subnet",
          next.unreachable_peers, options.self.toString());
    }
    // Peers and routes first, so that a translation never points into a missing route.
    Status peers = programPeers(next);
    if (!peers) spdlog::error("overlay: {}", peers.error().message);
    Status rules_status = programRules(next);
    if (!rules_status) spdlog::error("overlay: {}", rules_status.error().message);
    forgetGone(next);
    noteProgrammed(applied.dnat4, next.dnat4, clock.now(), programmed_at);
    noteProgrammed(applied.dnat6, next.dnat6, clock.now(), programmed_at);
    std::erase_if(programmed_at, [&](const auto& p) {
      const auto* v4 = std::get_if<net::Ipv4Address>(&p.first);
      return v4 ? !next.dnat4.count(*v4) : !next.dnat6.count(std::get<net::Ipv6Address>(p.first));
    });
    applied = std::move(next);
  }
  // Held packets whose address the kernel now translates go on.
  std::vector<std::string> ready;
  for (const auto& [k, w] : held) {
    if (programmed(w.address)) ready.push_back(k);
  }
  for (const auto& k : ready) release(k, false);
}

Status KernelPath::Impl::programPeers(const overlay::KernelPlan& next) {
  Status first_error;
  auto note = [&first_error](Status s) {
    if (!s && first_error) first_error = s;
  };
  OAK_ASSIGN_OR_RETURN(nl::LinkPtr link, nl::findLink(*sock, options.vxlan));
  if (!link) return makeError(ErrorCode::kInternal, "VXLAN device " + options.vxlan + " is gone");
  // Gone or changed peers and routes first.
  for (const auto& [k, old] : applied.peers) {
    auto now = next.peers.find(k);
    if (now != next.peers.end() && now->second == old) continue;
    note(nl::deleteRoute(*sock, link.get(),
                         nl::toNlAddr(old.subnet4.first(), old.subnet4.length()).get()));
    if (old.subnet6) {
      note(nl::deleteRoute(*sock, link.get(),
                           nl::toNlAddr(old.subnet6->first(), old.subnet6->length()).get()));
    }
    note(nl::deleteNeighbor(*sock, vxlan_ifindex, old.gateway6()));
    note(nl::deleteNeighbor(*sock, vxlan_ifindex, old.gateway4()));
    note(nl::deleteFdb(*sock, vxlan_ifindex, old.mac(), old.endpoint.address));
  }
  note(syncRoutes(*sock, link.get(), applied.routes4, next.routes4, kRemove));
  note(syncRoutes(*sock, link.get(), applied.routes6, next.routes6, kRemove));
  for (const auto& [k, peer] : next.peers) {
    auto old = applied.peers.find(k);
    if (old != applied.peers.end() && old->second == peer) continue;
    note(nl::replaceFdb(*sock, vxlan_ifindex, peer.mac(), peer.endpoint.address,
                        peer.endpoint.port));
    note(nl::replaceNeighbor(*sock, vxlan_ifindex, peer.gateway4(), peer.mac()));
    nl::Route r4{nl::toNlAddr(peer.subnet4.first(), peer.subnet4.length()),
                 nl::toNlAddr(peer.gateway4()), std::nullopt};
    r4.onlink = true;
    note(nl::replaceRoute(*sock, link.get(), r4));
    note(nl::replaceNeighbor(*sock, vxlan_ifindex, peer.gateway6(), peer.mac()));
    if (peer.subnet6) {
      nl::Route r6{nl::toNlAddr(peer.subnet6->first(), peer.subnet6->length()),
                   nl::toNlAddr(peer.gateway6()), std::nullopt};
      note(nl::replaceRoute(*sock, link.get(), r6));
    }
  }
  note(syncRoutes(*sock, link.get(), applied.routes4, next.routes4, kAdd));
  note(syncRoutes(*sock, link.get(), applied.routes6, next.routes6, kAdd));
  return first_error;
}

Status KernelPath::Impl::programRules(const overlay::KernelPlan& next) {
  const std::string diff = overlay::kernelDiffScript(rules, applied, next);
  if (diff.empty()) return {};
  Status s = runNft(diff, "update nftables table inet " + rules.table);
  if (s) return s;
  // The kernel's table is not what we think it is: start it again from empty.
  spdlog::warn("overlay: {}; rebuilding the table", s.error().message);
  OAK_TRY(runNft(overlay::kernelTableScript(rules), "rebuild nftables table inet " + rules.table));
  return runNft(overlay::kernelDiffScript(rules, overlay::KernelPlan{}, next),
                "fill nftables table inet " + rules.table);
}

void KernelPath::Impl::forgetGone(const overlay::KernelPlan& next) {
  overlay::GoneTargets gone = overlay::goneTargets(applied, next);
  if (gone.empty()) return;
  auto deleted = deleteFlowsTo(gone.v4, gone.v6);
  if (!deleted) {
    spdlog::warn("overlay: forgetting connections of removed instances: {}",
                 deleted.error().message);
    return;
  }
  counters.flows_rebalanced += *deleted;
}

bool KernelPath::Impl::programmed(const overlay::IpAddress& address) const {
  if (const auto* v4 = std::get_if<net::Ipv4Address>(&address)) return applied.dnat4.count(*v4);
  return applied.dnat6.count(std::get<net::Ipv6Address>(address)) > 0;
}

void KernelPath::Impl::readTun() {
  for (size_t i = 0; i < kReadsPerWake; ++i) {
    ssize_t got = ::read(tun.get(), buffer.data(), kMaxPacket);
    if (got <= 0) return;
    onMiss(static_cast<size_t>(got));
  }
}

void KernelPath::Impl::onMiss(size_t length) {
  ++counters.tun_packets;
  counters.tun_bytes += length;
  overlay::Packet packet;
  if (overlay::parsePacket(std::span<uint8_t>(buffer.data(), length), packet) !=
      overlay::PacketError::kOk) {
    ++counters.drops[static_cast<size_t>(overlay::DropReason::kMalformed)];
    return;
  }
  const overlay::IpAddress destination = packet.destination();
  if (!overlay::isServiceAddress(destination)) {
    // The device's own traffic (IPv6 multicast listener reports, ...): nothing to translate.
    ++counters.drops[static_cast<size_t>(overlay::DropReason::kNotServiceDestination)];
    return;
  }
  if (programmed(destination)) {
    auto at = programmed_at.find(destination);
    if (at != programmed_at.end() && clock.now() - at->second < kRaceWindow) {
      writeTun(std::span<const uint8_t>(buffer.data(), length));
      return;
    }
    ++counters.drops[static_cast<size_t>(overlay::DropReason::kLoop)];
    unreachable(buffer, length);
    return;
  }
  if (table && table->resolve(destination)) {
    // Known, but no instance can take it (none left, or none of this family).
    ++counters.drops[static_cast<size_t>(overlay::DropReason::kNoInstance)];
    unreachable(buffer, length);
    return;
  }
  hold(destination, std::span<const uint8_t>(buffer.data(), length));
}

void KernelPath::Impl::hold(const overlay::IpAddress& address, std::span<const uint8_t> packet) {
  const std::string k = key(address);
  auto it = held.find(k);
  if (it == held.end()) {
    if (held.size() >= kHeldAddresses) {
      ++counters.drops[static_cast<size_t>(overlay::DropReason::kNoInstance)];
      return;
    }
    it = held.emplace(k, Waiting{{}, address, clock.now()}).first;
    ++counters.queries;
    query_hook(k);
  }
  if (it->second.packets.size() >= kHeldPerAddress) it->second.packets.pop_front();
  it->second.packets.emplace_back(packet.begin(), packet.end());
}

void KernelPath::Impl::release(const std::string& address, bool answered_not_found) {
  auto it = held.find(address);
  if (it == held.end()) return;
  if (programmed(it->second.address)) {
    for (auto& p : it->second.packets) writeTun(p);
  } else if (answered_not_found || clock.now() - it->second.since >= kHoldTimeout) {
    for (auto& p : it->second.packets) {
      std::memcpy(buffer.data(), p.data(), p.size());
      unreachable(buffer, p.size());
    }
  } else {
    return;  // the answer came; the routes may follow with a table change
  }
  held.erase(it);
}

void KernelPath::Impl::expireHeld() {
  const auto now = clock.now();
  std::vector<std::string> expired;
  for (const auto& [k, w] : held) {
    if (now - w.since >= kHoldTimeout) expired.push_back(k);
  }
  for (const auto& k : expired) release(k, true);
}

void KernelPath::Impl::unreachable(std::span<uint8_t> bytes, size_t length) {
  overlay::Packet packet;
  if (overlay::parsePacket(bytes.first(length), packet) != overlay::PacketError::kOk) return;
  const overlay::IpAddress from = packet.destination();
  const size_t n =
      overlay::buildIcmpError(bytes, packet, overlay::IcmpErrorKind::kUnreachable, from);
  if (n == 0) return;
  ++counters.icmp_errors;
  writeTun(bytes.first(n));
}

void KernelPath::Impl::writeTun(std::span<const uint8_t> packet) {
  if (::write(tun.get(), packet.data(), packet.size()) < 0) {
    spdlog::debug("{}", errnoText("overlay TUN write"));
    return;
  }
  ++counters.to_tun_packets;
  counters.to_tun_bytes += packet.size();
}

void KernelPath::Impl::probePeers() {
  const uint64_t now = micros(clock.now());
  for (const auto& [k, peer] : applied.peers) {
    rtt.expect(peer.endpoint);
    pinger->send(peer.endpoint.address, ++probe_sequence, now);
  }
}

void KernelPath::Impl::readProbes() {
  bool sampled = false;
  const uint64_t now = micros(clock.now());
  pinger->receive([&](const overlay::IpAddress& from, uint64_t sent_us) {
    if (sent_us > now) return;
    for (const auto& [k, peer] : applied.peers) {
      if (peer.endpoint.address != from) continue;
      if (rtt.sample(peer.endpoint, std::chrono::microseconds(now - sent_us))) {
        ++counters.probe_replies;
        sampled = true;
      }
    }
  });
  if (sampled) replan();  // "closest" may now pick other instances
}

void KernelPath::Impl::readKernelCounters() {
  if (auto listing = nftOutput("list counters table inet " + rules.table, "read counters")) {
    kernel_garbage = packetsOf(*listing, "tunnel_garbage");
    kernel_tunnel_drops = packetsOf(*listing, "tunnel_dropped");
    kernel_host_drops = packetsOf(*listing, "host_dropped");
  }
  if (auto link = nl::findLink(*sock, options.vxlan); link && *link) {
    device_errors = rtnl_link_get_stat(link->get(), RTNL_LINK_RX_ERRORS) +
                    rtnl_link_get_stat(link->get(), RTNL_LINK_RX_DROPPED);
  }
}

void KernelPath::Impl::publish() {
  overlay::ProxyCounters out = counters;
  out.drops[static_cast<size_t>(overlay::DropReason::kNotAPacket)] +=
      kernel_garbage + device_errors;
  out.drops[static_cast<size_t>(overlay::DropReason::kBadDestination)] +=
      kernel_tunnel_drops + kernel_host_drops;
  inbox.publish(out);
}

}  // namespace oak::worker
