// The cluster's overlay control plane: subnets and table queries of workers, answered from the
// cache or through the root, and changes pushed by the root forwarded to the interested workers.
// On an in-memory broker in manual mode and a simulated clock.

#include "cluster/route_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "link/net_messages.h"
#include "mqtt/memory_bus.h"
#include "store/memory_store.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr const char* kJob = "app.ns.web.ns";

bj::object routes(std::string_view nsip = "10.18.0.2") {
  return bj::object{{"job_name", kJob},
                    {"service_ip_list", bj::array{bj::object{{"IpType", "RR"},
                                                             {"Address", "10.30.0.1"},
                                                             {"Address_v6", "fdff:2000::1"}}}},
                    {"instance_list", bj::array{bj::object{{"instance_number", 0},
                                                           {"instance_ip", "10.30.0.3"},
                                                           {"instance_ip_v6", "fdff::3"},
                                                           {"namespace_ip", nsip},
                                                           {"host_ip", "172.31.0.2"},
                                                           {"host_port", 50103}}}}};
}

// A worker's end of its net topics.
struct NetWorker {
  std::string id;
  std::unique_ptr<mqtt::MessageBus> bus;
  std::vector<mqtt::Message> received;
  void send(std::string_view what, const bj::object& o) {
    bus->publish(fmt::format("nodes/{}/net/{}", id, what), bj::serialize(o), 1);
  }
  std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (const auto& m : received) out.push_back(m.topic.substr(m.topic.find("/net/") + 5));
    return out;
  }
  bj::object payload(size_t i) const { return json::parse(received.at(i).payload)->get_object(); }
};

class RouteCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& t : RouteCache::subscriptions()) bus_->subscribe(t, 1);
    bus_->onMessage([this](const mqtt::Message& m) { cache_.onBusMessage(m); });
    for (const char* id : {"w1", "w2"}) {
      auto w = std::make_unique<NetWorker>();
      w->id = id;
      w->bus = broker_.connect(std::string(id) + "-ne");
      for (const char* t : {"subnet/result", "tablequery/result", "table"})
        w->bus->subscribe(fmt::format("nodes/{}/net/{}", id, t), 1);
      w->bus->onMessage([raw = w.get()](const mqtt::Message& m) { raw->received.push_back(m); });
      workers_[id] = std::move(w);
    }
  }
  void deliver() { broker_.deliverAll(); }
  void fromRoot(const std::string& text) {
    auto e = link::decode(text);
    ASSERT_TRUE(e);
    EXPECT_TRUE(cache_.onRootMessage(*e));
    deliver();
  }
  std::vector<link::Envelope> toRoot() const {
    std::vector<link::Envelope> out;
    for (const auto& t : to_root_) out.push_back(link::decode(t).value());
    return out;
  }
  std::vector<std::string> toRootTypes() const {
    std::vector<std::string> out;
    for (const auto& e : toRoot()) out.push_back(e.type);
    return out;
  }
  NetWorker& w(const char* id) { return *workers_[id]; }

  SimulatedClock clock_;
  store::InMemoryStore store_;
  mqtt::InMemoryBroker broker_;
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("cluster");
  std::map<std::string, std::unique_ptr<NetWorker>> workers_;
  std::vector<std::string> to_root_;
  bool root_connected_ = true;
  RouteCache cache_{{store_, clock_, *bus_, [this](std::string t) {
                       if (!root_connected_) return false;
                       to_root_.push_back(std::move(t));
                       return true;
                     }}};
};

TEST_F(RouteCacheTest, SubnetsComeFromTheRootOnceAndAreRemembered) {
  w("w1").send("subnet", {});
  deliver();
  ASSERT_THAT(toRootTypes(), ElementsAre("subnet_request"));
  EXPECT_EQ(link::subnetRequestFrom(toRoot()[0])->worker_id, "w1");
  EXPECT_THAT(w("w1").received, IsEmpty());
  fromRoot(link::encodeSubnet({"w1", "10.18.0.0/26", "fc00::/120", ""}));
  ASSERT_THAT(w("w1").topics(), ElementsAre("subnet/result"));
  EXPECT_EQ(w("w1").payload(0).at("subnet"), "10.18.0.0/26");
  EXPECT_EQ(w("w1").payload(0).at("subnet_v6"), "fc00::/120");
  // A restarted worker asks again: answered by the cluster alone.
  w("w1").send("subnet", {});
  deliver();
  EXPECT_EQ(to_root_.size(), 1u);
  ASSERT_EQ(w("w1").received.size(), 2u);
  EXPECT_EQ(w("w1").payload(1).at("subnet"), "10.18.0.0/26");
}

TEST_F(RouteCacheTest, SubnetWithoutTheRootIsAnErrorTheWorkerCanRetry) {
  root_connected_ = false;
  w("w1").send("subnet", {});
  deliver();
  ASSERT_THAT(w("w1").topics(), ElementsAre("subnet/result"));
  EXPECT_TRUE(w("w1").payload(0).contains("error"));
}

TEST_F(RouteCacheTest, QueriesShareOneQuestionToTheRootAndAreCached) {
  w("w1").send("tablequery/request", {{"key", "10.30.0.1"}});
  w("w2").send("tablequery/request", {{"key", "10.30.0.1"}});
  deliver();
  ASSERT_THAT(toRootTypes(), ElementsAre("table_query"));
  EXPECT_EQ(link::tableQueryFrom(toRoot()[0])->key, "10.30.0.1");
  fromRoot(link::encodeTable({"10.30.0.1", routes()}));
  for (const char* id : {"w1", "w2"}) {
    ASSERT_THAT(w(id).topics(), ElementsAre("tablequery/result")) << id;
    EXPECT_EQ(w(id).payload(0).at("key"), "10.30.0.1");
    EXPECT_EQ(w(id).payload(0).at("routes"), routes());
  }
  // Any other key of the same job is answered from the cache, in any spelling.
  w("w1").send("tablequery/request", {{"key", "fdff:2000:0::1"}});
  w("w1").send("tablequery/request", {{"key", "10.30.0.3"}});
  w("w1").send("tablequery/request", {{"key", kJob}});
  deliver();
  EXPECT_EQ(to_root_.size(), 1u);
  ASSERT_EQ(w("w1").received.size(), 4u);
  EXPECT_EQ(w("w1").payload(1).at("key"), "fdff:2000::1");
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(w("w1").payload(i).at("routes"), routes());
}

TEST_F(RouteCacheTest, UnknownKeysAndSilentRootsAreAnsweredWithNoRoutes) {
  w("w1").send("tablequery/request", {{"key", "10.30.9.9"}});
  deliver();
  fromRoot(link::encodeTable({"10.30.9.9", std::nullopt}));
  ASSERT_THAT(w("w1").topics(), ElementsAre("tablequery/result"));
  EXPECT_TRUE(w("w1").payload(0).at("routes").is_null());
  EXPECT_EQ(cache_.cachedJobs(), 0u);

  w("w2").send("tablequery/request", {{"key", "10.30.0.1"}});
  deliver();
  clock_.advance(RouteCache::kQueryTimeout - 1s);
  cache_.tick();
  deliver();
  EXPECT_THAT(w("w2").received, IsEmpty());
  clock_.advance(1s);
  cache_.tick();
  deliver();
  ASSERT_THAT(w("w2").topics(), ElementsAre("tablequery/result"));
  EXPECT_TRUE(w("w2").payload(0).at("routes").is_null());
  // Nothing stays pending: asking again asks the root again.
  w("w2").send("tablequery/request", {{"key", "10.30.0.1"}});
  deliver();
  EXPECT_THAT(toRootTypes(), ElementsAre("table_query", "table_query", "table_query"));
}

TEST_F(RouteCacheTest, ChangesReachOnlyInterestedWorkersUntilTheyLoseInterest) {
  w("w1").send("tablequery/request", {{"key", kJob}});
  deliver();
  fromRoot(link::encodeTable({kJob, routes()}));
  fromRoot(link::encodeTableUpdate({kJob, routes("10.18.0.66")}));
  ASSERT_THAT(w("w1").topics(), ElementsAre("tablequery/result", "table"));
  EXPECT_EQ(w("w1").payload(1).at("routes"), routes("10.18.0.66"));
  EXPECT_THAT(w("w2").received, IsEmpty());
  // The cache holds the new routes.
  w("w2").send("tablequery/request", {{"key", kJob}});
  deliver();
  EXPECT_EQ(w("w2").payload(0).at("routes"), routes("10.18.0.66"));

  w("w1").send("interest/remove", {{"job_name", kJob}});
  w("w1").send("interest/remove", {{"job_name", kJob}});  // idempotent
  deliver();
  EXPECT_THAT(toRootTypes(), ElementsAre("table_query"));  // w2 is still interested
  w("w2").send("interest/remove", {{"job_name", kJob}});
  deliver();
  EXPECT_THAT(toRootTypes(), ElementsAre("table_query", "interest_remove"));
  EXPECT_EQ(cache_.cachedJobs(), 0u);
}

TEST_F(RouteCacheTest, ADeletedServiceIsForwardedAndForgotten) {
  w("w1").send("tablequery/request", {{"key", kJob}});
  deliver();
  fromRoot(link::encodeTable({kJob, routes()}));
  fromRoot(link::encodeTableUpdate({kJob, std::nullopt}));
  ASSERT_THAT(w("w1").topics(), ElementsAre("tablequery/result", "table"));
  EXPECT_TRUE(w("w1").payload(1).at("routes").is_null());
  EXPECT_EQ(cache_.cachedJobs(), 0u);
}

TEST_F(RouteCacheTest, AfterAReconnectCachedJobsAreAskedAgainAndChangesForwarded) {
  w("w1").send("tablequery/request", {{"key", kJob}});
  deliver();
  fromRoot(link::encodeTable({kJob, routes()}));
  to_root_.clear();
  cache_.onRootConnected();
  ASSERT_THAT(toRootTypes(), ElementsAre("table_query"));
  fromRoot(link::encodeTable({kJob, routes("10.18.0.70")}));
  ASSERT_THAT(w("w1").topics(), ElementsAre("tablequery/result", "table"));
  EXPECT_EQ(w("w1").payload(1).at("routes"), routes("10.18.0.70"));
}

TEST_F(RouteCacheTest, GarbageFromWorkersIsIgnored) {
  w("w1").bus->publish("nodes/w1/net/tablequery/request", "not json", 1);
  w("w1").send("tablequery/request", {{"key", ""}});
  w("w1").send("tablequery/request", {{"key", std::string(300, 'a')}});
  deliver();
  EXPECT_THAT(to_root_, IsEmpty());
  EXPECT_THAT(w("w1").received, IsEmpty());
}

}  // namespace
}  // namespace oak::cluster
