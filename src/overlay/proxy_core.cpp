#include "overlay/proxy_core.h"

#include "overlay/probe.h"

namespace oak::overlay {
namespace {

// A probe reply older than this is stale or forged, not a measurement.
constexpr std::chrono::seconds kMaxProbeRtt{10};

bool proxiable(const Packet& p) {
  return p.has_transport && (p.protocol == kProtoTcp || p.protocol == kProtoUdp || p.echo);
}

// The flow key of a packet seen from the local instance at one end: its source (outgoing
// packets, FlowTable forward keys) or its destination (incoming packets, the shape of FlowTable
// reverse keys). An echo's identifier is its port; the other end has none.
FlowKey flowKey(const Packet& p, bool local_is_source) {
  const IpAddress local = local_is_source ? p.source() : p.destination();
  const IpAddress remote = local_is_source ? p.destination() : p.source();
  auto wide = [](const IpAddress& a) {
    const auto* v4 = std::get_if<net::Ipv4Address>(&a);
    return v4 ? widen(*v4) : std::get<net::Ipv6Address>(a);
  };
  FlowKey k;
  k.version = p.version;
  k.protocol = p.protocol;
  k.local = wide(local);
  k.remote = wide(remote);
  k.local_port = p.echo ? p.echo_id : local_is_source ? p.src_port : p.dst_port;
  k.remote_port = p.echo ? 0 : local_is_source ? p.dst_port : p.src_port;
  return k;
}

IpAddress unwiden(const net::Ipv6Address& a, bool v4) {
  return v4 ? IpAddress(narrow(a)) : IpAddress(a);
}

// A super-packet is too big when its segments are.
bool tooBig(const Packet& p, uint16_t mtu, const TunRead& read = {}) {
  const size_t size = read.isSuper() ? read.largestSegment() : p.bytes.size();
  return size > mtu && (!p.isV4() || p.dont_fragment);
}

const InstanceRoute* findByNsip(std::span<const InstanceRoute> instances,
                                const net::Ipv6Address& nsip, bool v4) {
  for (const InstanceRoute& i : instances) {
    if (v4 ? widen(i.nsip) == nsip : i.nsip6 == nsip) return &i;
  }
  return nullptr;
}

int64_t micros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view toString(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kNotAPacket:
      return "not_a_packet";
    case DropReason::kNotServiceDestination:
      return "not_service_destination";
    case DropReason::kUnknownSender:
      return "unknown_sender";
    case DropReason::kUnsupportedProtocol:
      return "unsupported_protocol";
    case DropReason::kNoInstance:
      return "no_instance";
    case DropReason::kFlowTableFull:
      return "flow_table_full";
    case DropReason::kUnknownFragment:
      return "unknown_fragment";
    case DropReason::kLoop:
      return "loop";
    case DropReason::kBadDestination:
      return "bad_destination";
    case DropReason::kBadSource:
      return "bad_source";
    case DropReason::kTooBig:
      return "too_big";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

ProxyCore::ProxyCore(ProxyConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      table_(ServiceTable::Builder().build()),
      flows_(FlowTable::Options{.capacity = config_.max_flows, .seed = config_.hash_seed}) {
  balancer_.setTable(nullptr, *table_);
  rtt_.set(config_.self, std::chrono::microseconds(0));  // "closest" prefers this worker
}

void ProxyCore::setTable(std::shared_ptr<const ServiceTable> table) {
  if (!table) table = ServiceTable::Builder().build();
  balancer_.setTable(table_.get(), *table);
  table_ = std::move(table);
  ++generation_;
}

void ProxyCore::setRtt(const TunnelEndpoint& worker, std::chrono::microseconds rtt) {
  rtt_.set(worker, rtt);
}

Verdict ProxyCore::drop(DropReason reason) {
  ++counters_.drops[static_cast<size_t>(reason)];
  return Verdict{.kind = Verdict::kDrop, .reason = reason};
}

Verdict ProxyCore::toTun(const Packet& p) {
  ++counters_.to_tun_packets;
  counters_.to_tun_bytes += p.bytes.size();
  return Verdict{.kind = Verdict::kToTun, .length = p.bytes.size()};
}

Verdict ProxyCore::toPeer(const Packet& p, const TunnelEndpoint& peer) {
  ++counters_.to_peer_packets;
  counters_.to_peer_bytes += p.bytes.size();
  return Verdict{.kind = Verdict::kToPeer, .peer = peer, .length = p.bytes.size()};
}

Verdict ProxyCore::icmp(std::span<uint8_t> buffer, const Packet& p, IcmpErrorKind kind,
                        DropReason why) {
  // From the address the instance wanted to reach: that is the host "unreachable" or "too big"
  // for it.
  const size_t length = buildIcmpError(buffer, p, kind, p.destination(), config_.mtu);
  if (length == 0) return drop(why == DropReason::kNone ? DropReason::kTooBig : why);
  ++counters_.icmp_errors;
  return Verdict{.kind = Verdict::kIcmpToTun, .reason = why, .length = length};
}

Verdict ProxyCore::query(const IpAddress& address) {
  ++counters_.queries;
  return Verdict{.kind = Verdict::kQuery, .query = address};
}

bool ProxyCore::local(const IpAddress& address) const {
  if (const auto* v4 = std::get_if<net::Ipv4Address>(&address)) {
    return config_.subnet4.contains(*v4);
  }
  return config_.subnet6.contains(std::get<net::Ipv6Address>(address));
}

Verdict ProxyCore::fromTun(std::span<uint8_t> buffer, size_t length) {
  return fromTun(buffer, length, TunRead{});
}

Verdict ProxyCore::fromTun(std::span<uint8_t> buffer, size_t length, const TunRead& read) {
  ++counters_.tun_packets;
  counters_.tun_bytes += length;
  Packet p;
  if (length > buffer.size() || parsePacket(buffer.first(length), p) != PacketError::kOk) {
    return drop(DropReason::kMalformed);
  }
  p.partial_checksum = read.isSuper();
  if (!isServiceAddress(p.destination())) return drop(DropReason::kNotServiceDestination);
  const TimePoint now = clock_.now();
  if (p.laterFragment()) return laterFragmentFromTun(p, now);
  if (!proxiable(p)) return drop(DropReason::kUnsupportedProtocol);
  if (tooBig(p, config_.mtu, read)) {
    const bool known = p.isV4() ? table_->localSender(p.src4) : table_->localSender(p.src6);
    if (!known) return drop(DropReason::kUnknownSender);
    return icmp(buffer, p, IcmpErrorKind::kTooBig, DropReason::kNone);
  }

  Verdict verdict;
  Flow* flow = bindFlow(p, now, buffer, verdict);
  if (flow == nullptr) return verdict;
  flows_.touch(*flow, now, p.tcp_flags);
  const FlowTarget& t = flow->target;
  if (!t.local && t.peer == config_.self) return drop(DropReason::kLoop);

  const bool v4 = p.isV4();
  const bool first_fragment = p.firstFragment();
  Packet original;
  if (first_fragment) original = p;
  setDestination(p, unwiden(t.nsip, v4));
  setSource(p, unwiden(t.sender_ip, v4));
  // Delivered here: the packet may be a reply of a flow of this worker, as if it had come
  // through the tunnel.
  if (t.local) translateReply(p, now);
  if (first_fragment) {
    fragments_out_.remember(original, FragmentAction{p.source(), p.destination(), !t.local, t.peer},
                            now);
  }
  return t.local ? toTun(p) : toPeer(p, t.peer);
}

Flow* ProxyCore::bindFlow(const Packet& p, TimePoint now, std::span<uint8_t> buffer,
                          Verdict& verdict) {
  const FlowKey key = flowKey(p, true);
  Flow* flow = flows_.find(key, now);
  if (flow != nullptr && flow->target.generation == generation_) return flow;

  // A new flow, or one made with an older table: check sender and destination again.
  const bool v4 = p.isV4();
  const LocalInstance* sender = v4 ? table_->localSender(p.src4) : table_->localSender(p.src6);
  const Resolution* r = sender ? table_->resolve(p.destination()) : nullptr;
  if (r == nullptr) {
    if (flow != nullptr) flows_.erase(*flow);
    verdict = sender ? query(p.destination()) : drop(DropReason::kUnknownSender);
    return nullptr;
  }
  const InstanceRoute* chosen = flow ? findByNsip(r->instances, flow->target.nsip, v4) : nullptr;
  const bool rebalanced = flow != nullptr && chosen == nullptr;
  if (chosen == nullptr) chosen = balancer_.choose(*r, !v4, rtt_);
  if (chosen == nullptr) {
    if (flow != nullptr) flows_.erase(*flow);
    verdict = icmp(buffer, p, IcmpErrorKind::kUnreachable, DropReason::kNoInstance);
    return nullptr;
  }

  FlowTarget t;
  t.sender_ip = v4 ? widen(sender->instance_ip) : sender->instance_ip6;
  t.nsip = v4 ? widen(chosen->nsip) : *chosen->nsip6;
  t.instance_ip = v4 ? widen(chosen->instance_ip) : chosen->instance_ip6;
  t.peer = chosen->host;
  t.local = local(unwiden(t.nsip, v4));
  t.generation = generation_;
  if (flow != nullptr) {
    flows_.retarget(*flow, t);
    if (rebalanced) ++counters_.flows_rebalanced;
    return flow;
  }
  flow = flows_.insert(key, t, now);
  if (flow == nullptr) verdict = drop(DropReason::kFlowTableFull);
  return flow;
}

bool ProxyCore::translateReply(Packet& p, TimePoint now) {
  Flow* flow = flows_.findReverse(flowKey(p, false), now);
  if (flow == nullptr) return false;
  // Replies keep the flow alive too (a client may only listen).
  flows_.touch(*flow, now, p.tcp_flags);
  setSource(p, unwiden(flow->key.remote, p.isV4()));
  return true;
}

Verdict ProxyCore::laterFragmentFromTun(Packet& p, TimePoint now) {
  const FragmentAction* action = fragments_out_.find(p, now);
  if (action == nullptr) return drop(DropReason::kUnknownFragment);
  if (tooBig(p, config_.mtu)) return drop(DropReason::kTooBig);  // no ICMP about later ones
  if (action->destination) setDestination(p, *action->destination);
  if (action->source) setSource(p, *action->source);
  return action->to_peer ? toPeer(p, action->peer) : toTun(p);
}

Verdict ProxyCore::fromTunnel(std::span<uint8_t> buffer, size_t length,
                              const TunnelEndpoint& from) {
  ++counters_.tunnel_packets;
  counters_.tunnel_bytes += length;
  if (length == 0 || length > buffer.size()) return drop(DropReason::kMalformed);
  const uint8_t first = buffer[0];
  if (first == kProbeRequest || first == kProbeReply) return probe(buffer, length, from);
  if ((first >> 4) != 4 && (first >> 4) != 6) return drop(DropReason::kNotAPacket);
  Packet p;
  if (parsePacket(buffer.first(length), p) != PacketError::kOk) {
    return drop(DropReason::kMalformed);
  }
  if (!local(p.destination())) return drop(DropReason::kBadDestination);
  if (!isServiceAddress(p.source())) return drop(DropReason::kBadSource);
  const TimePoint now = clock_.now();
  if (p.laterFragment()) {
    // Unknown: delivered unchanged, like a first fragment without a flow (the tunnel may
    // reorder fragments; a wrong guess only loses a datagram that was lost anyway).
    const FragmentAction* action = fragments_in_.find(p, now);
    if (action != nullptr && action->source) setSource(p, *action->source);
    return toTun(p);
  }
  if (!proxiable(p)) return drop(DropReason::kUnsupportedProtocol);
  if (!p.firstFragment()) {
    translateReply(p, now);
    return toTun(p);
  }
  const Packet original = p;
  if (translateReply(p, now)) {
    fragments_in_.remember(original, FragmentAction{.source = p.source()}, now);
  }
  return toTun(p);
}

Verdict ProxyCore::buildUnreachable(std::span<uint8_t> buffer, size_t length) {
  Packet p;
  if (length > buffer.size() || parsePacket(buffer.first(length), p) != PacketError::kOk) {
    return drop(DropReason::kMalformed);
  }
  return icmp(buffer, p, IcmpErrorKind::kUnreachable, DropReason::kNoInstance);
}

Verdict ProxyCore::probe(std::span<uint8_t> buffer, size_t length, const TunnelEndpoint& from) {
  auto probe = decodeProbe(buffer.first(length));
  if (!probe) return drop(DropReason::kNotAPacket);
  if (!probe->reply) {
    probe->reply = true;
    encodeProbe(*probe, buffer);
    ++counters_.probes_answered;
    return Verdict{.kind = Verdict::kToPeer, .peer = from, .length = kProbeSize};
  }
  ++counters_.probe_replies;
  const auto rtt =
      std::chrono::microseconds(micros(clock_.now()) - static_cast<int64_t>(probe->sent_us));
  if (rtt.count() >= 0 && rtt <= kMaxProbeRtt) rtt_.sample(from, rtt);
  return Verdict{.kind = Verdict::kConsumed};
}

size_t ProxyCore::buildProbe(std::span<uint8_t> out, const TunnelEndpoint& to) {
  rtt_.expect(to);
  return encodeProbe(
      Probe{.sequence = ++probe_sequence_, .sent_us = static_cast<uint64_t>(micros(clock_.now()))},
      out);
}

void ProxyCore::sweep() {
  flows_.sweep(clock_.now());
}

const ProxyCounters& ProxyCore::counters() const {
  const FlowTable::Counters& f = flows_.counters();
  counters_.flows_created = f.created;
  counters_.flows_expired = f.expired;
  counters_.flows_refused = f.refused;
  return counters_;
}

}  // namespace oak::overlay
