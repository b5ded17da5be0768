// The cluster's mosquitto, started by MosquittoBroker on a free port, with real MosquittoClients:
// authentication, per-worker ACLs, accounts changed at run time through the dynamic security
// plugin (DynsecClient), accounts kept across broker restarts, and the offline queue.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "../unit/mqtt/loop_thread.h"
#include "common/clock.h"
#include "common/files.h"
#include "mqtt/broker.h"
#include "mqtt/dynsec_client.h"
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

// The cluster's side of account changes: an admin connection with a DynsecClient.
struct Control {
  std::unique_ptr<MosquittoClient> client;
  std::unique_ptr<DynsecClient> dynsec;
  std::unique_ptr<EventLoop::Periodic> ticker;
};

class MqttBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.file("mqtt");
    options_.listen_host = "127.0.0.1";
    options_.port = testing::pickFreePort();
    options_.admin_password = "cluster-secret";
    // As the cluster confines its workers.
    options_.acl_patterns = {"read nodes/%u/#", "write nodes/%u/information", "write nodes/%u/job"};
    auto broker = MosquittoBroker::start(options_);
    ASSERT_TRUE(broker) << broker.error().message;
    broker_ = std::move(*broker);
  }

  void TearDown() override {
    thread_.call([&] {
      peers_.clear();
      control_.reset();
    });
    if (HasFailure() && broker_) {
      auto log = files::read(broker_->logFile());
      std::cerr << "--- mosquitto log ---\n" << (log ? *log : log.error().message) << "\n";
    }
  }

  Peer& connect(const std::string& user, const std::string& password,
                const std::vector<std::string>& subscriptions = {},
                const std::string& client_id = "") {
    auto peer = std::make_unique<Peer>();
    ClientOptions o;
    o.port = options_.port;
    o.client_id = client_id;
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
    EXPECT_TRUE(setPassword(id, "pw-" + id, id + "-ne"));
    return connect(id, "pw-" + id, subscriptions, id + "-ne");
  }

  // The admin connection with its DynsecClient, made on first use (on the loop thread).
  DynsecClient& control() {
    if (!control_) {
      control_ = std::make_unique<Control>();
      ClientOptions o;
      o.port = options_.port;
      o.client_id = "control";
      o.username = options_.admin_username;
      o.password = options_.admin_password;
      o.reconnect_min = 50ms;
      o.reconnect_max = 400ms;
      control_->client = MosquittoClient::create(thread_.loop(), o).value();
      control_->dynsec = std::make_unique<DynsecClient>(*control_->client, SystemClock::instance(),
                                                        DynsecClient::Options{});
      control_->client->onMessage([c = control_.get()](const Message& m) { c->dynsec->handle(m); });
      control_->ticker = thread_.loop().every(100ms, [c = control_.get()] { c->dynsec->tick(); });
    }
    return *control_->dynsec;
  }

  // Runs an account change through the plugin and waits for the broker's answer.
  Status change(std::function<void(DynsecClient&, std::function<void(Status)>)> op) {
    auto result = std::make_shared<std::optional<Status>>();
    thread_.call([&] { op(control(), [result](Status s) { *result = s; }); });
    EXPECT_TRUE(thread_.waitUntil([&] { return result->has_value(); }, kWait, "broker answer"));
    return result->value_or(makeError(ErrorCode::kUnavailable, "no answer"));
  }
  Status setPassword(const std::string& user, const std::string& password,
                     const std::string& client_id = "") {
    return change([=](DynsecClient& d, std::function<void(Status)> done) {
      d.setPassword(user, password, client_id, true, std::move(done));
    });
  }
  Status removeAccount(const std::string& user) {
    return change([=](DynsecClient& d, std::function<void(Status)> done) {
      d.remove(user, std::move(done));
    });
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
  std::unique_ptr<Control> control_;  // used on the loop thread only
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

TEST_F(MqttBrokerTest, HundredsOfAccountsAddedAtOnceAllConnectWithoutAReload) {
  constexpr size_t kWorkers = 200;
  auto done = std::make_shared<std::vector<Status>>();
  thread_.call([&] {
    for (size_t i = 0; i < kWorkers; ++i) {
      std::string id = fmt::format("w{:03d}", i);
      control().setPassword(id, "pw-" + id, id + "-ne", true,
                            [done](Status s) { done->push_back(s); });
    }
  });
  ASSERT_TRUE(thread_.waitUntil([&] { return done->size() == kWorkers; }, kWait,
                                "every account confirmed"));
  for (const auto& s : *done) EXPECT_TRUE(s) << s.error().message;
  std::vector<Peer*> workers;
  for (size_t i = 0; i < kWorkers; ++i) {
    std::string id = fmt::format("w{:03d}", i);
    workers.push_back(&connect(id, "pw-" + id, {}, id + "-ne"));
  }
  EXPECT_TRUE(thread_.waitUntil(
      [&] {
        return std::all_of(workers.begin(), workers.end(),
                           [](Peer* p) { return p->client->connected(); });
      },
      kWait, "every worker connected"));
  thread_.call([&] {
    for (Peer* p : workers) EXPECT_EQ(p->client->authFailures(), 0u);
  });
  auto log = files::read(broker_->logFile());
  ASSERT_TRUE(log);
  EXPECT_THAT(*log, ::testing::Not(HasSubstr("Reloading")));
}

TEST_F(MqttBrokerTest, ADeletedAccountIsDisconnectedAndRefusedUntilCreatedAgain) {
  Peer& w1 = worker("w1");
  ASSERT_TRUE(waitConnected(w1));

  ASSERT_TRUE(removeAccount("w1"));
  EXPECT_TRUE(waitConnected(w1, false));
  EXPECT_TRUE(thread_.waitUntil([&] { return w1.client->authFailures() >= 2; }, kWait,
                                "refused reconnects"));
  EXPECT_FALSE(isConnected(w1));
  EXPECT_TRUE(removeAccount("w1"));  // deleting twice is fine

  ASSERT_TRUE(setPassword("w1", "pw-w1", "w1-ne"));
  EXPECT_TRUE(waitConnected(w1));
}

TEST_F(MqttBrokerTest, ANewPasswordEndsTheOldSessionAndOnlyTheNewOneWorks) {
  Peer& w1 = worker("w1");
  ASSERT_TRUE(waitConnected(w1));
  ASSERT_TRUE(setPassword("w1", "rotated"));
  EXPECT_TRUE(waitConnected(w1, false));
  EXPECT_TRUE(thread_.waitUntil([&] { return w1.client->consecutiveAuthFailures() >= 2; }, kWait,
                                "refused with the old password"));
  ASSERT_TRUE(thread_.call([&] { return w1.client->setCredentials("w1", "rotated"); }));
  EXPECT_TRUE(waitConnected(w1));
  EXPECT_EQ(thread_.call([&] { return w1.client->consecutiveAuthFailures(); }), 0u);
}

TEST_F(MqttBrokerTest, AnAccountIsBoundToItsClientId) {
  ASSERT_TRUE(setPassword("w1", "pw-w1", "w1-ne"));
  ASSERT_TRUE(setPassword("w2", "pw-w2", "w2-ne"));
  Peer& w2 = connect("w2", "pw-w2", {}, "w2-ne");
  ASSERT_TRUE(waitConnected(w2));
  // w1 borrowing w2's client id would take w2's session over: it is refused instead.
  Peer& thief = connect("w1", "pw-w1", {}, "w2-ne");
  EXPECT_TRUE(
      thread_.waitUntil([&] { return thief.client->authFailures() >= 2; }, kWait, "refusals"));
  EXPECT_TRUE(isConnected(w2));
  EXPECT_EQ(w2.seen.disconnects(), 0);
}

TEST_F(MqttBrokerTest, AccountsThatWouldWidenTheAclAreRefused) {
  for (const char* name : {"w1/#", "nodes/w2", "a+b", ""}) {
    auto s = setPassword(name, "pw");
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << name;
  }
  EXPECT_FALSE(setPassword("w1", ""));
}

TEST_F(MqttBrokerTest, AccountsMadeAtRunTimeSurviveABrokerRestart) {
  Peer& w1 = worker("w1", {"nodes/w1/control/#"});
  ASSERT_TRUE(waitConnected(w1));
  ASSERT_TRUE(broker_->stop());
  ASSERT_TRUE(waitConnected(w1, false));
  auto restarted = broker_->restart();
  ASSERT_TRUE(restarted) << restarted.error().message;
  EXPECT_TRUE(waitConnected(w1));
  EXPECT_EQ(thread_.call([&] { return w1.client->authFailures(); }), 0u);
}

TEST_F(MqttBrokerTest, StartBringsTheAccountFileInLineWithTheGivenAccounts) {
  ASSERT_TRUE(setPassword("keep", "pw-keep", "keep-ne"));
  ASSERT_TRUE(setPassword("gone", "pw-gone", "gone-ne"));
  ASSERT_TRUE(setPassword("moved", "old", "moved-ne"));
  thread_.call([&] { control_.reset(); });
  broker_.reset();  // stops it

  auto broker = MosquittoBroker::start(
      options_, {{"keep", "pw-keep", "keep-ne"}, {"moved", "new", "moved-ne"}, {"new", "n", ""}});
  ASSERT_TRUE(broker) << broker.error().message;
  broker_ = std::move(*broker);
  EXPECT_EQ(broker_->accountSync().kept, 2u);  // keep, and the admin
  EXPECT_EQ(broker_->accountSync().updated, 1u);
  EXPECT_EQ(broker_->accountSync().created, 1u);
  EXPECT_EQ(broker_->accountSync().removed, 1u);

  Peer& keep = connect("keep", "pw-keep", {}, "keep-ne");
  Peer& moved = connect("moved", "new", {}, "moved-ne");
  Peer& fresh = connect("new", "n");
  Peer& gone = connect("gone", "pw-gone", {}, "gone-ne");
  EXPECT_TRUE(waitConnected(keep));
  EXPECT_TRUE(waitConnected(moved));
  EXPECT_TRUE(waitConnected(fresh));
  EXPECT_TRUE(thread_.waitUntil([&] { return gone.client->authFailures() >= 2; }, kWait,
                                "the deleted account refused"));
}

TEST_F(MqttBrokerTest, AnUnreadableAccountFileIsRebuilt) {
  broker_.reset();
  ASSERT_TRUE(files::writeAtomic(options_.data_dir + "/dynamic-security.json", "{broken", 0600));
  auto broker = MosquittoBroker::start(options_, {{"w1", "pw-w1", ""}});
  ASSERT_TRUE(broker) << broker.error().message;
  broker_ = std::move(*broker);
  Peer& w1 = connect("w1", "pw-w1");
  EXPECT_TRUE(waitConnected(w1));
}

TEST_F(MqttBrokerTest, StartRefusesBadAccounts) {
  broker_.reset();
  auto broker = MosquittoBroker::start(options_, {{options_.admin_username, "x", ""}});
  ASSERT_FALSE(broker);
  EXPECT_EQ(broker.error().code, ErrorCode::kConflict);
  broker = MosquittoBroker::start(options_, {{"nodes/+", "x", ""}});
  ASSERT_FALSE(broker);
  EXPECT_EQ(broker.error().code, ErrorCode::kInvalidArgument);
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

  // Keep w1 out until the receiver's subscription is active again: start the broker without its
  // account, check the receiver, then let w1 back in.
  thread_.call([&] { control_.reset(); });
  broker_.reset();
  auto broker = MosquittoBroker::start(options_);
  ASSERT_TRUE(broker) << broker.error().message;
  broker_ = std::move(*broker);
  ASSERT_TRUE(waitConnected(cluster));
  ASSERT_TRUE(deliver(cluster, "nodes/probe", "p", cluster));
  EXPECT_FALSE(cluster.seen.has("nodes/w1/job", "first"));

  ASSERT_TRUE(setPassword("w1", "pw-w1", "w1-ne"));
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
  // The plugin rewrites its file after a change: that copy must be private too.
  ASSERT_TRUE(setPassword("w1", "worker-secret"));
  struct stat st {};
  ASSERT_EQ(::stat(options_.data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* name : {"mosquitto.conf", "acl", "dynamic-security.json"}) {
    ASSERT_EQ(::stat((options_.data_dir + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  auto accounts = files::read(options_.data_dir + "/dynamic-security.json");
  ASSERT_TRUE(accounts);
  EXPECT_THAT(*accounts, HasSubstr("\"w1\""));
  EXPECT_THAT(*accounts, ::testing::Not(HasSubstr("cluster-secret")));
  EXPECT_THAT(*accounts, ::testing::Not(HasSubstr("worker-secret")));
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
