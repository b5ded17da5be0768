#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "mqtt/memory_bus.h"
#include "mqtt/metered_bus.h"

namespace oak::mqtt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MeteredBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metered_.onMessage([this](const Message& m) { received_.push_back(m.topic); });
    metered_.onConnectionChange([this](bool up) { changes_.push_back(up); });
    metered_.subscribe("nodes/+/job");
    worker_->subscribe("nodes/w1/control/#");
    broker_.deliverAll();
  }
  std::string text() const { return registry_.render(); }

  InMemoryBroker broker_;
  metrics::Registry registry_;
  std::unique_ptr<MessageBus> cluster_ = broker_.connect("cluster");
  std::unique_ptr<MessageBus> worker_ = broker_.connect("w1-ne");
  MeteredBus metered_{*cluster_, registry_};
  std::vector<std::string> received_;
  std::vector<bool> changes_;
};

TEST_F(MeteredBusTest, TopicLabelsHideWorkerIds) {
  EXPECT_EQ(MeteredBus::topicLabel("nodes/65a1f0/control/deploy"), "nodes/+/control/deploy");
  EXPECT_EQ(MeteredBus::topicLabel("nodes/65a1f0"), "nodes/+");
  EXPECT_EQ(MeteredBus::topicLabel("$CONTROL/dynamic-security/v1"), "$CONTROL/dynamic-security/v1");
}

TEST_F(MeteredBusTest, CountsBothDirectionsAndPassesEverythingOn) {
  metered_.publish("nodes/w1/control/deploy", "12345");
  metered_.publish("nodes/w1/control/deploy", "123");
  worker_->publish("nodes/w1/job", "{}");
  broker_.deliverAll();
  EXPECT_THAT(received_, ElementsAre("nodes/w1/job"));
  EXPECT_EQ(broker_.published().size(), 3u);
  std::string t = text();
  EXPECT_THAT(t, HasSubstr("oakestra_mqtt_messages_total{direction=\"out\",topic=\"nodes/+/"
                           "control/deploy\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("oakestra_mqtt_payload_bytes_total{direction=\"out\",topic=\"nodes/"
                           "+/control/deploy\"} 8\n"));
  EXPECT_THAT(t, HasSubstr("oakestra_mqtt_messages_total{direction=\"in\",topic=\"nodes/+/"
                           "job\"} 1\n"));
}

TEST_F(MeteredBusTest, ConnectionGaugeFollowsTheBus) {
  EXPECT_THAT(text(), HasSubstr("oakestra_mqtt_connected 1\n"));
  broker_.setConnected("cluster", false);
  broker_.deliverAll();
  EXPECT_FALSE(metered_.connected());
  EXPECT_THAT(text(), HasSubstr("oakestra_mqtt_connected 0\n"));
  broker_.setConnected("cluster", true);
  broker_.deliverAll();
  EXPECT_THAT(changes_, ElementsAre(true, false, true));
  EXPECT_THAT(text(), HasSubstr("oakestra_mqtt_connected 1\n"));
}

TEST_F(MeteredBusTest, ManyDistinctTopicsShareOneSeries) {
  for (int i = 0; i < 500; ++i) metered_.publish("made/up/" + std::to_string(i), "x");
  for (int i = 0; i < 500; ++i) metered_.publish("nodes/w" + std::to_string(i) + "/job", "x");
  std::string t = text();
  EXPECT_THAT(t,
              HasSubstr("oakestra_mqtt_messages_total{direction=\"out\",topic=\"other\"} 436\n"));
  EXPECT_THAT(t, HasSubstr("oakestra_mqtt_messages_total{direction=\"out\",topic=\"nodes/+/"
                           "job\"} 500\n"));
  EXPECT_LT(std::count(t.begin(), t.end(), '\n'), 200);
}

TEST_F(MeteredBusTest, DetachesFromTheInnerBusWhenDestroyed) {
  auto metered = std::make_unique<MeteredBus>(*worker_, registry_);
  metered.reset();
  cluster_->publish("nodes/w1/control/delete", "{}");
  broker_.deliverAll();  // would reach the destroyed bus otherwise
  SUCCEED();
}

}  // namespace
}  // namespace oak::mqtt
