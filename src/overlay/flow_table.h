#pragma once
// Flows of the proxy, keyed by the full 5-tuple: a fixed slab of flows reserved at start, two
// open-addressing hash indexes (forward and reverse key), and one LRU list per idle timeout so
// that expiry, eviction and sweeping are exact and O(1) per flow. Nothing allocates after
// construction.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "net/ip.h"
#include "overlay/address.h"

namespace oak::overlay {

using TimePoint = Clock::TimePoint;

// A (local address, local port, remote address, remote port) tuple of one protocol; IPv4
// addresses are widened (see widen()). ICMP echo uses the identifier as local port and 0 as
// remote port, in both directions.
struct FlowKey {
  net::Ipv6Address local;
  net::Ipv6Address remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint8_t version = 0;  // 4 or 6
  uint8_t protocol = 0;

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// Where a flow's packets go (chosen once per flow, re-checked when the table changes).
struct FlowTarget {
  net::Ipv6Address sender_ip;    // the client's instance address: the rewritten source
  net::Ipv6Address nsip;         // the chosen instance's namespace address: the new destination
  net::Ipv6Address instance_ip;  // the chosen instance's instance address
  TunnelEndpoint peer;           // the worker it runs on
  bool local = false;            // it runs on this worker
  uint32_t generation = 0;       // the service table generation this was checked against
};

struct Flow {
  // Forward key: client namespace address and port → service address and port.
  FlowKey key;
  FlowTarget target;
  TimePoint last_use;
  bool closing = false;  // TCP FIN or RST seen: short idle timeout

 private:
  friend class FlowTable;
  uint32_t prev_ = 0, next_ = 0;  // LRU list (or free list: next_ only)
  uint8_t list_ = 0;
  bool in_use_ = false;
  bool reverse_indexed_ = false;  // a newer flow may have taken the same reverse key
};

class FlowTable {
 public:
  struct Options {
    // Flows: 176 bytes each with their index slots, reserved at construction but touched only
    // when used (11.5 MiB for 65,536 when all are).
    size_t capacity = 65536;
    uint64_t seed = 0;  // hash seed; pass a random one against hash flooding
    std::chrono::seconds tcp_timeout{300};
    std::chrono::seconds closing_timeout{10};  // TCP after FIN or RST
    std::chrono::seconds udp_timeout{60};
    std::chrono::seconds icmp_timeout{10};
  };
  struct Counters {
    uint64_t created = 0;
    uint64_t expired = 0;  // removed after their idle timeout (sweep, lookup or reuse)
    uint64_t refused = 0;  // not created: the table was full of live flows
  };

  explicit FlowTable(Options options);
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // The live flow with this forward key; an expired one is removed instead of returned.
  Flow* find(const FlowKey& key, TimePoint now);
  // The live flow whose reverse key (see reverseKey) this is.
  Flow* findReverse(const FlowKey& reverse, TimePoint now);
  // A new flow (the key must not be present). When the table is full, an expired flow is reused
  // if there is one; otherwise nullptr (counted as refused).
  Flow* insert(const FlowKey& key, const FlowTarget& target, TimePoint now);
  // Points the flow at another instance; its reverse key follows.
  void retarget(Flow& flow, const FlowTarget& target);
  // A packet of the flow at `now`; TCP FIN/RST start the closing timeout, a SYN ends it.
  void touch(Flow& flow, TimePoint now, uint8_t tcp_flags);
  void erase(Flow& flow);
  // Removes at most `budget` expired flows, oldest first. Returns how many.
  size_t sweep(TimePoint now, size_t budget = 1024);

  // (client nsip, client port, chosen instance address, service port): what a reply carries.
  static FlowKey reverseKey(const Flow& flow);

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  const Counters& counters() const { return counters_; }

 private:
  struct FreeMemory {
    void operator()(void* p) const;
  };
  template <class T>
  static std::unique_ptr<T[], FreeMemory> allocate(size_t n);

  // Linear probing with backward-shift deletion (no tombstones). A slot holds a flow index + 1
  // (0: empty) and the low 32 bits of its key's hash (the home slot and a cheap pre-check).
  class Index {
   public:
    explicit Index(size_t capacity);
    template <class Matches>
    uint32_t find(uint32_t hash, Matches&& matches) const;
    void insert(uint32_t hash, uint32_t flow);
    void erase(uint32_t hash, uint32_t flow);

   private:
    struct Slot {
      uint32_t flow_plus_one;
      uint32_t hash;
    };
    size_t mask_;
    std::unique_ptr<Slot[], FreeMemory> slots_;
  };

  enum List : uint8_t { kTcpList, kClosingList, kUdpList, kIcmpList, kListCount };
  struct Ends {
    uint32_t head;  // most recently used
    uint32_t tail;  // least recently used: the first to expire
  };

  uint32_t hash(const FlowKey& key) const;
  static bool hasReverseKey(const Flow& flow, const FlowKey& key);
  uint32_t indexOf(const Flow& flow) const { return static_cast<uint32_t>(&flow - flows_.get()); }
  List listFor(const Flow& flow) const;
  bool expired(const Flow& flow, TimePoint now) const;
  Flow* live(uint32_t index, TimePoint now);
  void link(Flow& flow, List list);
  void unlink(Flow& flow);
  void indexReverse(Flow& flow);
  void unindexReverse(Flow& flow);
  bool reclaimExpired(TimePoint now);

  Options options_;
  std::array<std::chrono::nanoseconds, kListCount> timeouts_;
  size_t capacity_;
  std::unique_ptr<Flow[], FreeMemory> flows_;  // [0, constructed_) are Flow objects
  uint32_t constructed_ = 0;
  uint32_t free_ = 0xffffffff;  // recycled flows, linked by next_
  Index forward_;
  Index reverse_;
  std::array<Ends, kListCount> lists_;
  size_t size_ = 0;
  Counters counters_;
};

}  // namespace oak::overlay
