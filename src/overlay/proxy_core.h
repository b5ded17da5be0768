#pragma once
// The per-packet decisions of the worker's overlay proxy. The data-path thread owns one
// ProxyCore (single-threaded, no locks): it hands over each packet read from the TUN device
// (fromTun) or received on the tunnel socket (fromTunnel) and acts on the Verdict. Packets are
// rewritten or replaced (ICMP errors, probe replies) in the caller's buffer; nothing allocates
// per packet. See docs/design/overlay.md.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "net/ip.h"
#include "overlay/address.h"
#include "overlay/balancer.h"
#include "overlay/flow_table.h"
#include "overlay/fragment_cache.h"
#include "overlay/icmp.h"
#include "overlay/packet.h"
#include "overlay/routes.h"
#include "overlay/vnet_header.h"

namespace oak::overlay {

struct ProxyConfig {
  net::Ipv4Prefix subnet4;  // this worker's instance subnets
  net::Ipv6Prefix subnet6;
  TunnelEndpoint self;  // this worker's tunnel endpoint
  uint16_t mtu = 1450;  // of the TUN device: larger packets get "fragmentation needed"
  size_t max_flows = 65536;
  uint64_t hash_seed = 0;  // pass a random value: flow hashing resists crafted collisions
};

enum class DropReason : uint8_t {
  kNone,
  kMalformed,              // not a valid IPv4/IPv6 packet (see PacketError)
  kNotAPacket,             // tunnel datagram that is neither a packet nor a probe
  kNotServiceDestination,  // from TUN: destination outside 10.30.0.0/16 and fdff::/16
  kUnknownSender,          // from TUN: source is not a local instance's namespace address
  kUnsupportedProtocol,    // neither TCP, UDP nor ICMP echo
  kNoInstance,             // the address is known but no instance can take the packet
  kFlowTableFull,
  kUnknownFragment,  // from TUN: a later fragment whose first fragment was not seen
  kLoop,             // the table says a remote instance runs on this worker's endpoint
  kBadDestination,   // from tunnel: destination outside this worker's subnets
  kBadSource,        // from tunnel: source outside the service ranges
  kTooBig,           // too big, and no ICMP error may be sent about it
  kCount,
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);
std::string_view toString(DropReason reason);

struct Verdict {
  enum Kind {
    kDrop,       // `reason` says why
    kToTun,      // write `length` bytes of the buffer to the TUN device
    kToPeer,     // send `length` bytes of the buffer to `peer` (one datagram)
    kQuery,      // `query` is unknown: ask the control plane, then resubmit the unchanged
                 // packet (or call buildUnreachable if there is no answer)
    kIcmpToTun,  // the buffer now holds an ICMP error of `length` bytes for the TUN device;
                 // `reason` says why (kNoInstance, or kNone for "too big")
    kConsumed,   // a probe reply that updated the RTT table; nothing to send
  };
  Kind kind = kDrop;
  DropReason reason = DropReason::kNone;
  TunnelEndpoint peer{};
  IpAddress query{};
  size_t length = 0;
};

struct ProxyCounters {
  uint64_t tun_packets = 0, tun_bytes = 0;          // handed to fromTun
  uint64_t tunnel_packets = 0, tunnel_bytes = 0;    // handed to fromTunnel
  uint64_t to_tun_packets = 0, to_tun_bytes = 0;    // kToTun verdicts
  uint64_t to_peer_packets = 0, to_peer_bytes = 0;  // kToPeer verdicts except probe replies
  uint64_t icmp_errors = 0;
  uint64_t queries = 0;
  uint64_t flows_created = 0, flows_expired = 0, flows_refused = 0;
  uint64_t flows_rebalanced = 0;  // moved to another instance after a table change
  uint64_t probes_answered = 0, probe_replies = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
};

class ProxyCore {
 public:
  ProxyCore(ProxyConfig config, const Clock& clock);
  ProxyCore(const ProxyCore&) = delete;
  ProxyCore& operator=(const ProxyCore&) = delete;

  // A new snapshot of the services; flows are re-checked against it on their next packet.
  void setTable(std::shared_ptr<const ServiceTable> table);
  void setRtt(const TunnelEndpoint& worker, std::chrono::microseconds rtt);
  const RttTable& rtt() const { return rtt_; }

  // `length` bytes at the start of `buffer` hold the packet; the rest of `buffer` is room for
  // ICMP errors (a 64 KiB buffer is always enough).
  Verdict fromTun(std::span<uint8_t> buffer, size_t length);
  // The same for a packet read from a TUN device with offloads, as prepareTunRead described it.
  // A super-packet is decided as the one packet it is (one flow lookup for up to 64 KiB), its
  // largest segment checked against the MTU, and its checksum kept partial when rewritten; the
  // caller cuts it into segments for the tunnel (Segmenter) or writes it back whole. Counters
  // count it as one packet.
  Verdict fromTun(std::span<uint8_t> buffer, size_t length, const TunRead& read);
  Verdict fromTunnel(std::span<uint8_t> buffer, size_t length, const TunnelEndpoint& from);
  // For a packet that got kQuery and whose address stayed unknown: replaces it with "destination
  // unreachable" for the TUN device (kIcmpToTun), or kDrop if no ICMP error may be sent.
  Verdict buildUnreachable(std::span<uint8_t> buffer, size_t length);
  // An RTT probe request to `to` (kProbeSize bytes, 0 if `out` is too small); the reply is
  // taken by fromTunnel. Send it from the tunnel socket so that the reply's source is `to`.
  size_t buildProbe(std::span<uint8_t> out, const TunnelEndpoint& to);

  // Expires idle flows; call about once a second (cost bounded per call).
  void sweep();
  const ProxyCounters& counters() const;
  size_t flowCount() const { return flows_.size(); }

 private:
  Verdict drop(DropReason reason);
  Verdict toTun(const Packet& p);
  Verdict toPeer(const Packet& p, const TunnelEndpoint& peer);
  Verdict icmp(std::span<uint8_t> buffer, const Packet& p, IcmpErrorKind kind, DropReason why);
  Verdict query(const IpAddress& address);
  bool local(const IpAddress& nsip) const;
  // Finds, re-checks or creates the flow of an outgoing packet; nullptr with `verdict` set when
  // the packet cannot go on.
  Flow* bindFlow(const Packet& p, TimePoint now, std::span<uint8_t> buffer, Verdict& verdict);
  // Rewrites the source of a reply back to the service address its client used; false if the
  // packet belongs to no flow of this worker.
  bool translateReply(Packet& p, TimePoint now);
  Verdict laterFragmentFromTun(Packet& p, TimePoint now);
  Verdict probe(std::span<uint8_t> buffer, size_t length, const TunnelEndpoint& from);

  ProxyConfig config_;
  const Clock& clock_;
  std::shared_ptr<const ServiceTable> table_;
  uint32_t generation_ = 1;
  FlowTable flows_;
  Balancer balancer_;
  RttTable rtt_;
  FragmentCache fragments_out_;
  FragmentCache fragments_in_;
  uint64_t probe_sequence_ = 0;
  mutable ProxyCounters counters_;
};

}  // namespace oak::overlay
