#include "overlay/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "overlay/packet.h"

namespace oak::overlay {
namespace {

constexpr uint32_t kNil = 0xffffffff;
static_assert(std::is_trivially_destructible_v<Flow>, "flows are freed without destruction");

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

void FlowTable::FreeMemory::operator()(void* p) const {
  std::free(p);
}

// calloc: the kernel hands out zero pages lazily, so an idle proxy does not pay for its
// capacity.
template <class T>
std::unique_ptr<T[], FlowTable::FreeMemory> FlowTable::allocate(size_t n) {
  auto* p = static_cast<T*>(std::calloc(n, sizeof(T)));
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeMemory>(p);
}

FlowTable::Index::Index(size_t capacity)
    : mask_(std::bit_ceil(std::max<size_t>(16, capacity * 2)) - 1),
      slots_(allocate<Slot>(mask_ + 1)) {}

template <class Matches>
uint32_t FlowTable::Index::find(uint32_t hash, Matches&& matches) const {
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.flow_plus_one == 0) return kNil;
    if (s.hash == hash && matches(s.flow_plus_one - 1)) return s.flow_plus_one - 1;
  }
}

void FlowTable::Index::insert(uint32_t hash, uint32_t flow) {
  size_t i = hash & mask_;
  while (slots_[i].flow_plus_one != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{flow + 1, hash};
}

void FlowTable::Index::erase(uint32_t hash, uint32_t flow) {
  size_t hole = hash & mask_;
  while (slots_[hole].flow_plus_one != flow + 1) {
    if (slots_[hole].flow_plus_one == 0) return;
    hole = (hole + 1) & mask_;
  }
  // Pull back every later entry of the cluster that may live in the hole (its home slot is not
  // between the hole and itself), so that lookups never stop early at a gap.
  for (size_t j = (hole + 1) & mask_; slots_[j].flow_plus_one != 0; j = (j + 1) & mask_) {
    const size_t home = slots_[j].hash & mask_;
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{0, 0};
}

FlowTable::FlowTable(Options options)
    : options_(options),
      timeouts_{options.tcp_timeout, options.closing_timeout, options.udp_timeout,
                options.icmp_timeout},
      capacity_(std::clamp<size_t>(options.capacity, 1, kNil - 1)),
      flows_(allocate<Flow>(capacity_)),
      forward_(capacity_),
      reverse_(capacity_) {
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
  if (free_ == kNil && constructed_ == capacity_ && !reclaimExpired(now)) {
    ++counters_.refused;
    return nullptr;
  }
  uint32_t index = free_;
  if (index != kNil) {
    free_ = flows_[index].next_;
  } else {
    index = constructed_++;  // never used before: its memory is touched only now
    std::construct_at(&flows_[index]);
  }
  Flow& flow = flows_[index];
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
