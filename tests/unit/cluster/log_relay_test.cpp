// Service logs at the cluster: the relay between the root link and the workers' MQTT topics, on
// an in-memory broker in manual mode and a simulated clock. First with a hand-set placement, then
// wired to a real orchestrator as the cluster server wires it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/log_relay.h"
#include "cluster/orchestrator.h"
#include "cluster_test_util.h"
#include "common/clock.h"
#include "common/json.h"
#include "mqtt/memory_bus.h"
#include "store/memory_store.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

// A worker's end of the logs topics: records what the cluster asks, answers by hand.
struct LogWorker {
  std::string id;
  std::unique_ptr<mqtt::MessageBus> bus;
  std::vector<mqtt::Message> received;

  // "request", "renew", "cancel" for each message, in order.
  std::vector<std::string> verbs() const {
    std::vector<std::string> out;
    for (const auto& m : received) out.push_back(m.topic.substr(m.topic.rfind('/') + 1));
    return out;
  }
  bj::object payload(size_t i) const { return json::parse(received.at(i).payload)->get_object(); }
  std::string requestId(size_t i = 0) const {
    return json::getString(payload(i), "request_id").value_or("");
  }
  void reply(const std::string& request_id, bj::array lines, bool done,
             const std::string& error = "") {
    bj::object o{{"request_id", request_id}, {"lines", std::move(lines)}, {"done", done}};
    if (!error.empty()) o["error"] = error;
    bus->publish(fmt::format("nodes/{}/logs/reply", id), bj::serialize(o));
  }
};

bj::object line(const std::string& text, const std::string& stream = "stdout") {
  return {{"time", "2024-05-01T10:00:00.123456789Z"}, {"stream", stream}, {"line", text}};
}

// Every logs_chunk the cluster sent to the root, decoded.
std::vector<link::LogsChunk> chunksIn(const std::vector<std::string>& texts) {
  std::vector<link::LogsChunk> out;
  for (const auto& t : texts) {
    auto e = link::decode(t);
    EXPECT_TRUE(e) << t;
    if (!e || e->type != "logs_chunk") continue;
    auto c = link::logsChunkFrom(*e);
    EXPECT_TRUE(c) << c.error().message;
    if (c) out.push_back(std::move(*c));
  }
  return out;
}

std::vector<std::string> linesOf(const link::LogsChunk& c) {
  std::vector<std::string> out;
  for (const auto& l : c.lines) out.push_back(l.line);
  return out;
}

class LogRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_->subscribe(LogRelay::kReplyTopic, 1);
    bus_->onMessage([this](const mqtt::Message& m) { relay_->onBusMessage(m); });
    for (const char* id : {"w1", "w2"}) {
      auto w = std::make_unique<LogWorker>();
      w->id = id;
      w->bus = broker_.connect(std::string(id) + "-ne");
      w->bus->subscribe(fmt::format("nodes/{}/logs/#", id), 1);
      w->bus->onMessage([raw = w.get()](const mqtt::Message& m) {
        if (!m.topic.ends_with("/reply")) raw->received.push_back(m);
      });
      workers_[id] = std::move(w);
    }
    placement_["s1.0"] = LogTarget{"w1", "worker-1", "app.ns.web.ns.instance.0"};
  }

  LogRelay::Deps deps() {
    return {clock_, *bus_, [this](std::string t) { to_root_.push_back(std::move(t)); },
            [this](const std::string& sid, int64_t n) -> Result<LogTarget> {
              auto it = placement_.find(fmt::format("{}.{}", sid, n));
              if (it == placement_.end()) return error_;
              return it->second;
            }};
  }

  void request(const std::string& id, bool follow, const std::string& stream = "all",
               int64_t tail = 100) {
    EXPECT_TRUE(
        relay_->onRootMessage(link::encodeLogsRequest({id, "s1", 0, stream, tail, follow})));
    broker_.deliverAll();
  }
  void tickAfter(std::chrono::seconds d) {
    clock_.advance(d);
    relay_->tick();
    broker_.deliverAll();
  }
  std::vector<link::LogsChunk> chunks() const { return chunksIn(to_root_); }
  LogWorker& w1() { return *workers_["w1"]; }

  SimulatedClock clock_;
  mqtt::InMemoryBroker broker_;
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("cluster");
  std::map<std::string, std::unique_ptr<LogWorker>> workers_;
  std::map<std::string, LogTarget> placement_;
  Error error_ = makeError(ErrorCode::kNotFound, "instance 0 of service s1 is not on this cluster");
  std::vector<std::string> to_root_;
  std::unique_ptr<LogRelay> relay_ = std::make_unique<LogRelay>(deps());
};

TEST_F(LogRelayTest, AsksTheWorkerThatHoldsTheInstance) {
  request("r1", false, "stderr", 50);
  ASSERT_THAT(w1().verbs(), ElementsAre("request"));
  EXPECT_EQ(w1().received[0].topic, "nodes/w1/logs/request");
  auto p = w1().payload(0);
  EXPECT_EQ(p.at("task_id"), "app.ns.web.ns.instance.0");
  EXPECT_EQ(p.at("stream"), "stderr");
  EXPECT_EQ(p.at("tail"), 50);
  EXPECT_EQ(p.at("follow"), false);
  EXPECT_FALSE(w1().requestId().empty());
  EXPECT_NE(w1().requestId(), "r1") << "workers see the cluster's own ids";
  EXPECT_THAT(workers_["w2"]->received, IsEmpty());
  EXPECT_THAT(to_root_, IsEmpty()) << "a one-shot request is answered by the worker's lines";
  EXPECT_EQ(relay_->openRequests(), 1u);
}

TEST_F(LogRelayTest, RelaysTheWorkersRepliesUntilDone) {
  request("r1", false);
  w1().reply(w1().requestId(), bj::array{line("a"), line("b", "stderr")}, false);
  w1().reply(w1().requestId(), bj::array{line("c")}, true);
  broker_.deliverAll();
  auto c = chunks();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].request_id, "r1");
  EXPECT_THAT(linesOf(c[0]), ElementsAre("a", "b"));
  EXPECT_EQ(c[0].lines[1].stream, "stderr");
  EXPECT_EQ(c[0].lines[0].time, "2024-05-01T10:00:00.123456789Z");
  EXPECT_FALSE(c[0].done);
  EXPECT_THAT(linesOf(c[1]), ElementsAre("c"));
  EXPECT_TRUE(c[1].done);
  EXPECT_EQ(relay_->openRequests(), 0u);
}

TEST_F(LogRelayTest, ErrorsAreFinalChunks) {
  EXPECT_TRUE(relay_->onRootMessage(link::encodeLogsRequest({"r1", "other", 3, "all", 10, true})));
  request("r2", false);
  w1().reply(w1().requestId(), {}, true, "no logs for task app.ns.web.ns.instance.0");
  broker_.deliverAll();
  auto c = chunks();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].request_id, "r1");
  EXPECT_TRUE(c[0].done);
  EXPECT_EQ(c[0].error, "instance 0 of service s1 is not on this cluster");
  EXPECT_EQ(c[1].request_id, "r2");
  EXPECT_TRUE(c[1].done);
  EXPECT_EQ(c[1].error, "worker 'worker-1': no logs for task app.ns.web.ns.instance.0");
  EXPECT_EQ(relay_->openRequests(), 0u);
}

TEST_F(LogRelayTest, MalformedRequestsAreAnsweredAndOtherMessagesLeftAlone) {
  bj::object bad{{"type", "logs_request"},
                 {"request_id", "r9"},
                 {"service_id", "s1"},
                 {"instance_number", 0},
                 {"tail", 0}};
  EXPECT_TRUE(relay_->onRootMessage(bj::serialize(bad)));
  auto c = chunks();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].request_id, "r9");
  EXPECT_THAT(c[0].error, HasSubstr("tail"));
  EXPECT_FALSE(relay_->onRootMessage(link::encodeUndeploy({"s1", 0})));
  EXPECT_FALSE(relay_->onRootMessage("not json"));
  broker_.deliverAll();
  EXPECT_THAT(w1().received, IsEmpty());
}

TEST_F(LogRelayTest, AFollowIsAcknowledgedAtOnceAndGoesOnUntilCancelled) {
  request("r1", true);
  auto c = chunks();
  ASSERT_EQ(c.size(), 1u) << "the acknowledgement";
  EXPECT_TRUE(c[0].lines.empty());
  EXPECT_FALSE(c[0].done);
  std::string id = w1().requestId();
  w1().reply(id, bj::array{line("tail")}, false);
  w1().reply(id, bj::array{line("new")}, false);
  broker_.deliverAll();
  c = chunks();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_THAT(linesOf(c[2]), ElementsAre("new"));

  to_root_.clear();
  relay_->onRootMessage(link::encodeLogsCancel("r1"));
  broker_.deliverAll();
  ASSERT_THAT(w1().verbs(), ElementsAre("request", "cancel"));
  EXPECT_EQ(w1().requestId(1), id);
  EXPECT_EQ(relay_->openRequests(), 0u);
  // A line already on its way: nothing reaches the root, and the worker is told again.
  w1().reply(id, bj::array{line("late")}, false);
  broker_.deliverAll();
  EXPECT_THAT(to_root_, IsEmpty());
  EXPECT_THAT(w1().verbs(), ElementsAre("request", "cancel", "cancel"));
}

TEST_F(LogRelayTest, FollowsAreRenewedEveryTwentySecondsAndNeverTimeOut) {
  request("r1", true);
  tickAfter(19s);
  EXPECT_THAT(w1().verbs(), ElementsAre("request"));
  tickAfter(1s);
  ASSERT_THAT(w1().verbs(), ElementsAre("request", "renew"));
  EXPECT_EQ(w1().requestId(1), w1().requestId(0));
  tickAfter(10s);
  tickAfter(10s);
  EXPECT_THAT(w1().verbs(), ElementsAre("request", "renew", "renew"));
  tickAfter(100s);
  EXPECT_EQ(relay_->openRequests(), 1u);
  EXPECT_EQ(chunks().size(), 1u) << "only the acknowledgement";
}

TEST_F(LogRelayTest, AnUnansweredRequestFailsAfterTheReplyTimeout) {
  request("r1", false);
  tickAfter(14s);
  EXPECT_THAT(to_root_, IsEmpty());
  tickAfter(1s);
  auto c = chunks();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].error, "worker 'worker-1' did not answer within 15 s");
  EXPECT_THAT(w1().verbs(), ElementsAre("request", "cancel"));
  EXPECT_EQ(relay_->openRequests(), 0u);
}

TEST_F(LogRelayTest, AFollowEndsWhenItsWorkerIsLostOrTheInstanceMoves) {
  request("r1", true);
  request("r2", true);
  placement_.erase("s1.0");
  error_ = makeError(ErrorCode::kUnavailable, "worker 'worker-1' is not active");
  to_root_.clear();
  tickAfter(1s);
  auto c = chunks();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].error,
            "the instance is no longer on worker 'worker-1' (worker 'worker-1' is not active)");
  EXPECT_TRUE(c[1].done);
  EXPECT_THAT(w1().verbs(), ElementsAre("request", "request", "cancel", "cancel"));

  placement_["s1.0"] = LogTarget{"w1", "worker-1", "app.ns.web.ns.instance.0"};
  request("r3", true);
  placement_["s1.0"] = LogTarget{"w2", "worker-2", "app.ns.web.ns.instance.0"};
  to_root_.clear();
  tickAfter(1s);
  c = chunks();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].request_id, "r3");
  EXPECT_EQ(c[0].error,
            "the instance is no longer on worker 'worker-1' (now on worker 'worker-2')");
  EXPECT_EQ(relay_->openRequests(), 0u);
}

TEST_F(LogRelayTest, TheRootLinkDroppingEndsEverythingQuietly) {
  request("r1", true);
  request("r2", false);
  to_root_.clear();
  relay_->onRootDisconnected();
  broker_.deliverAll();
  EXPECT_THAT(to_root_, IsEmpty());
  EXPECT_THAT(w1().verbs(), ElementsAre("request", "request", "cancel", "cancel"));
  EXPECT_EQ(relay_->openRequests(), 0u);
  // The root reuses ids after a restart: no clash.
  request("r1", false);
  EXPECT_EQ(relay_->openRequests(), 1u);
}

TEST_F(LogRelayTest, OnlyTheWorkerAskedCanAnswer) {
  request("r1", false);
  workers_["w2"]->reply(w1().requestId(), bj::array{line("forged")}, true);
  broker_.deliverAll();
  EXPECT_THAT(to_root_, IsEmpty());
  EXPECT_EQ(relay_->openRequests(), 1u);
}

TEST_F(LogRelayTest, ADuplicateRequestIdIsRefused) {
  request("r1", true);
  request("r1", true);
  auto c = chunks();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_THAT(c[1].error, HasSubstr("already in use"));
  EXPECT_EQ(relay_->openRequests(), 1u);
}

TEST_F(LogRelayTest, LargeAnswersAreCutIntoBoundedChunksAndLongLinesShortened) {
  LogRelayOptions o;
  o.max_chunk_bytes = 1000;
  o.max_line_bytes = 100;
  relay_ = std::make_unique<LogRelay>(deps(), o);
  request("r1", false);
  bj::array lines;
  for (int i = 0; i < 30; ++i) lines.push_back(line(std::string(80, 'a' + i % 26)));
  lines.push_back(line(std::string(99, 'x') + "\xc3\xa9" + std::string(50, 'y')));  // é at 99
  w1().reply(w1().requestId(), lines, true);
  broker_.deliverAll();
  auto c = chunks();
  ASSERT_GT(c.size(), 2u);
  size_t total = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].done, i + 1 == c.size());
    EXPECT_LE(link::encodeLogsChunk(c[i]).size(), 1000u + 200u);
    total += c[i].lines.size();
  }
  EXPECT_EQ(total, 31u);
  EXPECT_EQ(c.back().lines.back().line, std::string(99, 'x')) << "cut before the é, not inside";
}

// --- Wired to the orchestrator
// --------------------------------------------------------------------

bj::object capacity() {
  return {{"cores_total", 4},
          {"cores_free", 4},
          {"memory_total_mb", 4096},
          {"memory_free_mb", 4096},
          {"disk_total_mb", 10000},
          {"disk_free_mb", 10000},
          {"runtimes", bj::array{"docker"}}};
}

class OrchestratorLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OrchestratorOptions o;
    o.name = "edge";
    o.worker_lease = 30s;
    orch_ = std::make_unique<Orchestrator>(Orchestrator::Deps{store_, clock_, *bus_, sink()}, o);
    relay_ = std::make_unique<LogRelay>(LogRelay::Deps{
        clock_, *bus_, sink(), [this](const std::string& sid, int64_t n) -> Result<LogTarget> {
          OAK_ASSIGN_OR_RETURN(auto p, orch_->placementOf(sid, n));
          return LogTarget{p.worker_id, p.worker_name, p.task_id};
        }});
    for (const char* t :
         {"nodes/+/information", "nodes/+/job", "nodes/+/jobs/resources", LogRelay::kReplyTopic}) {
      bus_->subscribe(t, 1);
    }
    bus_->onMessage([this](const mqtt::Message& m) {
      orch_->onBusMessage(m);
      relay_->onBusMessage(m);
    });
    worker_.id = orch_->registerWorker("w1")->id;
    worker_.bus = broker_.connect("w1-ne");
    worker_.bus->subscribe(fmt::format("nodes/{}/logs/#", worker_.id), 1);
    worker_.bus->onMessage([this](const mqtt::Message& m) { worker_.received.push_back(m); });
    publish("information", capacity());
  }

  std::function<void(std::string)> sink() {
    return [this](std::string t) { to_root_.push_back(std::move(t)); };
  }
  void publish(const std::string& suffix, const bj::object& o) {
    worker_.bus->publish(fmt::format("nodes/{}/{}", worker_.id, suffix), bj::serialize(o));
    broker_.deliverAll();
  }
  void fromRoot(const std::string& text) {
    if (!relay_->onRootMessage(text)) {
      orch_->onRootMessage(text);
      relay_->tick();
    }
    broker_.deliverAll();
  }

  store::InMemoryStore store_;
  SimulatedClock clock_;
  mqtt::InMemoryBroker broker_;
  std::unique_ptr<mqtt::MessageBus> bus_ = broker_.connect("cluster");
  std::vector<std::string> to_root_;
  std::unique_ptr<Orchestrator> orch_;
  std::unique_ptr<LogRelay> relay_;
  LogWorker worker_;
};

TEST_F(OrchestratorLogsTest, TheTaskIdIsTheWorkersNameOfTheInstance) {
  fromRoot(deployText(serviceDoc(kSid, kJob), 2));
  auto p = orch_->placementOf(kSid, 2);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->worker_id, worker_.id);
  EXPECT_EQ(p->worker_name, "w1");
  EXPECT_EQ(p->task_id, std::string(kJob) + ".instance.2");
  EXPECT_EQ(orch_->placementOf(kSid, 3).error().code, ErrorCode::kNotFound);

  fromRoot(link::encodeLogsRequest({"r1", kSid, 2, "all", 5, true}));
  ASSERT_FALSE(worker_.received.empty());
  EXPECT_EQ(json::getString(worker_.payload(0), "task_id"), std::string(kJob) + ".instance.2");
}

TEST_F(OrchestratorLogsTest, AnUndeployEndsTheFollowsOfTheInstance) {
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(link::encodeLogsRequest({"r1", kSid, 0, "all", 5, true}));
  to_root_.clear();
  fromRoot(undeployText(kSid, 0));
  auto c = chunksIn(to_root_);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].request_id, "r1");
  EXPECT_THAT(c[0].error, HasSubstr("not on this cluster"));
  EXPECT_THAT(worker_.verbs(), ElementsAre("request", "cancel"));
}

TEST_F(OrchestratorLogsTest, ALostWorkerEndsItsFollows) {
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  fromRoot(link::encodeLogsRequest({"r1", kSid, 0, "all", 5, true}));
  to_root_.clear();
  clock_.advance(31s);
  orch_->tick();
  relay_->tick();
  broker_.deliverAll();
  auto c = chunksIn(to_root_);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.back().request_id, "r1");
  EXPECT_THAT(c.back().error, HasSubstr("no longer on worker 'w1'"));
}

TEST_F(OrchestratorLogsTest, TheLastLinesOfAnEndedInstanceReachTheRootBounded) {
  fromRoot(deployText(serviceDoc(kSid, kJob), 0));
  publish("job", {{"sname", kJob}, {"instance", 0}, {"status", "ACTIVE"}});
  to_root_.clear();
  std::string logs = std::string(5000, 'a') + "\nlast line";
  publish("job", {{"sname", kJob}, {"instance", 0}, {"status", "DEAD"}, {"logs", logs}});
  RootInbox inbox;
  for (auto& t : to_root_) inbox.sink()(t);
  auto s = inbox.statuses();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].status, "DEAD");
  EXPECT_EQ(s[0].logs.size(), link::kMaxInstanceLogsBytes);
  EXPECT_TRUE(s[0].logs.ends_with("\nlast line"));
}

}  // namespace
}  // namespace oak::cluster
