#include "net/address_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace oak::net {
namespace {

Ipv4Address v4(const char* text) {
  return *Ipv4Address::parse(text);
}
Ipv6Address v6(const char* text) {
  return *Ipv6Address::parse(text);
}

// Plays the caller: keeps the cursor and the set of taken addresses between allocations.
template <class Address>
class Allocator {
 public:
  explicit Allocator(AddressPool<Address> pool) : pool_(std::move(pool)) {}

  Result<Address> next(uint64_t max_probes = AddressPool<Address>::kDefaultMaxProbes) {
    auto r = pool_.allocate(
        cursor_, [this](const Address& a) { return taken_.contains(a); }, max_probes);
    if (!r) return r.error();
    cursor_ = r->next_cursor;
    taken_.insert(r->address);
    return r->address;
  }
  std::string nextText() {
    auto r = next();
    return r ? r->toString() : "error: " + r.error().message;
  }
  void release(const Address& a) { taken_.erase(a); }
  void take(const Address& a) { taken_.insert(a); }

 private:
  AddressPool<Address> pool_;
  std::optional<Address> cursor_;
  std::set<Address> taken_;
};

TEST(AddressPoolTest, HandsOutAddressesInOrder) {
  Allocator<Ipv4Address> alloc(Ipv4Pool(v4("10.0.0.1"), v4("10.0.0.4")));
  EXPECT_EQ(alloc.nextText(), "10.0.0.1");
  EXPECT_EQ(alloc.nextText(), "10.0.0.2");
  EXPECT_EQ(alloc.nextText(), "10.0.0.3");
  EXPECT_EQ(alloc.nextText(), "10.0.0.4");
  const auto exhausted = alloc.next();
  ASSERT_FALSE(exhausted.has_value());
  EXPECT_EQ(exhausted.error().code, ErrorCode::kExhausted);
  EXPECT_EQ(exhausted.error().message, "no free address left in 10.0.0.1 - 10.0.0.4");
}

TEST(AddressPoolTest, ReportsTheNextCursorAndWrapsIt) {
  const Ipv4Pool pool(v4("10.0.0.1"), v4("10.0.0.4"));
  auto r = pool.allocate(std::nullopt, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, v4("10.0.0.1"));
  EXPECT_EQ(r->next_cursor, v4("10.0.0.2"));
  r = pool.allocate(v4("10.0.0.4"), {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, v4("10.0.0.4"));
  EXPECT_EQ(r->next_cursor, v4("10.0.0.1"));
}

TEST(AddressPoolTest, SkipsTakenAddresses) {
  Allocator<Ipv4Address> alloc(Ipv4Pool(v4("10.0.0.1"), v4("10.0.0.6")));
  alloc.take(v4("10.0.0.2"));
  alloc.take(v4("10.0.0.3"));
  EXPECT_EQ(alloc.nextText(), "10.0.0.1");
  EXPECT_EQ(alloc.nextText(), "10.0.0.4");
  alloc.take(v4("10.0.0.5"));
  EXPECT_EQ(alloc.nextText(), "10.0.0.6");
}

TEST(AddressPoolTest, ReusesAReleasedAddressOnlyAfterTheRest) {
  Allocator<Ipv4Address> alloc(Ipv4Pool(v4("10.0.0.1"), v4("10.0.0.5")));
  EXPECT_EQ(alloc.nextText(), "10.0.0.1");
  EXPECT_EQ(alloc.nextText(), "10.0.0.2");
  EXPECT_EQ(alloc.nextText(), "10.0.0.3");
  alloc.release(v4("10.0.0.1"));
  alloc.release(v4("10.0.0.2"));
  EXPECT_EQ(alloc.nextText(), "10.0.0.4");
  EXPECT_EQ(alloc.nextText(), "10.0.0.5");
  EXPECT_EQ(alloc.nextText(), "10.0.0.1");  // wrapped around
  EXPECT_EQ(alloc.nextText(), "10.0.0.2");
  EXPECT_FALSE(alloc.next().has_value());
  alloc.release(v4("10.0.0.4"));
  EXPECT_EQ(alloc.nextText(), "10.0.0.4");
}

TEST(AddressPoolTest, SteppedBlocksAndMisalignedCursor) {
  const Ipv4Pool pool(v4("10.18.0.0"), v4("10.18.1.192"), 64);
  EXPECT_EQ(pool.blockSize(), 64u);
  auto r = pool.allocate(v4("10.18.0.10"), {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, v4("10.18.0.64"));
  EXPECT_EQ(r->next_cursor, v4("10.18.0.128"));
  r = pool.allocate(v4("10.18.1.193"), {});  // past the last block start: wraps
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, v4("10.18.0.0"));
  EXPECT_TRUE(pool.inRange(v4("10.18.1.192")));
  EXPECT_FALSE(pool.inRange(v4("10.18.1.193")));
  EXPECT_FALSE(pool.inRange(v4("10.18.0.1")));
  EXPECT_FALSE(pool.inRange(v4("10.18.2.0")));
}

TEST(AddressPoolTest, CursorOutsideTheRangeStartsAtTheFirstBlock) {
  const Ipv4Pool pool(v4("10.0.0.10"), v4("10.0.0.20"));
  EXPECT_EQ(pool.allocate(v4("10.0.0.1"), {})->address, v4("10.0.0.10"));
  EXPECT_EQ(pool.allocate(v4("10.0.0.21"), {})->address, v4("10.0.0.10"));
  EXPECT_EQ(pool.allocate(v4("10.0.0.15"), {})->address, v4("10.0.0.15"));
}

TEST(AddressPoolTest, NeverHandsOutUnusableAddresses) {
  const Ipv4Pool pool(v4("10.0.0.0"), v4("10.0.0.9"), 1,
                      [](Ipv4Address a) { return a.octets()[3] % 2 == 1; });
  Allocator<Ipv4Address> alloc(pool);
  std::vector<std::string> got;
  for (auto r = alloc.next(); r; r = alloc.next()) got.push_back(r->toString());
  EXPECT_EQ(got,
            (std::vector<std::string>{"10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.7", "10.0.0.9"}));
  EXPECT_TRUE(pool.inRange(v4("10.0.0.3")));
  EXPECT_FALSE(pool.inRange(v4("10.0.0.4")));
}

TEST(AddressPoolTest, SeveralRangesFormOneCycle) {
  // Given out of order on purpose: the pool searches them in ascending order.
  const Ipv4Pool pool({{v4("10.0.1.0"), v4("10.0.1.1")}, {v4("10.0.0.0"), v4("10.0.0.1")}});
  ASSERT_EQ(pool.ranges().size(), 2u);
  Allocator<Ipv4Address> alloc(pool);
  EXPECT_EQ(alloc.nextText(), "10.0.0.0");
  EXPECT_EQ(alloc.nextText(), "10.0.0.1");
  EXPECT_EQ(alloc.nextText(), "10.0.1.0");
  EXPECT_EQ(alloc.nextText(), "10.0.1.1");
  EXPECT_FALSE(alloc.next().has_value());
  EXPECT_EQ(pool.allocate(v4("10.0.0.200"), {})->address, v4("10.0.1.0"));  // cursor in the gap
  EXPECT_EQ(pool.allocate(v4("10.0.0.1"), {})->next_cursor, v4("10.0.1.0"));
  EXPECT_EQ(pool.allocate(v4("10.0.1.1"), {})->next_cursor, v4("10.0.0.0"));
  EXPECT_FALSE(pool.inRange(v4("10.0.0.2")));
}

TEST(AddressPoolTest, EmptyPoolIsExhausted) {
  const Ipv4Pool pool(v4("10.0.0.2"), v4("10.0.0.1"));
  const auto r = pool.allocate(std::nullopt, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kExhausted);
  EXPECT_FALSE(pool.inRange(v4("10.0.0.1")));
}

TEST(AddressPoolTest, StopsAfterMaxProbes) {
  const Ipv6Pool pool(v6("fdff:2000::1"), v6("fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff"));
  uint64_t asked = 0;
  const auto r = pool.allocate(
      std::nullopt,
      [&asked](const Ipv6Address&) {
        ++asked;
        return true;
      },
      1000);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kExhausted);
  EXPECT_EQ(asked, 1000u);
  EXPECT_EQ(r.error().message,
            "no free address among 1000 candidates in fdff:2000::1 - "
            "fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(AddressPoolTest, SmallRangeIsSearchedOnlyOnce) {
  const Ipv4Pool pool(v4("10.0.0.1"), v4("10.0.0.3"));
  uint64_t asked = 0;
  const auto r = pool.allocate(v4("10.0.0.2"), [&asked](const Ipv4Address&) {
    ++asked;
    return true;
  });
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(asked, 3u);
}

TEST(AddressPoolTest, Ipv6BlocksOf256) {
  Allocator<Ipv6Address> alloc(Ipv6Pool(v6("fc00::"), v6("fc00::300"), 256));
  EXPECT_EQ(alloc.nextText(), "fc00::");
  EXPECT_EQ(alloc.nextText(), "fc00::100");
  alloc.take(v6("fc00::200"));
  EXPECT_EQ(alloc.nextText(), "fc00::300");
  EXPECT_FALSE(alloc.next().has_value());
}

TEST(AddressPoolTest, WholeIpv6SpaceDoesNotOverflow) {
  const Ipv6Pool pool(v6("::"), v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  const auto r = pool.allocate(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->next_cursor, v6("::"));
  EXPECT_FALSE(pool.allocate(
      std::nullopt, [](const Ipv6Address&) { return true; }, 5));
}

}  // namespace
}  // namespace oak::net
