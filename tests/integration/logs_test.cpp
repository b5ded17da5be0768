// Service logs through the whole hierarchy: the real `oakestra root` and `oakestra cluster` (with
// its own mosquitto), and a fake worker in this process — an MQTT client with the broker
// account the cluster gives it, which holds instances and answers `logs/request` from a canned
// log. The user's side is the root's HTTP API: one-shot JSON and followed Server-Sent Events.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/files.h"
#include "common/json.h"
#include "http/event_loop.h"
#include "mqtt/mosquitto_client.h"
#include "root_fixture.h"
#include "sse_client.h"
#include "wait.h"

namespace oak::testing {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using oak::http::Method;

std::string str(const bj::value& v, std::string_view key) {
  return v.is_object() ? oak::json::getString(v.get_object(), key).value_or("") : "";
}

// A worker that speaks the cluster's MQTT protocol from this process, on an event loop thread.
class FakeWorker {
 public:
  struct LogRequest {
    std::string id, task_id, stream;
    int64_t tail = 0;
    bool follow = false;
  };

  ~FakeWorker() {
    if (thread_.joinable()) {
      loop_.stop();
      thread_.join();
    }
    ticker_.reset();
    bus_.reset();
  }

  // Registers with the cluster's worker API and connects to its broker.
  ::testing::AssertionResult start(uint16_t cluster_port, const std::string& worker_token) {
    auto r = ApiClient(cluster_port)
                 .post("/api/v1/workers/register", bj::object{{"name", "fake"}}, worker_token);
    if (r.status != 200) return ::testing::AssertionFailure() << "register: " << r.body;
    id_ = str(r.json, "worker_id");
    const auto& m = r.json.at("mqtt");
    mqtt::ClientOptions o;
    o.port = static_cast<uint16_t>(m.at("port").to_number<int64_t>());
    o.username = str(m, "username");
    o.password = str(m, "password");
    o.client_id = str(m, "client_id").empty() ? id_ + "-ne" : str(m, "client_id");
    auto bus = mqtt::MosquittoClient::create(loop_, o);
    if (!bus) return ::testing::AssertionFailure() << bus.error().message;
    bus_ = std::move(*bus);
    bus_->subscribe("nodes/" + id_ + "/#", 1);
    bus_->onMessage([this](const mqtt::Message& msg) { onMessage(msg); });
    ticker_ = loop_.every(500ms, [this] { report(); });
    thread_ = std::thread([this] { loop_.run(); });
    return ::testing::AssertionSuccess();
  }

  // Sends `text` to every open follow, as a line written just now.
  void emit(const std::string& text) {
    loop_.post([this, text] {
      std::lock_guard lock(mu_);
      for (const auto& id : follows_) reply(id, bj::array{line("stdout", text)}, false);
    });
  }
  // Reports an instance's status, with the last lines when it ended.
  void status(const std::string& job, int64_t n, const std::string& status,
              const std::string& logs = "") {
    bj::object o{{"sname", job}, {"instance", n}, {"status", status}, {"status_detail", ""}};
    if (!logs.empty()) o["logs"] = logs;
    loop_.post([this, o] { publish("job", o); });
  }
  void setAnswering(bool on) {
    std::lock_guard lock(mu_);
    answering_ = on;
  }
  std::vector<LogRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<std::string> cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  size_t follows() const {
    std::lock_guard lock(mu_);
    return follows_.size();
  }

 private:
  // The instance's log: three lines on two streams.
  static bj::array canned(const std::string& stream, int64_t tail) {
    const std::vector<std::pair<std::string, std::string>> kLog = {
        {"stdout", "starting"}, {"stderr", "warning: slow disk"}, {"stdout", "ready"}};
    bj::array out;
    for (const auto& [s, text] : kLog) {
      if (stream == "all" || stream == s) out.push_back(line(s, text));
    }
    while (static_cast<int64_t>(out.size()) > tail) out.erase(out.begin());
    return out;
  }
  static bj::object line(const std::string& stream, const std::string& text) {
    return {{"time", "2024-05-01T10:00:00.000000001Z"}, {"stream", stream}, {"line", text}};
  }

  void publish(const std::string& suffix, const bj::object& o) {
    bus_->publish("nodes/" + id_ + "/" + suffix, bj::serialize(o), 1);
  }
  void reply(const std::string& id, bj::array lines, bool done) {
    publish("logs/reply", {{"request_id", id}, {"lines", std::move(lines)}, {"done", done}});
  }

  void report() {
    std::lock_guard lock(mu_);
    bj::object capacity{{"cores_total", 4},
                        {"cores_free", 4},
                        {"memory_total_mb", 4096},
                        {"memory_free_mb", 4096},
                        {"disk_total_mb", 10000},
                        {"disk_free_mb", 10000},
                        {"runtimes", bj::array{"docker"}}};
    publish("information", capacity);
    bj::array services;
    for (const auto& [job, n] : held_) {
      services.push_back(
          bj::object{{"job_name", job}, {"instance", n}, {"virtualization", "docker"}});
    }
    publish("jobs/resources", {{"services", std::move(services)}});
  }

  void onMessage(const mqtt::Message& m) {
    auto v = oak::json::parse(m.payload);
    if (!v || !v->is_object()) return;
    const auto& o = v->get_object();
    std::string verb = m.topic.substr(("nodes/" + id_ + "/").size());
    std::lock_guard lock(mu_);
    if (verb == "control/deploy") {
      std::string job = str(o, "job_name");
      int64_t n = oak::json::getInt(o, "instance_number").value_or(0);
      held_.emplace(job, n);
      publish("job", {{"sname", job}, {"instance", n}, {"status", "ACTIVE"}});
    } else if (verb == "control/delete") {
      std::string job = str(o, "job_name");
      int64_t n = oak::json::getInt(o, "instance_number").value_or(0);
      held_.erase({job, n});
      publish("job", {{"sname", job}, {"instance", n}, {"status", "UNDEPLOYED"}});
    } else if (verb == "logs/request") {
      LogRequest r{str(o, "request_id"), str(o, "task_id"), str(o, "stream"),
                   oak::json::getInt(o, "tail").value_or(0), o.at("follow") == true};
      requests_.push_back(r);
      if (!answering_) return;
      reply(r.id, canned(r.stream, r.tail), !r.follow);
      if (r.follow) follows_.insert(r.id);
    } else if (verb == "logs/cancel") {
      cancelled_.push_back(str(o, "request_id"));
      follows_.erase(str(o, "request_id"));
    }
  }

  EventLoop loop_{1};
  std::unique_ptr<mqtt::MosquittoClient> bus_;
  std::unique_ptr<EventLoop::Periodic> ticker_;
  std::thread thread_;
  std::string id_;
  mutable std::mutex mu_;
  std::set<std::pair<std::string, int64_t>> held_;
  std::vector<LogRequest> requests_;
  std::vector<std::string> cancelled_;
  std::set<std::string> follows_;
  bool answering_ = true;
};

class LogsTest : public RootProcessTest {
 protected:
  void SetUp() override {
    RootProcessTest::SetUp();
    if (HasFatalFailure()) return;
    cluster_port_ = pickFreePort();
    std::string token = readFile(dir_.file("data/cluster-token"));
    cluster_ = std::make_unique<Process>(
        binaryPath("oakestra"),
        std::vector<std::string>{"cluster", "--root", "http://127.0.0.1:" + std::to_string(port_),
                                 "--name", "edge", "--token", token, "--listen",
                                 local(cluster_port_), "--data-dir", dir_.file("cluster"),
                                 "--mqtt-listen", local(pickFreePort()), "--worker-lease", "3"},
        std::map<std::string, std::string>{}, dir_.file("cluster.log"));
    ASSERT_TRUE(waitForPort(cluster_port_, 20s)) << cluster_->log();
    ASSERT_TRUE(worker_.start(cluster_port_, readFile(dir_.file("cluster/worker-token"))));
    admin_ = api().login("Admin", "Admin");
    ASSERT_NO_FATAL_FAILURE(deployService());
  }

  void TearDown() override {
    if (cluster_ && HasFailure()) std::cerr << "--- oakestra cluster log ---\n" << cluster_->log();
    RootProcessTest::TearDown();
  }

  static std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
  static std::string readFile(const std::string& path) {
    auto text = oak::files::read(path);
    std::string s = text ? *text : "";
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
  }

  // One service with one instance, RUNNING on the fake worker.
  void deployService() {
    bj::object sla{
        {"sla_version", "v2.0"},
        {"customerID", "Admin"},
        {"applications",
         bj::array{bj::object{
             {"application_name", "shop"},
             {"application_namespace", "test"},
             {"application_desc", ""},
             {"microservices", bj::array{bj::object{{"microserviceID", ""},
                                                    {"microservice_name", "web"},
                                                    {"microservice_namespace", "test"},
                                                    {"virtualization", "container"},
                                                    {"memory", 100},
                                                    {"vcpus", 1},
                                                    {"code", "docker.io/library/nginx"}}}}}}}};
    auto created = api().post("/api/application/", sla, admin_);
    ASSERT_EQ(created.status, 200) << created.body;
    std::string app = str(created.json.at(0), "applicationID");
    auto services = api().get("/api/services/" + app, admin_);
    ASSERT_EQ(services.status, 200) << services.body;
    sid_ = str(services.json.at(0), "microserviceID");
    job_ = str(services.json.at(0), "job_name");
    ASSERT_TRUE(waitUntil("the root sees the fake worker's capacity", 20s, [&] {
      auto up = api().call(Method::kPost, "/api/service/" + sid_ + "/instance", "", admin_);
      EXPECT_EQ(up.status, 200) << up.body;
      bool placed = false;
      EXPECT_TRUE(waitUntil("the instance is placed or refused", 10s, [&] {
        auto st = instanceStatus();
        placed = st == "RUNNING";
        return placed || st == "NoActiveClusterWithCapacity";
      }));
      return placed;
    })) << service().body;
  }

  ApiResponse service() { return api().get("/api/service/" + sid_, admin_); }
  // The status of instance 0 at the root ("" when there is none).
  std::string instanceStatus() {
    auto s = service();
    const auto* list =
        s.json.is_object() ? oak::json::findArray(s.json.get_object(), "instance_list") : nullptr;
    if (list == nullptr || list->empty()) return str(s.json, "status");
    return str(list->at(0), "status");
  }
  std::string logsPath(const std::string& query = "", const std::string& n = "0") const {
    return "/api/service/" + sid_ + "/instance/" + n + "/logs" + query;
  }
  std::unique_ptr<SseClient> follow(const std::string& query = "?follow=true") {
    SseClient::Options o;
    o.token = admin_;
    auto c = SseClient::open(port_, logsPath(query), o);
    EXPECT_TRUE(c) << "no answer to the follow";
    if (c) {
      EXPECT_EQ(c->status(), 200) << c->body();
    }
    return c;
  }
  static bj::object event(const std::optional<std::string>& data) {
    EXPECT_TRUE(data.has_value()) << "no event";
    if (!data) return {};
    auto v = oak::json::parse(*data);
    EXPECT_TRUE(v && v->is_object()) << *data;
    return v && v->is_object() ? v->get_object() : bj::object{};
  }

  FakeWorker worker_;
  uint16_t cluster_port_ = 0;
  std::unique_ptr<Process> cluster_;
  std::string admin_, sid_, job_;
};

TEST_F(LogsTest, TheWorkersLinesComeBackAsJson) {
  auto r = api().get(logsPath("?stream=all&tail=2"), admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json, "service_id"), sid_);
  EXPECT_EQ(r.json.at("instance_number"), 0);
  EXPECT_EQ(r.json.at("stream"), "all");
  const auto& lines = r.json.at("lines").as_array();
  ASSERT_EQ(lines.size(), 2u) << r.body;
  EXPECT_EQ(lines[0].at("line"), "warning: slow disk");
  EXPECT_EQ(lines[0].at("stream"), "stderr");
  EXPECT_EQ(lines[0].at("time"), "2024-05-01T10:00:00.000000001Z");
  EXPECT_EQ(lines[1].at("line"), "ready");

  auto asked = worker_.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].task_id, job_ + ".instance.0");
  EXPECT_EQ(asked[0].stream, "all");
  EXPECT_EQ(asked[0].tail, 2);
  EXPECT_FALSE(asked[0].follow);

  auto only = api().get(logsPath("?stream=stderr"), admin_);
  ASSERT_EQ(only.status, 200) << only.body;
  EXPECT_EQ(only.json.at("lines").as_array().size(), 1u);
  EXPECT_EQ(worker_.requests().back().tail, 100) << "the default tail";
}

TEST_F(LogsTest, BadRequestsNameTheProblem) {
  auto status = [&](const std::string& path, const std::string& token) {
    auto r = api().get(path, token);
    return std::to_string(r.status) + " " + r.message();
  };
  EXPECT_EQ(status(logsPath("?stream=both"), admin_),
            "400 stream: 'both' is not one of stdout, stderr, all");
  EXPECT_EQ(status(logsPath("?tail=0"), admin_),
            "400 tail: '0' is not a number of lines from 1 to 10000");
  EXPECT_EQ(status(logsPath("?tail=10001"), admin_),
            "400 tail: '10001' is not a number of lines from 1 to 10000");
  EXPECT_EQ(status(logsPath("?follow=yes"), admin_), "400 follow: 'yes' is neither true nor false");
  EXPECT_EQ(status(logsPath("", "x"), admin_),
            "400 instance_number: 'x' is not a non-negative integer");
  EXPECT_EQ(status(logsPath("", "7"), admin_),
            "404 instance_number: the service has no instance 7");
  EXPECT_EQ(api().get(logsPath(), "").status, 401);
  EXPECT_EQ(api().get("/api/service/0123456789abcdef01234567/instance/0/logs", admin_).status, 404);

  // Another user does not see the service at all.
  auto reg = api().post("/api/auth/register",
                        bj::object{{"name", "bob"},
                                   {"password", "pw"},
                                   {"email", "b@x"},
                                   {"roles", bj::array{"Application_Provider"}}},
                        admin_);
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(api().get(logsPath(), api().login("bob", "pw")).status, 404);
  EXPECT_TRUE(worker_.requests().empty()) << "nothing reached the worker";
}

TEST_F(LogsTest, AFollowDeliversNewLinesAndEndsWhenTheClientLeaves) {
  auto c = follow("?follow=true&tail=1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(event(c->next()).at("line"), "ready");
  ASSERT_EQ(worker_.requests().size(), 1u);
  EXPECT_TRUE(worker_.requests()[0].follow);

  worker_.emit("fresh line");
  auto e = event(c->next());
  EXPECT_EQ(e.at("line"), "fresh line");
  EXPECT_EQ(e.at("stream"), "stdout");

  c->close();
  std::string id = worker_.requests()[0].id;
  EXPECT_TRUE(waitUntil("the worker is told to stop", 10s, [&] {
    auto cancelled = worker_.cancelled();
    return std::find(cancelled.begin(), cancelled.end(), id) != cancelled.end();
  }));
  EXPECT_EQ(worker_.follows(), 0u);
}

TEST_F(LogsTest, AFollowEndsWhenTheInstanceIsUndeployed) {
  auto c = follow();
  ASSERT_TRUE(c);
  EXPECT_EQ(event(c->next()).at("line"), "starting");
  auto down = api().call(Method::kDelete, "/api/service/" + sid_ + "/instance/0", "", admin_);
  ASSERT_EQ(down.status, 200) << down.body;
  bj::object last;
  while (auto data = c->next(10s)) last = event(data);
  EXPECT_EQ(str(last, "end"), "the instance was undeployed");
  EXPECT_TRUE(c->complete()) << "the body ended properly";
  EXPECT_TRUE(waitUntil("the worker is told to stop", 10s, [&] { return worker_.follows() == 0; }));
}

TEST_F(LogsTest, AFollowEndsWhenTheClusterGoesAway) {
  auto c = follow();
  ASSERT_TRUE(c);
  EXPECT_EQ(event(c->next()).at("line"), "starting");
  ASSERT_EQ(cluster_->stop(), 0);
  bj::object last;
  while (auto data = c->next(15s)) last = event(data);
  EXPECT_EQ(str(last, "end"), "the link to the instance's cluster was lost");
  EXPECT_TRUE(c->complete());

  auto r = api().get(logsPath(), admin_);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.message().find("is not connected"), std::string::npos) << r.body;
}

TEST_F(LogsTest, AClusterThatDoesNotAnswerInTimeIsA503) {
  worker_.setAnswering(false);
  auto started = std::chrono::steady_clock::now();
  auto r = api().get(logsPath(), admin_);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.message(), "the instance's cluster did not answer within 10 s");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 9s);
}

TEST_F(LogsTest, AnEndedInstanceKeepsItsLastLinesAtTheRoot) {
  worker_.status(job_, 0, "DEAD", "segfault at 0x0\nexit 139");
  ASSERT_TRUE(waitUntil("the root stores the last lines", 10s, [&] {
    auto s = service();
    return s.json.is_object() &&
           str(s.json.at("instance_list").at(0), "logs") == "segfault at 0x0\nexit 139";
  })) << service().body;
}

}  // namespace
}  // namespace oak::testing
