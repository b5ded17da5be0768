// The cluster orchestrator in process with its real mosquitto: workers registered over HTTP get
// broker accounts through the dynamic security plugin, connect at once, and keep their accounts
// when the cluster (and with it the broker) restarts. No root is running: the cluster's link to
// it just keeps retrying.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../unit/mqtt/loop_thread.h"
#include "cluster/cluster_server.h"
#include "common/files.h"
#include "common/json.h"
#include "http/client.h"
#include "mqtt/broker.h"
#include "mqtt/mosquitto_client.h"
#include "process.h"
#include "temp_dir.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

constexpr auto kWait = 20s;
constexpr size_t kWorkers = 200;
constexpr int kRegistrars = 8;  // concurrent registration connections

struct Credentials {
  std::string id, username, password, client_id;
  uint16_t port = 0;
};

class ClusterBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.root_url = fmt::format("http://127.0.0.1:{}", testing::pickFreePort());
    options_.name = "edge";
    options_.token = "unused";
    options_.listen = fmt::format("127.0.0.1:{}", testing::pickFreePort());
    options_.data_dir = dir_.file("cluster");
    options_.mqtt_listen = fmt::format("127.0.0.1:{}", testing::pickFreePort());
    startCluster();
  }

  void TearDown() override {
    clients_.call([&] { workers_.clear(); });
    stopCluster();
  }

  void startCluster() {
    cluster_thread_.call([&] {
      auto c = ClusterServer::create(options_, cluster_thread_.loop());
      ASSERT_TRUE(c) << c.error().message;
      cluster_ = std::move(*c);
    });
  }
  void stopCluster() {
    cluster_thread_.call([&] {
      if (cluster_) cluster_->stop();
      cluster_.reset();
    });
  }

  uint16_t apiPort() const {
    return static_cast<uint16_t>(std::stoi(options_.listen.substr(options_.listen.rfind(':') + 1)));
  }

  Result<Credentials> registerWorker(const std::string& name, const std::string& token) {
    http::ClientRequest req{http::Method::kPost,
                            "/api/v1/workers/register",
                            {{"Authorization", "Bearer " + token}},
                            bj::serialize(bj::object{{"name", name}})};
    OAK_ASSIGN_OR_RETURN(auto res, http::fetch("127.0.0.1", apiPort(), req, 30s));
    if (res.status != 200) {
      return makeError(ErrorCode::kInternal, fmt::format("HTTP {}: {}", res.status, res.body));
    }
    OAK_ASSIGN_OR_RETURN(auto v, json::parse(res.body));
    const auto* m = json::findObject(v.as_object(), "mqtt");
    if (m == nullptr) return makeError(ErrorCode::kInternal, "no mqtt in " + res.body);
    return Credentials{json::getString(v.as_object(), "worker_id").value_or(""),
                       json::getString(*m, "username").value_or(""),
                       json::getString(*m, "password").value_or(""),
                       json::getString(*m, "client_id").value_or(""),
                       static_cast<uint16_t>(json::getInt(*m, "port").value_or(0))};
  }

  std::string workerToken() const {
    auto token = files::read(options_.data_dir + "/worker-token").value();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
    return token;
  }

  // Registers `n` workers over `kRegistrars` concurrent connections; empty if any failed.
  std::vector<Credentials> registerMany(size_t n) {
    auto token = workerToken();
    std::vector<Credentials> out(n);
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < kRegistrars; ++t) {
      threads.emplace_back([&] {
        for (size_t i = next++; i < n; i = next++) {
          auto c = registerWorker(fmt::format("worker-{:03d}", i), token);
          std::lock_guard lock(mu);
          if (c) {
            out[i] = *c;
          } else {
            errors.push_back(c.error().message);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (errors.empty()) return out;
    ADD_FAILURE() << errors.size() << " registrations failed, the first: " << errors.front();
    return {};
  }

  void connectAll(const std::vector<Credentials>& accounts) {
    clients_.call([&] {
      for (const auto& a : accounts) {
        mqtt::ClientOptions o;
        o.port = a.port;
        o.client_id = a.client_id;
        o.username = a.username;
        o.password = a.password;
        o.reconnect_min = 50ms;
        o.reconnect_max = 500ms;
        workers_.push_back(mqtt::MosquittoClient::create(clients_.loop(), o).value());
      }
    });
  }

  ::testing::AssertionResult allConnected() {
    return clients_.waitUntil(
        [&] {
          return std::all_of(workers_.begin(), workers_.end(),
                             [](const auto& w) { return w->connected(); });
        },
        kWait, "every worker connected");
  }

  uint64_t authFailures() {
    return clients_.call([&] {
      uint64_t n = 0;
      for (const auto& w : workers_) n += w->authFailures();
      return n;
    });
  }

  testing::TempDir dir_;
  ClusterOptions options_;
  testing::LoopThread cluster_thread_;
  std::unique_ptr<ClusterServer> cluster_;  // on cluster_thread_
  testing::LoopThread clients_;
  std::vector<std::unique_ptr<mqtt::MosquittoClient>> workers_;  // on clients_
};

TEST_F(ClusterBrokerTest, WorkersRegisteredInABurstAllConnectAtOnce) {
  auto accounts = registerMany(kWorkers);
  ASSERT_EQ(accounts.size(), kWorkers);
  connectAll(accounts);
  EXPECT_TRUE(allConnected());
  // The registration was answered after the broker took the account: nobody was refused.
  EXPECT_EQ(authFailures(), 0u);
  EXPECT_EQ(accounts[0].client_id, accounts[0].id + "-ne");
}

TEST_F(ClusterBrokerTest, AccountsSurviveARestartOfTheClusterAndItsBroker) {
  auto accounts = registerMany(kWorkers);
  ASSERT_EQ(accounts.size(), kWorkers);
  connectAll(accounts);
  ASSERT_TRUE(allConnected());

  stopCluster();
  auto began = std::chrono::steady_clock::now();
  startCluster();
  auto restart = std::chrono::steady_clock::now() - began;
  // Nothing is re-created one account at a time: the broker's own file holds them.
  EXPECT_LT(restart, 5s);
  EXPECT_TRUE(allConnected());
  EXPECT_EQ(authFailures(), 0u);
  auto log = files::read(options_.data_dir + "/mqtt/mosquitto.log").value();
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("Reloading")));
}

TEST_F(ClusterBrokerTest, ARegistrationAgainRotatesThePasswordAndTheOldOneIsRefused) {
  auto first = registerMany(1);
  ASSERT_EQ(first.size(), 1u);
  auto second = registerWorker("worker-000", workerToken());
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->id, first[0].id);
  EXPECT_NE(second->password, first[0].password);

  connectAll(first);
  EXPECT_TRUE(clients_.waitUntil([&] { return workers_[0]->authFailures() >= 2; }, kWait,
                                 "the old password refused"));
  ASSERT_TRUE(clients_.call(
      [&] { return workers_[0]->setCredentials(second->username, second->password); }));
  EXPECT_TRUE(allConnected());
}

TEST_F(ClusterBrokerTest, WithAnExternalBrokerEveryWorkerGetsItsAccount) {
  stopCluster();
  mqtt::MosquittoBroker::Options bo;
  bo.data_dir = dir_.file("external");
  bo.listen_host = "127.0.0.1";
  bo.port = testing::pickFreePort();
  bo.admin_username = "shared";
  bo.admin_password = "shared-secret";
  auto external = mqtt::MosquittoBroker::start(bo);
  ASSERT_TRUE(external) << external.error().message;
  options_.data_dir = dir_.file("cluster-external");
  options_.mqtt_url = fmt::format("mqtt://shared:shared-secret@127.0.0.1:{}", bo.port);
  startCluster();

  auto accounts = registerMany(2);
  ASSERT_EQ(accounts.size(), 2u);
  for (const auto& a : accounts) {
    EXPECT_EQ(a.username, "shared");
    EXPECT_EQ(a.password, "shared-secret");
    EXPECT_EQ(a.port, bo.port);
  }
  connectAll(accounts);
  EXPECT_TRUE(allConnected());
  // The cluster is there too: a report makes the worker active. Reports repeat, as a worker's
  // do, because the cluster may still be subscribing to the external broker.
  auto report = [&] {
    clients_.call([&] {
      workers_[0]->publish(fmt::format("nodes/{}/information", accounts[0].id),
                           R"({"cores_total":2,"cores_free":2,"memory_total_mb":512,)"
                           R"("memory_free_mb":512,"runtimes":["docker"]})");
    });
  };
  http::ClientRequest req{http::Method::kGet,
                          "/api/v1/resources/workers",
                          {{"Authorization", "Bearer " + workerToken()}},
                          ""};
  bool active = false;
  for (auto deadline = std::chrono::steady_clock::now() + kWait;
       !active && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(200ms)) {
    report();
    auto r = http::fetch("127.0.0.1", apiPort(), req, 5s);
    active = r && r->body.find(R"("active":true)") != std::string::npos;
  }
  EXPECT_TRUE(active) << "the worker's report reached the cluster";
}

TEST(ClusterOptionsTest, ALocationIsLatLonAndAnOptionalRadius) {
  testing::LoopThread thread;
  testing::TempDir dir;
  for (const char* bad :
       {"91,0", "48.1", "48.1,x", "48.1,11.6,", "48.1,11.6,-3", "48.1,11.6,5km"}) {
    ClusterOptions o;
    o.root_url = "http://127.0.0.1:1";
    o.name = "edge";
    o.token = "t";
    o.data_dir = dir.file("cluster");
    o.location = bad;
    auto c = thread.call([&] { return ClusterServer::create(o, thread.loop()); });
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_THAT(c.error().message, ::testing::StartsWith("--location: ")) << bad;
  }
}

}  // namespace
}  // namespace oak::cluster
