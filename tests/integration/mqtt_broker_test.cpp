// The cluster's mosquitto, started by MosquittoBroker on a free port, with real MosquittoClients:
// authentication, per-worker ACLs, user removal, broker restarts and the offline queue.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "../unit/mqtt/loop_thread.h"
#include "common/files.h"
#include "mqtt/broker.h"
#include "mqtt/mosquitto_client.h"
#include "process.h"
#include "temp_dir.h"

namespace oak::mqtt {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kWait = 10s;

// What one client's callbacks saw. They run on the loop thread; the test thread reads.
class Recorder {
 public:
  void attach(MessageBus& bus) {
    bus.onMessage([this](const Message& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
    });
    bus.onConnectionChange([this](bool up) {
      std::lock_guard lock(mu_);
      (up ? connects_ : disconnects_)++;
    });
  }
  bool has(const std::string& topic, const std::string& payload) const {
    return indexOf(topic, payload) >= 0;
  }
  int indexOf(const std::string& topic, const std::string& payload) const {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < messages_.size(); ++i) {
      if (messages_[i].topic == topic && messages_[i].payload == payload)
        return static_cast<int>(i);
    }
    return -1;
  }
  int connects() const {
    std::lock_guard lock(mu_);
    return connects_;
  }
  int disconnects() const {
    std::lock_guard lock(mu_);
    return disconnects_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Message> messages_;
  int connects_ = 0;
  int disconnects_ = 0;
};

struct Peer {
  std::unique_ptr<MosquittoClient> client;  // used on the loop thread only
  Recorder seen;
};

class MqttBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.file("mqtt");
    options_.listen_host = "127.0.0.1";
    options_.port = testing::pickFreePort();
    options_.admin_password = "cluster-secret";
    auto broker = MosquittoBroker::start(options_);
    ASSERT_TRUE(broker) << broker.error().message;
    broker_ = std::move(*broker);
  }

  void TearDown() override {
    thread_.call([&] { peers_.clear(); });
    if (HasFailure() && broker_) {
      auto log = files::read(broker_->logFile());
      std::cerr << "--- mosquitto log ---\n" << (log ? *log : log.error().message) << "\n";
    }
  }

  Peer& connect(const std::string& user, const std::string& password,
                const std::vector<std::string>& subscriptions = {}) {
    auto peer = std::make_unique<Peer>();
    ClientOptions o;
    o.port = options_.port;
    o.username = user;
    o.password = password;
    o.reconnect_min = 50ms;
    o.reconnect_max = 400ms;
    thread_.call([&] {
      auto c = MosquittoClient::create(thread_.loop(), o);
      ASSERT_TRUE(c) << c.error().message;
      peer->client = std::move(*c);
      peer->seen.attach(*peer->client);
      for (const auto& s : subscriptions) peer->client->subscribe(s);
    });
    peers_.push_back(std::move(peer));
    return *peers_.back();
  }
  Peer& admin(const std::vector<std::string>& subscriptions = {}) {
    return connect(options_.admin_username, options_.admin_password, subscriptions);
  }
  Peer& worker(const std::string& id, const std::vector<std::string>& subscriptions = {}) {
    EXPECT_TRUE(broker_->addUser(id, "pw-" + id, "nodes/" + id));
    return connect(id, "pw-" + id, subscriptions);
  }

  bool isConnected(Peer& p) {
    return thread_.call([&] { return p.client->connected(); });
  }
  ::testing::AssertionResult waitConnected(Peer& p, bool up = true) {
    return thread_.waitUntil([&] { return p.client->connected() == up; }, kWait,
                             up ? "connected" : "disconnected");
  }
  void publish(Peer& p, const std::string& topic, const std::string& payload) {
    thread_.call([&] { p.client->publish(topic, payload); });
  }

  // Publishes until `to` receives the message: subscriptions become active asynchronously, so a
  // single publish could race them.
  ::testing::AssertionResult deliver(Peer& from, const std::string& topic,
                                     const std::string& payload, Peer& to) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      publish(from, topic, payload);
      if (thread_.waitUntil([&] { return to.seen.has(topic, payload); }, 200ms)) {
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure() << topic << " was not delivered";
  }

  testing::TempDir dir_;
  MosquittoBroker::Options options_;
  std::unique_ptr<MosquittoBroker> broker_;
  testing::LoopThread thread_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

TEST_F(MqttBrokerTest, AnonymousAndWrongPasswordsAreRefused) {
  Peer& anonymous = connect("", "");
  Peer& wrong = connect(options_.admin_username, "not-the-password");
  EXPECT_TRUE(thread_.waitUntil(
      [&] { return anonymous.client->authFailures() >= 2 && wrong.client->authFailures() >= 2; },
      kWait, "two refusals each"));
  EXPECT_FALSE(isConnected(anonymous));
  EXPECT_FALSE(isConnected(wrong));
  EXPECT_EQ(anonymous.seen.connects(), 0);
}

TEST_F(MqttBrokerTest, AdminReadsAndWritesEveryTopic) {
  Peer& cluster = admin({"#"});
  ASSERT_TRUE(waitConnected(cluster));
  EXPECT_TRUE(deliver(cluster, "anything/at/all", "x", cluster));
  EXPECT_EQ(cluster.seen.connects(), 1);
}

TEST_F(MqttBrokerTest, WorkersAreConfinedToTheirOwnTopics) {
  Peer& cluster = admin({"nodes/#"});
  Peer& w1 = worker("w1", {"nodes/w1/#", "nodes/w2/#"});
  Peer& w2 = worker("w2", {"nodes/w2/#"});
  ASSERT_TRUE(waitConnected(cluster));
  ASSERT_TRUE(waitConnected(w1));
  ASSERT_TRUE(waitConnected(w2));

  EXPECT_TRUE(deliver(w1, "nodes/w1/information", "info", cluster));
  EXPECT_TRUE(deliver(cluster, "nodes/w1/control/deploy", "deploy", w1));
  EXPECT_TRUE(deliver(cluster, "nodes/w2/control/deploy", "deploy", w2));

  // w1 forges a message for w2, then sends an allowed one. Messages of one publisher arrive in
  // order, so once the second is in, the first would have been too.
  publish(w1, "nodes/w2/control/deploy", "forged");
  publish(w1, "nodes/w1/job", "after-forged");
  EXPECT_TRUE(
      thread_.waitUntil([&] { return cluster.seen.has("nodes/w1/job", "after-forged"); }, kWait));
  EXPECT_FALSE(cluster.seen.has("nodes/w2/control/deploy", "forged"));
  EXPECT_FALSE(w2.seen.has("nodes/w2/control/deploy", "forged"));

  // w1 subscribed to w2's topics too, but may not read them.
  publish(cluster, "nodes/w2/control/delete", "secret");
  publish(cluster, "nodes/w1/control/delete", "after-secret");
  EXPECT_TRUE(thread_.waitUntil(
      [&] { return w1.seen.has("nodes/w1/control/delete", "after-secret"); }, kWait));
  EXPECT_TRUE(
      thread_.waitUntil([&] { return w2.seen.has("nodes/w2/control/delete", "secret"); }, kWait));
  EXPECT_FALSE(w1.seen.has("nodes/w2/control/delete", "secret"));
}

TEST_F(MqttBrokerTest, RemovedUserIsLockedOutUntilAddedAgain) {
  Peer& w1 = worker("w1");
  ASSERT_TRUE(waitConnected(w1));

  ASSERT_TRUE(broker_->removeUser("w1"));
  EXPECT_FALSE(broker_->hasUser("w1"));
  EXPECT_TRUE(waitConnected(w1, false));
  EXPECT_TRUE(thread_.waitUntil([&] { return w1.client->authFailures() >= 2; }, kWait,
                                "refused reconnects"));
  EXPECT_FALSE(isConnected(w1));

  ASSERT_TRUE(broker_->addUser("w1", "pw-w1", "nodes/w1"));
  EXPECT_TRUE(waitConnected(w1));
}

TEST_F(MqttBrokerTest, UserManagementErrors) {
  auto s = broker_->addUser(options_.admin_username, "x", "nodes/x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  s = broker_->removeUser("nobody");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  s = broker_->addUser("w1", "pw", "nodes/+");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(MqttBrokerTest, ClientsReconnectAndResubscribeAfterABrokerRestart) {
  Peer& cluster = admin();
  Peer& w1 = worker("w1", {"nodes/w1/control/#"});
  ASSERT_TRUE(waitConnected(cluster));
  ASSERT_TRUE(deliver(cluster, "nodes/w1/control/deploy", "before", w1));

  ASSERT_TRUE(broker_->stop());
  EXPECT_FALSE(broker_->running());
  EXPECT_TRUE(waitConnected(w1, false));
  EXPECT_TRUE(waitConnected(cluster, false));

  auto restarted = broker_->restart();
  ASSERT_TRUE(restarted) << restarted.error().message;
  EXPECT_TRUE(waitConnected(w1));
  EXPECT_TRUE(waitConnected(cluster));
  EXPECT_TRUE(deliver(cluster, "nodes/w1/control/deploy", "after", w1));
  EXPECT_EQ(w1.seen.connects(), 2);
  EXPECT_EQ(w1.seen.disconnects(), 1);
}

TEST_F(MqttBrokerTest, PublishesQueuedWhileTheBrokerIsDownAreDeliveredAfterReconnect) {
  Peer& cluster = admin({"nodes/#"});
  Peer& w1 = worker("w1");
  ASSERT_TRUE(waitConnected(cluster));
  ASSERT_TRUE(waitConnected(w1));

  ASSERT_TRUE(broker_->stop());
  ASSERT_TRUE(waitConnected(w1, false));
  std::string binary("\0\x01\xff\xfe{\"a\":1}\n", 12);
  publish(w1, "nodes/w1/job", "first");
  publish(w1, "nodes/w1/job", binary);
  EXPECT_EQ(thread_.call([&] { return w1.client->queuedMessages(); }), 2u);

  // Keep w1 out until the receiver's subscription is active again: remove its account while the
  // broker is down, restart, check the receiver, then let w1 back in.
  ASSERT_TRUE(broker_->removeUser("w1"));
  ASSERT_TRUE(broker_->restart());
  ASSERT_TRUE(waitConnected(cluster));
  ASSERT_TRUE(deliver(cluster, "nodes/probe", "p", cluster));
  EXPECT_FALSE(cluster.seen.has("nodes/w1/job", "first"));

  ASSERT_TRUE(broker_->addUser("w1", "pw-w1", "nodes/w1"));
  ASSERT_TRUE(thread_.waitUntil([&] { return cluster.seen.has("nodes/w1/job", binary); }, kWait));
  EXPECT_LT(cluster.seen.indexOf("nodes/w1/job", "first"),
            cluster.seen.indexOf("nodes/w1/job", binary));
  EXPECT_GE(cluster.seen.indexOf("nodes/w1/job", "first"), 0);
  EXPECT_EQ(thread_.call([&] { return w1.client->queuedMessages(); }), 0u);
}

TEST_F(MqttBrokerTest, ArbitraryPayloadBytesArriveUnchanged) {
  Peer& cluster = admin();
  Peer& w1 = worker("w1", {"nodes/w1/#"});
  ASSERT_TRUE(waitConnected(cluster));
  std::string every_byte;
  for (int i = 0; i < 1024; ++i) every_byte += static_cast<char>(i % 256);
  std::string large(300'000, '\0');
  std::mt19937 rng(42);
  for (char& c : large) c = static_cast<char>(rng());
  EXPECT_TRUE(deliver(cluster, "nodes/w1/control/deploy", every_byte, w1));
  EXPECT_TRUE(deliver(cluster, "nodes/w1/control/deploy", large, w1));
  EXPECT_TRUE(deliver(cluster, "nodes/w1/control/deploy", "", w1));
}

TEST_F(MqttBrokerTest, FilesArePrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(options_.data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* name : {"mosquitto.conf", "passwd", "acl"}) {
    ASSERT_EQ(::stat((options_.data_dir + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  auto passwd = files::read(options_.data_dir + "/passwd");
  ASSERT_TRUE(passwd);
  EXPECT_THAT(*passwd, HasSubstr("cluster:$7$"));
  EXPECT_THAT(*passwd, ::testing::Not(HasSubstr("cluster-secret")));
}

TEST_F(MqttBrokerTest, StopFreesThePortAndIsIdempotent) {
  ASSERT_TRUE(broker_->stop());
  EXPECT_TRUE(broker_->stop());
  EXPECT_FALSE(broker_->running());
  EXPECT_FALSE(testing::waitForPort(options_.port, 100ms));
}

TEST(MqttBrokerStartTest, FailsClearlyWhenThePortIsTaken) {
  testing::TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);

  MosquittoBroker::Options o;
  o.data_dir = dir.file("mqtt");
  o.listen_host = "127.0.0.1";
  o.port = ntohs(a.sin_port);
  o.admin_password = "x";
  auto broker = MosquittoBroker::start(o);
  ::close(fd);
  ASSERT_FALSE(broker);
  EXPECT_EQ(broker.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(broker.error().message, HasSubstr("Address already in use"));
}

}  // namespace
}  // namespace oak::mqtt
