#include "overlay/flow_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "overlay/packet.h"
#include "testing_packets.h"

namespace oak::overlay {
namespace {

using namespace std::chrono_literals;
using testing::v4;

const TimePoint kStart = TimePoint(std::chrono::seconds(1'700'000'000));

FlowKey key(uint16_t client_port, uint8_t protocol = kProtoTcp, const char* client = "10.18.0.2") {
  return FlowKey{.local = widen(v4(client)),
                 .remote = widen(v4("10.30.0.1")),
                 .local_port = client_port,
                 .remote_port = 80,
                 .version = 4,
                 .protocol = protocol};
}

FlowTarget target(const char* instance_ip = "10.30.0.3") {
  return FlowTarget{.sender_ip = widen(v4("10.30.0.10")),
                    .nsip = widen(v4("10.18.0.66")),
                    .instance_ip = widen(v4(instance_ip)),
                    .peer = {v4("172.31.0.2"), 50103}};
}

// What a reply of the flow carries, seen from the client.
FlowKey replyOf(const FlowKey& k, const char* instance_ip = "10.30.0.3") {
  FlowKey r = k;
  r.remote = widen(v4(instance_ip));
  return r;
}

FlowTable small(size_t capacity) {
  return FlowTable(FlowTable::Options{.capacity = capacity, .seed = 42});
}

TEST(FlowTableTest, InsertFindAndReverse) {
  FlowTable t = small(16);
  Flow* f = t.insert(key(1000), target(), kStart);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(t.find(key(1000), kStart), f);
  EXPECT_EQ(t.find(key(1001), kStart), nullptr);
  EXPECT_EQ(t.find(key(1000, kProtoUdp), kStart), nullptr);
  EXPECT_EQ(t.findReverse(replyOf(key(1000)), kStart), f);
  EXPECT_EQ(t.findReverse(replyOf(key(1000), "10.30.0.4"), kStart), nullptr);
  EXPECT_EQ(t.findReverse(replyOf(key(1000, kProtoUdp)), kStart), nullptr);
  EXPECT_EQ(FlowTable::reverseKey(*f), replyOf(key(1000)));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.counters().created, 1u);
  t.erase(*f);
  EXPECT_EQ(t.find(key(1000), kStart), nullptr);
  EXPECT_EQ(t.findReverse(replyOf(key(1000)), kStart), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTableTest, IdleTimeoutsPerProtocol) {
  struct Case {
    uint8_t protocol;
    uint8_t flags;
    std::chrono::seconds timeout;
  };
  for (const Case& c :
       {Case{kProtoTcp, 0x10, 300s}, Case{kProtoTcp, kTcpFin | 0x10, 10s},
        Case{kProtoTcp, kTcpRst, 10s}, Case{kProtoUdp, 0, 60s}, Case{kProtoIcmp, 0, 10s}}) {
    FlowTable t = small(16);
    Flow* f = t.insert(key(1000, c.protocol), target(), kStart);
    t.touch(*f, kStart + 1s, c.flags);
    EXPECT_NE(t.find(key(1000, c.protocol), kStart + c.timeout), nullptr);
    EXPECT_EQ(t.find(key(1000, c.protocol), kStart + 1s + c.timeout), nullptr)
        << int(c.protocol) << " " << c.timeout.count();
    EXPECT_EQ(t.counters().expired, 1u);
    EXPECT_EQ(t.size(), 0u);
  }
}

TEST(FlowTableTest, SynReopensAClosingFlow) {
  FlowTable t = small(16);
  Flow* f = t.insert(key(1000), target(), kStart);
  t.touch(*f, kStart, kTcpFin);
  EXPECT_TRUE(f->closing);
  t.touch(*f, kStart + 5s, kTcpSyn);
  EXPECT_FALSE(f->closing);
  EXPECT_NE(t.find(key(1000), kStart + 100s), nullptr);
}

TEST(FlowTableTest, ReverseLookupOfAnExpiredFlowMisses) {
  FlowTable t = small(16);
  t.insert(key(1000, kProtoUdp), target(), kStart);
  EXPECT_NE(t.findReverse(replyOf(key(1000, kProtoUdp)), kStart + 59s), nullptr);
  EXPECT_EQ(t.findReverse(replyOf(key(1000, kProtoUdp)), kStart + 60s), nullptr);
}

TEST(FlowTableTest, FullTableReusesExpiredFlowsThenRefuses) {
  FlowTable t = small(4);
  for (uint16_t port = 1; port <= 4; ++port) {
    ASSERT_NE(t.insert(key(port, kProtoUdp), target(), kStart + std::chrono::seconds(port)),
              nullptr);
  }
  EXPECT_EQ(t.insert(key(5, kProtoUdp), target(), kStart + 10s), nullptr);
  EXPECT_EQ(t.counters().refused, 1u);
  // Port 1 idled 60 s: its slot is reused, the others stay.
  ASSERT_NE(t.insert(key(6, kProtoUdp), target(), kStart + 61s), nullptr);
  EXPECT_EQ(t.counters().expired, 1u);
  EXPECT_EQ(t.find(key(1, kProtoUdp), kStart + 61s), nullptr);
  EXPECT_NE(t.find(key(2, kProtoUdp), kStart + 61s), nullptr);
  EXPECT_EQ(t.size(), 4u);
  // A short-lived ICMP flow expires before the UDP ones.
  FlowTable u = small(2);
  u.insert(key(1, kProtoUdp), target(), kStart);
  u.insert(key(2, kProtoIcmp), target(), kStart);
  EXPECT_NE(u.insert(key(3, kProtoUdp), target(), kStart + 10s), nullptr);
  EXPECT_NE(u.find(key(1, kProtoUdp), kStart + 10s), nullptr);
}

TEST(FlowTableTest, SweepIsBoundedAndOldestFirst) {
  FlowTable t = small(256);
  for (uint16_t port = 0; port < 100; ++port) {
    t.insert(key(port, kProtoUdp), target(), kStart + std::chrono::milliseconds(port));
  }
  t.insert(key(1000, kProtoTcp), target(), kStart);
  EXPECT_EQ(t.sweep(kStart + 30s), 0u);
  EXPECT_EQ(t.sweep(kStart + 61s, 10), 10u);
  EXPECT_EQ(t.size(), 91u);
  EXPECT_EQ(t.find(key(9, kProtoUdp), kStart), nullptr);  // swept
  EXPECT_NE(t.find(key(10, kProtoUdp), kStart), nullptr);
  EXPECT_EQ(t.sweep(kStart + 61s), 90u);
  EXPECT_EQ(t.size(), 1u);  // TCP lives 300 s
  EXPECT_EQ(t.counters().expired, 100u);
}

TEST(FlowTableTest, TouchKeepsAFlowAlive) {
  FlowTable t = small(16);
  Flow* f = t.insert(key(1, kProtoUdp), target(), kStart);
  for (int i = 1; i <= 10; ++i) t.touch(*f, kStart + std::chrono::seconds(50 * i), 0);
  EXPECT_EQ(t.sweep(kStart + 550s), 0u);
  EXPECT_NE(t.find(key(1, kProtoUdp), kStart + 550s), nullptr);
}

TEST(FlowTableTest, RetargetMovesTheReverseKey) {
  FlowTable t = small(16);
  Flow* f = t.insert(key(1000), target("10.30.0.3"), kStart);
  t.retarget(*f, target("10.30.0.4"));
  EXPECT_EQ(t.findReverse(replyOf(key(1000), "10.30.0.3"), kStart), nullptr);
  EXPECT_EQ(t.findReverse(replyOf(key(1000), "10.30.0.4"), kStart), f);
}

TEST(FlowTableTest, NewerFlowTakesASharedReverseKey) {
  // Two service addresses of one service, same ports, same instance: the instance sees one
  // connection; the replies go to the newer flow.
  FlowTable t = small(16);
  FlowKey a = key(1000);
  FlowKey b = key(1000);
  b.remote = widen(v4("10.30.0.2"));
  Flow* fa = t.insert(a, target(), kStart);
  Flow* fb = t.insert(b, target(), kStart);
  EXPECT_EQ(t.findReverse(replyOf(a), kStart), fb);
  t.erase(*fa);  // does not take fb's reverse entry with it
  EXPECT_EQ(t.findReverse(replyOf(a), kStart), fb);
  t.erase(*fb);
  EXPECT_EQ(t.findReverse(replyOf(a), kStart), nullptr);
}

// Random inserts, lookups and erasures against a std::map, in a small table so that probe
// sequences wrap around and backward-shift deletion is exercised.
TEST(FlowTableTest, MatchesAModelUnderChurn) {
  FlowTable t = small(64);
  std::map<std::pair<uint16_t, int>, Flow*> model;
  std::mt19937 random(3);
  for (int step = 0; step < 200000; ++step) {
    const auto port = static_cast<uint16_t>(random() % 96);
    const int client = static_cast<int>(random() % 3);
    const char* clients[] = {"10.18.0.2", "10.18.0.3", "10.18.0.4"};
    const FlowKey k = key(port, kProtoTcp, clients[client]);
    const auto id = std::make_pair(port, client);
    Flow* found = t.find(k, kStart);
    auto it = model.find(id);
    ASSERT_EQ(found, it == model.end() ? nullptr : it->second) << step;
    if (found != nullptr) {
      ASSERT_EQ(t.findReverse(replyOf(k), kStart), found);
      if (random() % 2 == 0) {
        t.erase(*found);
        model.erase(it);
      }
    } else if (model.size() < 64) {
      Flow* f = t.insert(k, target(), kStart);
      ASSERT_NE(f, nullptr);
      model[id] = f;
    } else {
      ASSERT_EQ(t.insert(k, target(), kStart), nullptr);
    }
    ASSERT_EQ(t.size(), model.size());
  }
}

}  // namespace
}  // namespace oak::overlay
