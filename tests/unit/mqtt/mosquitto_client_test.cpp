// MosquittoClient without a broker: option checks, offline queueing and clean destruction while
// it keeps failing to connect. Behaviour against a real broker is in
// tests/integration/mqtt_broker_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "loop_thread.h"
#include "mqtt/mosquitto_client.h"
#include "process.h"

namespace oak::mqtt {
namespace {

using ::testing::HasSubstr;

TEST(MosquittoClientTest, RejectsInvalidOptions) {
  EventLoop loop;
  auto expectInvalid = [&](ClientOptions o, const char* field) {
    auto c = MosquittoClient::create(loop, o);
    ASSERT_FALSE(c) << field;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(c.error().message, HasSubstr(field));
  };
  ClientOptions o;
  o.port = 0;
  expectInvalid(o, "port");
  o = {};
  o.host.clear();
  expectInvalid(o, "host");
  o = {};
  o.keepalive = std::chrono::seconds(2);
  expectInvalid(o, "keepalive");
  o = {};
  o.reconnect_max = std::chrono::milliseconds(1);
  expectInvalid(o, "reconnect_max");
  o = {};
  o.password = "no user";
  expectInvalid(o, "password");
}

class OfflineClientTest : public ::testing::Test {
 protected:
  testing::LoopThread thread_;
  std::unique_ptr<MosquittoClient> client_;
  std::atomic<int> callbacks_{0};

  void SetUp() override {
    ClientOptions o;
    o.port = testing::pickFreePort();  // nothing listens there
    o.reconnect_min = std::chrono::milliseconds(10);
    o.reconnect_max = std::chrono::milliseconds(20);
    o.max_queued = 3;
    thread_.call([&] {
      auto c = MosquittoClient::create(thread_.loop(), o);
      ASSERT_TRUE(c) << c.error().message;
      client_ = std::move(*c);
      client_->onMessage([this](const Message&) { ++callbacks_; });
      client_->onConnectionChange([this](bool) { ++callbacks_; });
    });
  }
  void TearDown() override {
    thread_.call([&] { client_.reset(); });
  }
};

TEST_F(OfflineClientTest, QueuesBoundedWhileTheBrokerIsUnreachable) {
  thread_.call([&] {
    client_->subscribe("nodes/w1/control/#");
    for (int i = 0; i < 5; ++i) client_->publish("nodes/w1/job", std::to_string(i));
  });
  EXPECT_FALSE(thread_.call([&] { return client_->connected(); }));
  EXPECT_EQ(thread_.call([&] { return client_->queuedMessages(); }), 3u);
  EXPECT_EQ(thread_.call([&] { return client_->droppedMessages(); }), 2u);
  EXPECT_EQ(callbacks_.load(), 0);
}

TEST_F(OfflineClientTest, IgnoresInvalidPublishesAndFilters) {
  thread_.call([&] {
    client_->publish("nodes/+/job", "x");
    client_->publish("nodes/w1/job", "x", 3);
    client_->subscribe("nodes/#/x");
  });
  EXPECT_EQ(thread_.call([&] { return client_->queuedMessages(); }), 0u);
}

TEST_F(OfflineClientTest, DestroysCleanlyWhileRetrying) {
  EXPECT_TRUE(thread_.waitUntil([&] { return client_->connectAttempts() >= 3; },
                                std::chrono::seconds(5), "three failed attempts"));
  thread_.call([&] { client_.reset(); });
  EXPECT_EQ(callbacks_.load(), 0);
}

TEST_F(OfflineClientTest, DestroysCleanlyBeforeTheFirstAttempt) {
  thread_.call([&] {
    client_.reset();
    ClientOptions o;
    o.port = testing::pickFreePort();
    auto c = MosquittoClient::create(thread_.loop(), o);
    ASSERT_TRUE(c);
    (*c)->onConnectionChange([this](bool) { ++callbacks_; });
  });  // destroyed here, with its first attempt still posted
  thread_.call([] {});
  EXPECT_EQ(callbacks_.load(), 0);
}

}  // namespace
}  // namespace oak::mqtt
