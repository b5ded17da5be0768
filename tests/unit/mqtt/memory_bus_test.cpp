#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "loop_thread.h"
#include "mqtt/memory_bus.h"

namespace oak::mqtt {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records what a client's callbacks saw.
struct Inbox {
  std::vector<std::string> messages;  // "topic=payload"
  std::vector<bool> connection;

  void attach(MessageBus& bus) {
    bus.onMessage([this](const Message& m) { messages.push_back(m.topic + "=" + m.payload); });
    bus.onConnectionChange([this](bool up) { connection.push_back(up); });
  }
};

class InMemoryBrokerTest : public ::testing::Test {
 protected:
  InMemoryBroker broker_;
  std::unique_ptr<MessageBus> cluster_ = broker_.connect("cluster");
  std::unique_ptr<MessageBus> worker_ = broker_.connect("w1-ne");
  Inbox cluster_in_;
  Inbox worker_in_;

  void SetUp() override {
    cluster_in_.attach(*cluster_);
    worker_in_.attach(*worker_);
    cluster_->subscribe("nodes/+/information");
    cluster_->subscribe("nodes/+/job");
    worker_->subscribe("nodes/w1/control/#");
    broker_.deliverAll();
  }
};

TEST_F(InMemoryBrokerTest, ClientsStartConnectedAndAreToldSo) {
  EXPECT_TRUE(cluster_->connected());
  EXPECT_THAT(cluster_in_.connection, ElementsAre(true));
  EXPECT_THAT(worker_in_.connection, ElementsAre(true));
}

TEST_F(InMemoryBrokerTest, RoutesByWildcardAndOnlyOnDeliverAll) {
  worker_->publish("nodes/w1/information", "{\"cpu\":1}");
  worker_->publish("nodes/w1/jobs/resources", "{}");  // nobody subscribed
  cluster_->publish("nodes/w1/control/deploy", "d");
  cluster_->publish("nodes/w2/control/deploy", "other worker");
  EXPECT_THAT(cluster_in_.messages, IsEmpty());  // never inside publish()
  EXPECT_EQ(broker_.deliverAll(), 2u);
  EXPECT_THAT(cluster_in_.messages, ElementsAre("nodes/w1/information={\"cpu\":1}"));
  EXPECT_THAT(worker_in_.messages, ElementsAre("nodes/w1/control/deploy=d"));
  EXPECT_EQ(broker_.published().size(), 4u);
}

TEST_F(InMemoryBrokerTest, DeliversOnceWhenSeveralSubscriptionsMatch) {
  cluster_->subscribe("nodes/#");
  worker_->publish("nodes/w1/job", "x");
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, ElementsAre("nodes/w1/job=x"));
}

TEST_F(InMemoryBrokerTest, DeliverAllRunsWhatCallbacksCause) {
  // The worker answers each deploy with a status report.
  worker_->onMessage([this](const Message& m) { worker_->publish("nodes/w1/job", m.payload); });
  cluster_->publish("nodes/w1/control/deploy", "svc");
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, ElementsAre("nodes/w1/job=svc"));
}

TEST_F(InMemoryBrokerTest, QueuesWhileDisconnectedAndKeepsSubscriptions) {
  broker_.setConnected("w1-ne", false);
  EXPECT_FALSE(worker_->connected());
  worker_->publish("nodes/w1/job", "1");
  worker_->publish("nodes/w1/job", "2");
  cluster_->publish("nodes/w1/control/deploy", "lost");  // nobody connected to receive it
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, IsEmpty());
  EXPECT_THAT(worker_in_.messages, IsEmpty());

  broker_.setConnected("w1-ne", true);
  cluster_->publish("nodes/w1/control/deploy", "after");
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, ElementsAre("nodes/w1/job=1", "nodes/w1/job=2"));
  EXPECT_THAT(worker_in_.messages, ElementsAre("nodes/w1/control/deploy=after"));
  EXPECT_THAT(worker_in_.connection, ElementsAre(true, false, true));
}

TEST(InMemoryBrokerQueueTest, OfflineQueueDropsTheOldest) {
  InMemoryBroker broker(nullptr, 2);
  auto a = broker.connect("a");
  auto b = broker.connect("b");
  Inbox in;
  in.attach(*b);
  b->subscribe("t");
  broker.setConnected("a", false);
  for (const char* p : {"1", "2", "3"}) a->publish("t", p);
  EXPECT_EQ(broker.droppedMessages(), 1u);
  broker.setConnected("a", true);
  broker.deliverAll();
  EXPECT_THAT(in.messages, ElementsAre("t=2", "t=3"));
}

TEST_F(InMemoryBrokerTest, RejectedClientCannotConnectUntilAccepted) {
  broker_.setRejected("w1-ne", true);
  EXPECT_FALSE(worker_->connected());
  broker_.setConnected("w1-ne", true);  // a retry with refused credentials
  EXPECT_FALSE(worker_->connected());
  worker_->publish("nodes/w1/job", "queued");
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, IsEmpty());

  broker_.setRejected("w1-ne", false);
  EXPECT_TRUE(worker_->connected());
  broker_.deliverAll();
  EXPECT_THAT(cluster_in_.messages, ElementsAre("nodes/w1/job=queued"));
  EXPECT_THAT(worker_in_.connection, ElementsAre(true, false, true));
}

TEST(InMemoryBrokerRejectTest, RejectedIdStartsDisconnected) {
  InMemoryBroker broker;
  broker.setRejected("intruder", true);
  auto c = broker.connect("intruder");
  EXPECT_FALSE(c->connected());
  EXPECT_FALSE(broker.isConnected("intruder"));
}

TEST_F(InMemoryBrokerTest, SameClientIdTakesTheSessionOver) {
  auto second = broker_.connect("w1-ne");
  EXPECT_TRUE(second->connected());
  EXPECT_FALSE(worker_->connected());
  broker_.deliverAll();
  EXPECT_THAT(worker_in_.connection, ElementsAre(true, false));
}

TEST_F(InMemoryBrokerTest, DestroyedClientGetsNoCallbacks) {
  std::vector<std::string> seen;
  worker_->onMessage([&](const Message& m) { seen.push_back(m.topic); });
  cluster_->publish("nodes/w1/control/delete", "x");
  worker_.reset();  // a delivery is pending for it
  broker_.deliverAll();
  EXPECT_THAT(seen, IsEmpty());
  EXPECT_FALSE(broker_.isConnected("w1-ne"));
}

TEST_F(InMemoryBrokerTest, BinaryPayloadsArriveUnchanged) {
  std::string payload;
  for (int i = 0; i < 256; ++i) payload += static_cast<char>(i);
  std::string received;
  cluster_->onMessage([&](const Message& m) { received = m.payload; });
  worker_->publish("nodes/w1/information", payload);
  broker_.deliverAll();
  EXPECT_EQ(received, payload);
}

TEST(InMemoryBrokerLoopTest, PostsDeliveriesToTheLoop) {
  testing::LoopThread thread;
  std::atomic<int> received{0};
  auto broker = std::make_shared<InMemoryBroker>(&thread.loop());
  std::shared_ptr<MessageBus> a;
  std::shared_ptr<MessageBus> b;
  thread.call([&] {
    a = broker->connect("a");
    b = broker->connect("b");
    b->onMessage([&](const Message& m) {
      if (m.payload == "hello") ++received;
    });
    b->subscribe("x/#");
    a->publish("x/y", "hello");
  });
  EXPECT_TRUE(thread.waitUntil([&] { return received.load() == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(broker->deliverAll(), 0u);  // nothing waits for a manual run
  thread.call([&] {
    a.reset();
    b.reset();
    broker.reset();
  });
}

}  // namespace
}  // namespace oak::mqtt
