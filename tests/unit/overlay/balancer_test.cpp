#include "overlay/balancer.h"

#include <gtest/gtest.h>

#include <map>

#include "net/address_plan.h"
#include "testing_packets.h"

namespace oak::overlay {
namespace {

using namespace std::chrono_literals;
using testing::v4;
using testing::v6;

const TunnelEndpoint kW1{v4("172.31.0.1"), 50103};
const TunnelEndpoint kW2{v4("172.31.0.2"), 50103};
const TunnelEndpoint kW3{v4("172.31.0.3"), 50103};

InstanceRoute instance(int64_t number, const TunnelEndpoint& host, bool with_v6 = true) {
  InstanceRoute r;
  r.instance_number = number;
  r.worker_id = "w";
  r.instance_ip = v4("10.30.0.100") + static_cast<uint32_t>(number);
  r.instance_ip6 = v6("fdff::100") + static_cast<net::Uint128>(number);
  r.nsip = v4("10.18.0.66") + static_cast<uint32_t>(number);
  if (with_v6) r.nsip6 = v6("fc00::102") + static_cast<net::Uint128>(number);
  r.host = host;
  return r;
}

JobRoutes service(std::vector<InstanceRoute> instances) {
  return JobRoutes{.job_name = "app.ns.svc.ns",
                   .service_ips = {{net::kRoundRobinPolicy, v4("10.30.0.1"), v6("fdff:2000::1")},
                                   {net::kClosestPolicy, v4("10.30.0.2"), v6("fdff:1000::1")}},
                   .instances = std::move(instances)};
}

struct Fixture {
  explicit Fixture(std::vector<InstanceRoute> instances)
      : table(ServiceTable::Builder().add(service(std::move(instances))).build()) {
    balancer.setTable(nullptr, *table);
  }
  // Instance numbers chosen for `n` new flows.
  std::map<int64_t, int> choose(const char* address, int n, bool ipv6 = false) {
    std::map<int64_t, int> count;
    const Resolution* r = ipv6 ? table->resolve(v6(address)) : table->resolve(v4(address));
    for (int i = 0; i < n; ++i) {
      const InstanceRoute* chosen = balancer.choose(*r, ipv6, rtt);
      if (chosen == nullptr) {
        ++count[-1];
      } else {
        ++count[chosen->instance_number];
      }
    }
    return count;
  }
  std::shared_ptr<const ServiceTable> table;
  Balancer balancer;
  RttTable rtt;
};

using Counts = std::map<int64_t, int>;

TEST(BalancerTest, RoundRobinIsExactlyEven) {
  Fixture f({instance(1, kW2), instance(0, kW2)});
  EXPECT_EQ(f.choose("10.30.0.1", 100), (Counts{{0, 50}, {1, 50}}));
  Fixture g({instance(0, kW2), instance(1, kW2), instance(2, kW3)});
  EXPECT_EQ(g.choose("10.30.0.1", 99), (Counts{{0, 33}, {1, 33}, {2, 33}}));
}

TEST(BalancerTest, RoundRobinFollowsInstanceNumbers) {
  Fixture f({instance(7, kW2), instance(3, kW2), instance(5, kW2)});
  const Resolution* r = f.table->resolve(v4("10.30.0.1"));
  std::vector<int64_t> order;
  for (int i = 0; i < 6; ++i) order.push_back(f.balancer.choose(*r, false, f.rtt)->instance_number);
  EXPECT_EQ(order, (std::vector<int64_t>{3, 5, 7, 3, 5, 7}));
}

TEST(BalancerTest, CountersSurviveTableUpdates) {
  Fixture f({instance(0, kW2), instance(1, kW2)});
  const Resolution* r = f.table->resolve(v4("10.30.0.1"));
  EXPECT_EQ(f.balancer.choose(*r, false, f.rtt)->instance_number, 0);
  // A new snapshot with one more instance: the counter goes on from where it was.
  auto next = ServiceTable::Builder()
                  .add(JobRoutes{.job_name = "other.ns.x.ns", .service_ips = {}, .instances = {}})
                  .add(service({instance(0, kW2), instance(1, kW2), instance(2, kW2)}))
                  .build();
  f.balancer.setTable(f.table.get(), *next);
  f.table = next;
  r = f.table->resolve(v4("10.30.0.1"));
  EXPECT_EQ(f.balancer.choose(*r, false, f.rtt)->instance_number, 1);
  EXPECT_EQ(f.balancer.choose(*r, false, f.rtt)->instance_number, 2);
}

TEST(BalancerTest, Ipv6NeedsANamespaceAddress) {
  Fixture f({instance(0, kW2), instance(1, kW2, false), instance(2, kW2)});
  EXPECT_EQ(f.choose("fdff:2000::1", 10, true), (Counts{{0, 5}, {2, 5}}));
  EXPECT_EQ(f.choose("10.30.0.1", 9), (Counts{{0, 3}, {1, 3}, {2, 3}}));
  Fixture g({instance(0, kW2, false)});
  EXPECT_EQ(g.choose("fdff:2000::1", 1, true), (Counts{{-1, 1}}));
  EXPECT_EQ(g.choose("fdff::100", 1, true), (Counts{{-1, 1}}));  // its instance address
  Fixture empty({});
  EXPECT_EQ(empty.choose("10.30.0.1", 1), (Counts{{-1, 1}}));
}

TEST(BalancerTest, InstanceAddressAlwaysYieldsItsInstance) {
  Fixture f({instance(0, kW2), instance(1, kW3)});
  EXPECT_EQ(f.choose("10.30.0.101", 5), (Counts{{1, 5}}));
  EXPECT_EQ(f.choose("fdff::100", 5, true), (Counts{{0, 5}}));
}

TEST(BalancerTest, ClosestPrefersTheLowestRtt) {
  Fixture f({instance(0, kW2), instance(1, kW3), instance(2, kW3), instance(3, kW1)});
  // Nothing measured: all are equally unknown, round robin among them.
  EXPECT_EQ(f.choose("10.30.0.2", 8), (Counts{{0, 2}, {1, 2}, {2, 2}, {3, 2}}));
  f.rtt.set(kW2, 30ms);
  EXPECT_EQ(f.choose("10.30.0.2", 4), (Counts{{0, 4}}));  // known beats unknown
  f.rtt.set(kW3, 10ms);
  EXPECT_EQ(f.choose("10.30.0.2", 4), (Counts{{1, 2}, {2, 2}}));  // a tie: round robin
  f.rtt.set(kW1, 0ms);
  EXPECT_EQ(f.choose("fdff:1000::1", 3, true), (Counts{{3, 3}}));
  // The round-robin address ignores RTTs.
  EXPECT_EQ(f.choose("10.30.0.1", 4), (Counts{{0, 1}, {1, 1}, {2, 1}, {3, 1}}));
}

TEST(RttTableTest, SmoothsSamplesOfKnownEndpoints) {
  RttTable rtt;
  EXPECT_FALSE(rtt.sample(kW2, 10ms));  // never probed: ignored
  EXPECT_FALSE(rtt.get(kW2));
  rtt.expect(kW2);
  EXPECT_FALSE(rtt.get(kW2));
  EXPECT_TRUE(rtt.sample(kW2, 16ms));
  EXPECT_EQ(rtt.get(kW2), 16ms);
  EXPECT_TRUE(rtt.sample(kW2, 24ms));
  EXPECT_EQ(rtt.get(kW2), 17ms);  // 16 + (24 - 16) / 8
  rtt.set(kW2, 5ms);
  EXPECT_EQ(rtt.get(kW2), 5ms);
  rtt.erase(kW2);
  EXPECT_FALSE(rtt.get(kW2));
}

TEST(RttTableTest, IsBounded) {
  RttTable rtt(2);
  rtt.set(kW1, 1ms);
  rtt.expect(kW2);
  rtt.set(kW3, 1ms);
  rtt.expect(kW3);
  EXPECT_EQ(rtt.size(), 2u);
  EXPECT_FALSE(rtt.get(kW3));
  rtt.set(kW1, 2ms);  // known endpoints still update
  EXPECT_EQ(rtt.get(kW1), 2ms);
}

}  // namespace
}  // namespace oak::overlay
