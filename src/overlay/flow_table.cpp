#include "overlay/flow_table.h"

#include <bit>
#include <cstring>

#include "overlay/packet.h"

namespace oak::overlay {
namespace {

constexpr uint32_t kNil = 0xffffffff;

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

FlowTable::Index::Index(size_t capacity)
    : slots_(std::bit_ceil(std::max<size_t>(16, capacity * 2)), Slot{kNil, 0}),
      mask_(slots_.size() - 1) {}

template <class Matches>
uint32_t FlowTable::Index::find(uint32_t hash, Matches&& matches) const {
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.flow == kNil) return kNil;
    if (s.hash == hash && matches(s.flow)) return s.flow;
  }
}

void FlowTable::Index::insert(uint32_t hash, uint32_t flow) {
  size_t i = hash & mask_;
  while (slots_[i].flow != kNil) i = (i + 1) & mask_;
  slots_[i] = Slot{flow, hash};
}

void FlowTable::Index::erase(uint32_t hash, uint32_t flow) {
  size_t hole = hash & mask_;
  while (slots_[hole].flow != flow) {
    if (slots_[hole].flow == kNil) return;
    hole = (hole + 1) & mask_;
  }
  // Pull back every later entry of the cluster that may live in the hole (its home slot is not
  // between the hole and itself), so that lookups never stop early at a gap.
  for (size_t j = (hole + 1) & mask_; slots_[j].flow != kNil; j = (j + 1) & mask_) {
    const size_t home = slots_[j].hash & mask_;
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{kNil, 0};
}

FlowTable::FlowTable(Options options)
    : options_(options),
      timeouts_{options.tcp_timeout, options.closing_timeout, options.udp_timeout,
                options.icmp_timeout},
      flows_(std::max<size_t>(1, options.capacity)),
      forward_(flows_.size()),
      reverse_(flows_.size()),
      free_(0) {
  for (size_t i = 0; i < flows_.size(); ++i) {
    flows_[i].next_ = i + 1 < flows_.size() ? static_cast<uint32_t>(i + 1) : kNil;
  }
  lists_.fill(Ends{kNil, kNil});
}

uint32_t FlowTable::hash(const FlowKey& key) const {
  uint64_t words[4];
  std::memcpy(words, key.local.bytes().data(), 16);
  std::memcpy(words + 2, key.remote.bytes().data(), 16);
  uint64_t h =
      options_.seed ^ ((uint64_t{key.local_port} << 32) | (uint64_t{key.remote_port} << 16) |
                       (uint64_t{key.version} << 8) | key.protocol);
  for (uint64_t w : words) h = std::rotl(h ^ w, 29) * 0x9e3779b97f4a7c15ULL;
  return static_cast<uint32_t>(mix(h));
}

FlowKey FlowTable::reverseKey(const Flow& flow) {
  FlowKey k = flow.key;
  k.remote = flow.target.instance_ip;
  return k;
}

FlowTable::List FlowTable::listFor(const Flow& flow) const {
  switch (flow.key.protocol) {
    case kProtoTcp:
      return flow.closing ? kClosingList : kTcpList;
    case kProtoUdp:
      return kUdpList;
    default:
      return kIcmpList;
  }
}

bool FlowTable::expired(const Flow& flow, TimePoint now) const {
  return now - flow.last_use >= timeouts_[flow.list_];
}

Flow* FlowTable::live(uint32_t index, TimePoint now) {
  if (index == kNil) return nullptr;
  Flow& flow = flows_[index];
  if (!expired(flow, now)) return &flow;
  ++counters_.expired;
  erase(flow);
  return nullptr;
}

Flow* FlowTable::find(const FlowKey& key, TimePoint now) {
  const uint32_t index = forward_.find(hash(key), [&](uint32_t f) { return flows_[f].key == key; });
  return live(index, now);
}

bool FlowTable::hasReverseKey(const Flow& flow, const FlowKey& k) {
  return flow.target.instance_ip == k.remote && flow.key.local == k.local &&
         flow.key.local_port == k.local_port && flow.key.remote_port == k.remote_port &&
         flow.key.version == k.version && flow.key.protocol == k.protocol;
}

Flow* FlowTable::findReverse(const FlowKey& reverse, TimePoint now) {
  const uint32_t index =
      reverse_.find(hash(reverse), [&](uint32_t f) { return hasReverseKey(flows_[f], reverse); });
  return live(index, now);
}

Flow* FlowTable::insert(const FlowKey& key, const FlowTarget& target, TimePoint now) {
  if (free_ == kNil && !reclaimExpired(now)) {
    ++counters_.refused;
    return nullptr;
  }
  const uint32_t index = free_;
  Flow& flow = flows_[index];
  free_ = flow.next_;
  flow.key = key;
  flow.target = target;
  flow.last_use = now;
  flow.closing = false;
  flow.in_use_ = true;
  forward_.insert(hash(key), index);
  indexReverse(flow);
  link(flow, listFor(flow));
  ++size_;
  ++counters_.created;
  return &flow;
}

void FlowTable::retarget(Flow& flow, const FlowTarget& target) {
  unindexReverse(flow);
  flow.target = target;
  indexReverse(flow);
}

void FlowTable::touch(Flow& flow, TimePoint now, uint8_t tcp_flags) {
  flow.last_use = now;
  if (flow.key.protocol == kProtoTcp) {
    if ((tcp_flags & (kTcpFin | kTcpRst)) != 0) {
      flow.closing = true;
    } else if ((tcp_flags & kTcpSyn) != 0) {
      flow.closing = false;  // the 5-tuple is being reused for a new connection
    }
  }
  unlink(flow);
  link(flow, listFor(flow));
}

void FlowTable::erase(Flow& flow) {
  if (!flow.in_use_) return;
  const uint32_t index = indexOf(flow);
  forward_.erase(hash(flow.key), index);
  unindexReverse(flow);
  unlink(flow);
  flow.in_use_ = false;
  flow.next_ = free_;
  free_ = index;
  --size_;
}

size_t FlowTable::sweep(TimePoint now, size_t budget) {
  size_t removed = 0;
  for (Ends& ends : lists_) {
    while (removed < budget && ends.tail != kNil && expired(flows_[ends.tail], now)) {
      erase(flows_[ends.tail]);
      ++counters_.expired;
      ++removed;
    }
  }
  return removed;
}

bool FlowTable::reclaimExpired(TimePoint now) {
  // Each list has one timeout and is ordered by last use, so checking the tails is exact.
  return sweep(now, 1) == 1;
}

void FlowTable::link(Flow& flow, List list) {
  const uint32_t index = indexOf(flow);
  Ends& ends = lists_[list];
  flow.list_ = list;
  flow.prev_ = kNil;
  flow.next_ = ends.head;
  if (ends.head != kNil) {
    flows_[ends.head].prev_ = index;
  } else {
    ends.tail = index;
  }
  ends.head = index;
}

void FlowTable::unlink(Flow& flow) {
  Ends& ends = lists_[flow.list_];
  if (flow.prev_ != kNil) {
    flows_[flow.prev_].next_ = flow.next_;
  } else {
    ends.head = flow.next_;
  }
  if (flow.next_ != kNil) {
    flows_[flow.next_].prev_ = flow.prev_;
  } else {
    ends.tail = flow.prev_;
  }
}

void FlowTable::indexReverse(Flow& flow) {
  // Two flows share a reverse key only if they reach the same instance with the same ports, a
  // connection the instance cannot tell apart either: the newer one gets the replies.
  const FlowKey key = reverseKey(flow);
  const uint32_t h = hash(key);
  const uint32_t other =
      reverse_.find(h, [&](uint32_t f) { return hasReverseKey(flows_[f], key); });
  if (other != kNil) {
    reverse_.erase(h, other);
    flows_[other].reverse_indexed_ = false;
  }
  reverse_.insert(h, indexOf(flow));
  flow.reverse_indexed_ = true;
}

void FlowTable::unindexReverse(Flow& flow) {
  if (!flow.reverse_indexed_) return;
  reverse_.erase(hash(reverseKey(flow)), indexOf(flow));
  flow.reverse_indexed_ = false;
}

}  // namespace oak::overlay
