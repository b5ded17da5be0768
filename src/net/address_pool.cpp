#include "net/address_pool.h"

#include <algorithm>
#include <string>
#include <utility>

namespace oak::net {
namespace {

// Both address families are handled as 128-bit integers; IPv4 values simply stay small.
Uint128 toInt(Ipv4Address a) {
  return a.toUint32();
}
Uint128 toInt(const Ipv6Address& a) {
  return a.toUint128();
}

template <class Address>
Address fromInt(Uint128 v);
template <>
Ipv4Address fromInt<Ipv4Address>(Uint128 v) {
  return Ipv4Address(static_cast<uint32_t>(v));
}
template <>
Ipv6Address fromInt<Ipv6Address>(Uint128 v) {
  return Ipv6Address::fromUint128(v);
}

Uint128 saturatingAdd(Uint128 a, Uint128 b) {
  return a + b < a ? ~Uint128{0} : a + b;
}

}  // namespace

template <class Address>
AddressPool<Address>::AddressPool(Address first, Address last, uint64_t block_size,
                                  Predicate usable)
    : AddressPool(std::vector<Range>{{first, last}}, block_size, std::move(usable)) {}

template <class Address>
AddressPool<Address>::AddressPool(std::vector<Range> ranges, uint64_t block_size, Predicate usable)
    : ranges_(std::move(ranges)),
      block_size_(std::max<uint64_t>(block_size, 1)),
      usable_(std::move(usable)) {
  std::erase_if(ranges_, [](const Range& r) { return r.last < r.first; });
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.first < b.first; });
}

template <class Address>
Uint128 AddressPool<Address>::lastBlock(size_t range) const {
  const Range& r = ranges_[range];
  return (toInt(r.last) - toInt(r.first)) / block_size_;
}

template <class Address>
Address AddressPool<Address>::at(Position p) const {
  return fromInt<Address>(toInt(ranges_[p.range].first) + p.block * block_size_);
}

template <class Address>
typename AddressPool<Address>::Position AddressPool<Address>::advance(Position p) const {
  if (p.block < lastBlock(p.range)) return {p.range, p.block + 1};
  return {(p.range + 1) % ranges_.size(), 0};
}

template <class Address>
typename AddressPool<Address>::Position AddressPool<Address>::start(
    const std::optional<Address>& cursor) const {
  if (!cursor) return {0, 0};
  const Uint128 c = toInt(*cursor);
  for (size_t i = 0; i < ranges_.size(); ++i) {
    const Uint128 first = toInt(ranges_[i].first);
    if (c > toInt(ranges_[i].last)) continue;
    if (c <= first) return {i, 0};
    const Uint128 offset = c - first;
    const Uint128 block = offset / block_size_ + (offset % block_size_ != 0 ? 1 : 0);
    if (block <= lastBlock(i)) return {i, block};
  }
  return {0, 0};
}

template <class Address>
Result<typename AddressPool<Address>::Allocation> AddressPool<Address>::allocate(
    std::optional<Address> cursor, const Predicate& is_taken, uint64_t max_probes) const {
  if (ranges_.empty()) return makeError(ErrorCode::kExhausted, "the address pool is empty");
  Uint128 blocks = 0;
  for (size_t i = 0; i < ranges_.size(); ++i)
    blocks = saturatingAdd(blocks, saturatingAdd(lastBlock(i), 1));
  const Uint128 limit = std::min<Uint128>(blocks, max_probes);

  Position p = start(cursor);
  for (Uint128 probe = 0; probe < limit; ++probe) {
    const Address candidate = at(p);
    p = advance(p);
    if (usable_ && !usable_(candidate)) continue;
    if (is_taken && is_taken(candidate)) continue;
    return Allocation{candidate, at(p)};
  }
  std::string where = ranges_.front().first.toString() + " - " + ranges_.back().last.toString();
  if (limit == blocks) return makeError(ErrorCode::kExhausted, "no free address left in " + where);
  return makeError(ErrorCode::kExhausted, "no free address among " + std::to_string(max_probes) +
                                              " candidates in " + where);
}

template <class Address>
bool AddressPool<Address>::inRange(const Address& a) const {
  for (const Range& r : ranges_) {
    if (a < r.first || r.last < a) continue;
    if ((toInt(a) - toInt(r.first)) % block_size_ != 0) return false;
    return !usable_ || usable_(a);
  }
  return false;
}

template class AddressPool<Ipv4Address>;
template class AddressPool<Ipv6Address>;

}  // namespace oak::net
