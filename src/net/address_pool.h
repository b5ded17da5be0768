#pragma once
// Round-robin allocation of addresses and subnets. The pool is pure: the caller persists the cursor
// and answers "is this taken?", so one implementation serves the store-backed root and the tests.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/result.h"
#include "net/ip.h"

namespace oak::net {

// Hands out blocks of `block_size` consecutive addresses (1 for single addresses, 64 for /26
// subnets, 256 for /120 subnets); a block is named by its first address. In each range, blocks
// start at `first` and step by `block_size`; `last` is the last address a block may start at.
//
// Round robin: a search starts at the cursor (the `next_cursor` of the previous allocation, or the
// first block when there is none), skips blocks that are not `usable` or are taken, and wraps
// around once at the end of the last range. A released address is therefore reused only after the
// rest of the pool has been offered, which keeps stale caches on workers harmless for longest.
// A cursor that is not a block start moves forward to the next one.
//
// A search examines at most `max_probes` blocks (and never more than the pool holds); if none of
// them is free, the result is ErrorCode::kExhausted. The default covers every IPv4 pool of the
// product completely, so exhaustion there is exact. In the huge IPv6 ranges it means that
// `max_probes` consecutive candidates were taken, which a sparse allocation never comes near.
template <class Address>
class AddressPool {
 public:
  using Predicate = std::function<bool(const Address&)>;
  struct Range {
    Address first;
    Address last;
  };
  struct Allocation {
    Address address;      // first address of the block handed out
    Address next_cursor;  // where the next search begins: persist it, pass it to the next call
  };
  static constexpr uint64_t kDefaultMaxProbes = uint64_t{1} << 20;

  // `block_size` 0 counts as 1. `usable` (none = all) marks blocks the pool must never hand out.
  AddressPool(Address first, Address last, uint64_t block_size = 1, Predicate usable = {});
  // Several disjoint ranges searched in ascending order as one cycle; empty ranges are dropped.
  explicit AddressPool(std::vector<Range> ranges, uint64_t block_size = 1, Predicate usable = {});

  Result<Allocation> allocate(std::optional<Address> cursor, const Predicate& is_taken,
                              uint64_t max_probes = kDefaultMaxProbes) const;

  // True if `a` starts a usable block of this pool, i.e. `allocate` may hand it out.
  bool inRange(const Address& a) const;

  uint64_t blockSize() const { return block_size_; }
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  struct Position {
    size_t range;
    Uint128 block;
  };
  Position start(const std::optional<Address>& cursor) const;
  Position advance(Position p) const;
  Address at(Position p) const;
  Uint128 lastBlock(size_t range) const;

  std::vector<Range> ranges_;
  uint64_t block_size_;
  Predicate usable_;
};

extern template class AddressPool<Ipv4Address>;
extern template class AddressPool<Ipv6Address>;

using Ipv4Pool = AddressPool<Ipv4Address>;
using Ipv6Pool = AddressPool<Ipv6Address>;

}  // namespace oak::net
