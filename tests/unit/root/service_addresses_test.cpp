// Round-robin service addresses: automatic allocation, persisted cursors, requested addresses,
// conflicts, release and reuse.

#include "root/service_addresses.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

#include "common/json.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;

class ServiceAddressesTest : public test::RootFixture {
 protected:
  // Assigns addresses to `service_id` in a transaction of its own and commits it.
  Result<bj::object> assignAndCommit(const std::string& service_id,
                                     const bj::object* requested = nullptr) {
    auto tx = addresses.begin();
    auto ips = tx.assign(service_id, requested, "addresses");
    if (!ips) return ips;
    OAK_TRY(commit(tx));
    return ips;
  }
  Status commit(AddressTransaction& tx) {
    store::WriteBatch batch;
    OAK_TRY(tx.commitTo(batch));
    return store.apply(batch);
  }
  // A service document holding `ips` as its `service_ip_list`, as `release` reads it.
  static bj::object serviceWith(const bj::object& ips) {
    return bj::object{{"service_ip_list", bj::array{ips}}};
  }
  std::optional<bj::object> addressDoc(const std::string& a) {
    return memory.get(coll::kAddresses, a).value();
  }
  void setCursors(const std::string& v4, const std::string& v6) {
    store::WriteBatch b;
    b.put(coll::kMeta, "address_cursors",
          bj::object{{"_id", "address_cursors"}, {"rr_v4", v4}, {"rr_v6", v6}});
    ASSERT_TRUE(memory.apply(b));
  }
};

std::string v4(const bj::object& ips) {
  return json::getString(ips, "Address").value_or("");
}
std::string v6(const bj::object& ips) {
  return json::getString(ips, "Address_v6").value_or("");
}

TEST_F(ServiceAddressesTest, AutomaticAddressesCountUpFromTheStartOfEachRange) {
  auto tx = addresses.begin();
  auto a = tx.assign("s1", nullptr, "addresses");
  auto b = tx.assign("s2", nullptr, "addresses");
  ASSERT_TRUE(a) << test::errorText(a);
  ASSERT_TRUE(b) << test::errorText(b);
  EXPECT_EQ(
      *a, (bj::object{{"IpType", "RR"}, {"Address", "10.30.0.1"}, {"Address_v6", "fdff:2000::1"}}));
  EXPECT_EQ(v4(*b), "10.30.0.2");
  EXPECT_EQ(v6(*b), "fdff:2000::2");
  // Nothing is stored before the commit.
  EXPECT_TRUE(all(coll::kAddresses).empty());
  ASSERT_TRUE(commit(tx));

  auto doc = addressDoc("10.30.0.2");
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::getString(*doc, "service_id"), "s2");
  EXPECT_EQ(json::getString(*doc, "family"), "ipv4");
  doc = addressDoc("fdff:2000::1");
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::getString(*doc, "service_id"), "s1");
  EXPECT_EQ(json::getString(*doc, "family"), "ipv6");
  EXPECT_EQ(all(coll::kAddresses).size(), 4u);
}

TEST_F(ServiceAddressesTest, CursorSurvivesTheTransaction) {
  ASSERT_TRUE(assignAndCommit("s1"));
  auto second = assignAndCommit("s2");
  ASSERT_TRUE(second);
  EXPECT_EQ(v4(*second), "10.30.0.2");
  EXPECT_EQ(v6(*second), "fdff:2000::2");
  // A fresh `ServiceAddresses` (as after a restart) continues from the stored cursor.
  ServiceAddresses restarted(ctx);
  auto tx = restarted.begin();
  auto third = tx.assign("s3", nullptr, "addresses");
  ASSERT_TRUE(third);
  EXPECT_EQ(v4(*third), "10.30.0.3");
  EXPECT_EQ(v6(*third), "fdff:2000::3");
}

TEST_F(ServiceAddressesTest, ReleasedAddressIsReusedOnlyAfterThePoolWraps) {
  auto first = assignAndCommit("s1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(assignAndCommit("s2"));
  auto tx = addresses.begin();
  tx.release(serviceWith(*first));
  ASSERT_TRUE(commit(tx));
  EXPECT_FALSE(addressDoc("10.30.0.1"));
  EXPECT_FALSE(addressDoc("fdff:2000::1"));

  auto next = assignAndCommit("s3");
  ASSERT_TRUE(next);
  EXPECT_EQ(v4(*next), "10.30.0.3");
  EXPECT_EQ(v6(*next), "fdff:2000::3");

  // Move the cursors to the last address of each range: the next search wraps around to the
  // start, where the released addresses are the first free ones.
  setCursors("10.30.255.254", "fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff");
  auto last = assignAndCommit("s4");
  ASSERT_TRUE(last);
  EXPECT_EQ(v4(*last), "10.30.255.254");
  EXPECT_EQ(v6(*last), "fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff");
  auto wrapped = assignAndCommit("s5");
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(v4(*wrapped), "10.30.0.1");
  EXPECT_EQ(v6(*wrapped), "fdff:2000::1");
  auto after = assignAndCommit("s6");
  ASSERT_TRUE(after);
  EXPECT_EQ(v4(*after), "10.30.0.4");  // .2 and .3 are still taken
  EXPECT_EQ(v6(*after), "fdff:2000::4");
}

TEST_F(ServiceAddressesTest, AutomaticAllocationSkipsRequestedAddresses) {
  bj::object wanted{{"rr_ip", "10.30.0.1"}, {"rr_ip_v6", "fdff:2000::2"}};
  ASSERT_TRUE(assignAndCommit("s1", &wanted));
  auto next = assignAndCommit("s2");
  ASSERT_TRUE(next);
  EXPECT_EQ(v4(*next), "10.30.0.2");
  EXPECT_EQ(v6(*next), "fdff:2000::1");
}

TEST_F(ServiceAddressesTest, RequestedAddressesAreStoredInCanonicalForm) {
  bj::object wanted{{"rr_ip", "10.30.7.9"}, {"rr_ip_v6", "fdff:2000:0::0010"}};
  auto ips = assignAndCommit("s1", &wanted);
  ASSERT_TRUE(ips) << test::errorText(ips);
  EXPECT_EQ(v4(*ips), "10.30.7.9");
  EXPECT_EQ(v6(*ips), "fdff:2000::10");
  EXPECT_TRUE(addressDoc("fdff:2000::10"));
  EXPECT_FALSE(addressDoc("fdff:2000:0::0010"));
  // Another spelling of the same address is the same address.
  bj::object again{{"rr_ip_v6", "FDFF:2000::0:10"}};
  auto taken = assignAndCommit("s2", &again);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);
  // Only one of the pair may be requested; the other is allocated.
  bj::object only_v6{{"rr_ip_v6", "fdff:2000::abcd"}};
  ips = assignAndCommit("s3", &only_v6);
  ASSERT_TRUE(ips);
  EXPECT_EQ(v4(*ips), "10.30.0.1");
  EXPECT_EQ(v6(*ips), "fdff:2000::abcd");
}

TEST_F(ServiceAddressesTest, RequestedAddressesOutsideTheRangesAreRejected) {
  struct Case {
    bj::object requested;
    std::string field;
  };
  const Case cases[] = {
      {{{"rr_ip", "10.31.0.1"}}, "ms.addresses.rr_ip"},
      {{{"rr_ip", "192.168.178.4"}}, "ms.addresses.rr_ip"},
      {{{"rr_ip_v6", "fdff:3000::1"}}, "ms.addresses.rr_ip_v6"},
      {{{"rr_ip_v6", "fdff::1"}}, "ms.addresses.rr_ip_v6"},  // an instance address
      {{{"rr_ip_v6", "fdff:2800::1"}}, "ms.addresses.rr_ip_v6"},
  };
  for (const auto& c : cases) {
    auto tx = addresses.begin();
    auto r = tx.assign("s1", &c.requested, "ms.addresses");
    ASSERT_FALSE(r) << bj::serialize(c.requested);
    EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
    EXPECT_EQ(r.error().message.rfind(c.field + ":", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find("outside"), std::string::npos) << r.error().message;
  }
  // The edges of the IPv6 block are inside it.
  bj::object edge{{"rr_ip_v6", "fdff:27ff:ffff:ffff:ffff:ffff:ffff:fffe"}};
  auto tx = addresses.begin();
  EXPECT_TRUE(tx.assign("s1", &edge, "ms.addresses"));
}

TEST_F(ServiceAddressesTest, RequestedAddressesThatAreNotAddressesAreRejected) {
  for (bj::object requested :
       {bj::object{{"rr_ip", "10.30.300.1"}}, bj::object{{"rr_ip", "10.30.a.b"}},
        bj::object{{"rr_ip", ""}}, bj::object{{"rr_ip", "fdff:2000::1"}},
        bj::object{{"rr_ip_v6", "fdff:2000::g"}}, bj::object{{"rr_ip_v6", "10.30.0.1"}},
        bj::object{{"rr_ip_v6", "fdff:2000:::1"}}}) {
    auto tx = addresses.begin();
    auto r = tx.assign("s1", &requested, "addresses");
    ASSERT_FALSE(r) << bj::serialize(requested);
    EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
    std::string field = requested.contains("rr_ip") ? "addresses.rr_ip:" : "addresses.rr_ip_v6:";
    EXPECT_EQ(r.error().message.rfind(field, 0), 0u) << r.error().message;
  }
  EXPECT_TRUE(all(coll::kAddresses).empty());
}

TEST_F(ServiceAddressesTest, AddressOfAnotherServiceIsAConflict) {
  auto first = assignAndCommit("s1");
  ASSERT_TRUE(first);
  for (bj::object requested :
       {bj::object{{"rr_ip", v4(*first)}}, bj::object{{"rr_ip_v6", v6(*first)}}}) {
    auto tx = addresses.begin();
    auto r = tx.assign("s2", &requested, "addresses");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kConflict);
    EXPECT_NE(r.error().message.find("already used"), std::string::npos) << r.error().message;
  }
}

TEST_F(ServiceAddressesTest, AssignmentsInOneTransactionNeverCollide) {
  auto tx = addresses.begin();
  auto a = tx.assign("s1", nullptr, "addresses");
  ASSERT_TRUE(a);
  // Asking for what the same transaction just handed out.
  bj::object same{{"rr_ip", v4(*a)}};
  auto b = tx.assign("s2", &same, "addresses");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  // Asking first, then allocating: the allocation steps over the requested addresses.
  bj::object ahead{{"rr_ip", "10.30.0.2"}, {"rr_ip_v6", "fdff:2000::2"}};
  auto c = tx.assign("s3", &ahead, "addresses");
  ASSERT_TRUE(c) << test::errorText(c);
  auto d = tx.assign("s4", nullptr, "addresses");
  ASSERT_TRUE(d);
  EXPECT_EQ(v4(*d), "10.30.0.3");
  EXPECT_EQ(v6(*d), "fdff:2000::3");
  // Two requests of the same address in one transaction.
  bj::object twice{{"rr_ip", "10.30.9.9"}, {"rr_ip_v6", "fdff:2000::99"}};
  ASSERT_TRUE(tx.assign("s5", &twice, "addresses"));
  auto e = tx.assign("s6", &twice, "addresses");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kConflict);
}

TEST_F(ServiceAddressesTest, ReleasedAddressCanBeRequestedAgain) {
  bj::object wanted{{"rr_ip", "10.30.5.5"}, {"rr_ip_v6", "fdff:2000::55"}};
  auto ips = assignAndCommit("s1", &wanted);
  ASSERT_TRUE(ips);
  ASSERT_FALSE(assignAndCommit("s2", &wanted));

  auto tx = addresses.begin();
  tx.release(serviceWith(*ips));
  ASSERT_TRUE(commit(tx));
  EXPECT_TRUE(all(coll::kAddresses).empty());

  auto again = assignAndCommit("s2", &wanted);
  ASSERT_TRUE(again) << test::errorText(again);
  auto doc = addressDoc("10.30.5.5");
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::getString(*doc, "service_id"), "s2");
}

TEST_F(ServiceAddressesTest, ReleaseAndRetakeInOneTransactionKeepsTheAddress) {
  bj::object wanted{{"rr_ip", "10.30.5.5"}, {"rr_ip_v6", "fdff:2000::55"}};
  auto ips = assignAndCommit("s1", &wanted);
  ASSERT_TRUE(ips);
  auto tx = addresses.begin();
  tx.release(serviceWith(*ips));
  ASSERT_TRUE(tx.assign("s1", &wanted, "addresses"));
  ASSERT_TRUE(commit(tx));
  EXPECT_TRUE(addressDoc("10.30.5.5"));
  EXPECT_TRUE(addressDoc("fdff:2000::55"));
  EXPECT_EQ(all(coll::kAddresses).size(), 2u);
}

TEST_F(ServiceAddressesTest, NextFreeDoesNotAllocate) {
  ASSERT_TRUE(assignAndCommit("s1"));
  auto before = snapshot();
  auto next = addresses.nextFree();
  ASSERT_TRUE(next) << test::errorText(next);
  EXPECT_EQ(*next, (bj::object{{"ipv4", "10.30.0.2"}, {"ipv6", "fdff:2000::2"}}));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(addresses.nextFree().value(), *next);
  // And it is what the next service really gets.
  auto got = assignAndCommit("s2");
  ASSERT_TRUE(got);
  EXPECT_EQ(v4(*got), "10.30.0.2");
  EXPECT_EQ(v6(*got), "fdff:2000::2");
}

}  // namespace
}  // namespace oak::root
