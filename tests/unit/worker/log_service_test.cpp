// LogService over the in-memory broker: a "cluster" client sends requests and collects replies;
// log files are written with LogWriter on a simulated clock. The poll timer is set far in the
// future, so follows advance only when a test calls tick().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>

#include "common/json.h"
#include "log_test_util.h"
#include "mqtt/memory_bus.h"
#include "temp_dir.h"
#include "worker/agent/agent.h"
#include "worker/agent/log_service.h"
#include "worker/logs/log_writer.h"
#include "worker/runtime/fake_runtime.h"

namespace oak::worker {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace bj = boost::json;
namespace fs = std::filesystem;

constexpr const char* kTask = "app.ns.svc.ns.instance.0";

// A worker and a cluster client on one in-memory broker, logs under a temporary directory.
class OnBus : public ::testing::Test {
 protected:
  std::string root() const { return (tmp_.path() / "logs").string(); }

  testing::TempDir tmp_;
  SimulatedClock clock_;
  EventLoop loop_;
  mqtt::InMemoryBroker broker_{&loop_};
  std::unique_ptr<mqtt::MessageBus> worker_ = broker_.connect("w1-ne");
  std::unique_ptr<mqtt::MessageBus> cluster_ = broker_.connect("cluster");
};

class LogServiceTest : public OnBus {
 protected:
  void SetUp() override {
    cluster_->subscribe("nodes/w1/logs/reply");
    cluster_->onMessage([this](const mqtt::Message& m) {
      raw_.push_back(m.payload);
      auto v = json::parse(m.payload);
      ASSERT_TRUE(v && v->is_object()) << m.payload;
      replies_.push_back(v->get_object());
    });
    start(options());
  }

  LogServiceOptions options() const {
    LogServiceOptions o{"w1", root()};
    o.poll_period = 1h;
    return o;
  }
  void start(LogServiceOptions o) {
    service_ = std::make_unique<LogService>(loop_, clock_, *worker_, std::move(o));
    worker_->onMessage([this](const mqtt::Message& m) { EXPECT_TRUE(service_->handle(m)); });
    service_->subscribe();
    loop_.drain();
  }

  std::string dir(const std::string& task = kTask) const { return logDirFor(root(), task); }
  LogWriter& writer(LogStream s) {
    auto& w = writers_[static_cast<int>(s)];
    if (!w) w = std::make_unique<LogWriter>(dir(), s, LogLimits{}, clock_);
    return *w;
  }
  void write(LogStream s, const std::string& text) {
    clock_.advance(1ms);
    ASSERT_TRUE(writer(s).write(text));
  }

  void send(const std::string& suffix, const std::string& payload) {
    cluster_->publish("nodes/w1/logs/" + suffix, payload);
    loop_.drain();
  }
  void request(const bj::object& o) { send("request", bj::serialize(o)); }
  bj::object req(const std::string& id, bool follow = false) {
    return bj::object{{"request_id", id}, {"task_id", kTask}, {"follow", follow}};
  }
  void tick() {
    service_->tick();
    loop_.drain();
  }
  std::vector<bj::object> take() { return std::exchange(replies_, {}); }

  static std::vector<std::string> linesOf(const std::vector<bj::object>& replies) {
    std::vector<std::string> out;
    for (const auto& r : replies) {
      for (const auto& l : r.at("lines").as_array()) {
        out.emplace_back(l.as_object().at("line").as_string());
      }
    }
    return out;
  }
  static std::string error(const bj::object& r) {
    auto e = json::getString(r, "error");
    return e.value_or("");
  }

  std::unique_ptr<LogWriter> writers_[2];
  std::vector<bj::object> replies_;
  std::vector<std::string> raw_;
  std::unique_ptr<LogService> service_;
};

TEST_F(LogServiceTest, AnswersATail) {
  write(LogStream::kStdout, "a\nb\nc\n");
  write(LogStream::kStderr, "e\n");
  request({{"request_id", "r1"}, {"task_id", kTask}, {"stream", "stdout"}, {"tail", 2}});
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("request_id"), "r1");
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_FALSE(r[0].contains("error"));
  EXPECT_EQ(r[0].at("lines"),
            bj::parse(R"([{"time":"2023-11-14T22:13:20.001000000Z","stream":"stdout","line":"b"},
                          {"time":"2023-11-14T22:13:20.001000000Z","stream":"stdout","line":"c"}])"));
  EXPECT_EQ(service_->stats().requests, 1u);
}

TEST_F(LogServiceTest, DefaultsToBothStreamsAndAHundredLines) {
  for (int i = 0; i < 150; ++i) write(LogStream::kStdout, std::to_string(i) + "\n");
  write(LogStream::kStderr, "err\n");
  request({{"request_id", "r"}, {"task_id", kTask}});
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  auto lines = r[0].at("lines").as_array();
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.front().at("line"), "51");
  EXPECT_EQ(lines.back().at("stream"), "stderr");
}

TEST_F(LogServiceTest, TailMinusOneMeansUpToTheMaximumAndBigAnswersAreSplit) {
  std::string batch;
  for (int i = 0; i < 10005; ++i) batch += std::to_string(i) + std::string(50, '.') + "\n";
  write(LogStream::kStdout, batch);
  request({{"request_id", "big"}, {"task_id", kTask}, {"tail", -1}});
  auto r = take();
  ASSERT_GT(r.size(), 5u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].at("done"), i + 1 == r.size());
    EXPECT_LE(raw_[i].size(), 64u * 1024);
    EXPECT_EQ(r[i].at("request_id"), "big");
  }
  auto lines = linesOf(r);
  ASSERT_EQ(lines.size(), 10000u);
  EXPECT_EQ(lines.front(), "5" + std::string(50, '.'));
  EXPECT_EQ(lines.back(), "10004" + std::string(50, '.'));
}

TEST_F(LogServiceTest, ALineLargerThanAMessageGoesAlone) {
  write(LogStream::kStdout, "small\n" + std::string(kMaxLineBytes, '\x01') + "\nsmall\n");
  request({{"request_id", "r"}, {"task_id", kTask}});
  auto r = take();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].at("lines").as_array().size(), 1u);
  EXPECT_GT(raw_[1].size(), 64u * 1024);  // every control byte escaped as \u0001
}

TEST_F(LogServiceTest, FollowSendsNewLinesUntilCancelled) {
  write(LogStream::kStdout, "old\n");
  request(req("f", true));
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), false);
  EXPECT_THAT(linesOf(r), ElementsAre("old"));
  EXPECT_EQ(service_->stats().follows, 1u);

  tick();
  EXPECT_TRUE(take().empty());  // nothing new, nothing sent
  write(LogStream::kStdout, "new 1\n");
  write(LogStream::kStderr, "new 2\n");
  tick();
  r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), false);
  EXPECT_THAT(linesOf(r), ElementsAre("new 1", "new 2"));

  send("cancel", R"({"request_id":"f"})");
  r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_FALSE(r[0].contains("error"));
  write(LogStream::kStdout, "after\n");
  tick();
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(service_->stats().follows, 0u);
}

TEST_F(LogServiceTest, FollowExpiresWithoutRenew) {
  write(LogStream::kStdout, "x\n");
  request(req("f", true));
  take();
  clock_.advance(59s);
  send("renew", R"({"request_id":"f"})");
  clock_.advance(59s);
  tick();
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(service_->stats().follows, 1u);
  clock_.advance(1s);
  tick();
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_THAT(error(r[0]), HasSubstr("expired"));
  EXPECT_EQ(service_->stats().follows, 0u);
}

TEST_F(LogServiceTest, RenewOfAnUnknownFollowIsAnswered) {
  send("renew", R"({"request_id":"ghost"})");
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("request_id"), "ghost");
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_THAT(error(r[0]), HasSubstr("request_id"));
  send("cancel", R"({"request_id":"ghost"})");  // ignored
  EXPECT_TRUE(take().empty());
}

TEST_F(LogServiceTest, FollowEndsWhenTheLogsAreRemoved) {
  write(LogStream::kStdout, "x\n");
  request(req("f", true));
  take();
  write(LogStream::kStdout, "bye\n");
  service_->removeLogs(kTask);
  EXPECT_FALSE(fs::exists(dir()));
  tick();
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_FALSE(r[0].contains("error"));
  EXPECT_THAT(linesOf(r), ElementsAre("bye"));
  EXPECT_EQ(service_->stats().follows, 0u);
}

TEST_F(LogServiceTest, LimitsConcurrentFollows) {
  write(LogStream::kStdout, "x\n");
  for (int i = 0; i < 32; ++i) request(req("f" + std::to_string(i), true));
  for (const auto& r : take()) EXPECT_FALSE(r.contains("error")) << r;
  request(req("one too many", true));
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("done"), true);
  EXPECT_THAT(error(r[0]), HasSubstr("follow:"));
  request(req("f0", true));
  EXPECT_THAT(error(take().at(0)), HasSubstr("request_id:"));
  request(req("plain tail"));  // tails are not limited
  EXPECT_EQ(error(take().at(0)), "");
  send("cancel", R"({"request_id":"f3"})");
  take();
  request(req("now it fits", true));
  EXPECT_EQ(error(take().at(0)), "");
}

TEST_F(LogServiceTest, BadRequestsAreAnsweredNamingTheField) {
  write(LogStream::kStdout, "x\n");
  struct Case {
    const char* payload;
    const char* field;
  };
  for (auto c : std::vector<Case>{
           {R"({"task_id":"app.instance.0"})", "request_id:"},
           {R"({"request_id":7,"task_id":"app.instance.0"})", "request_id:"},
           {R"({"request_id":"r"})", "task_id:"},
           {R"({"request_id":"r","task_id":"../../etc"})", "task_id:"},
           {R"({"request_id":"r","task_id":"a/b.instance.0"})", "task_id:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.9"})", "task_id:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","stream":"both"})",
            "stream:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","stream":1})", "stream:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","tail":10001})", "tail:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","tail":-2})", "tail:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","tail":"5"})", "tail:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","tail":1.5})", "tail:"},
           {R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","follow":"yes"})", "follow:"},
       }) {
    send("request", c.payload);
    auto r = take();
    ASSERT_EQ(r.size(), 1u) << c.payload;
    EXPECT_EQ(r[0].at("done"), true) << c.payload;
    EXPECT_TRUE(r[0].at("lines").as_array().empty());
    EXPECT_THAT(error(r[0]), HasSubstr(c.field)) << c.payload;
  }
  EXPECT_EQ(service_->stats().refused, 13u);
  EXPECT_EQ(service_->stats().malformed, 0u);
}

TEST_F(LogServiceTest, MalformedMessagesAreCountedNotAnswered) {
  for (const char* bad : {"{not json", "[1,2]", "", "\xFF"}) send("request", bad);
  send("cancel", "{}");
  send("renew", "nope");
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(service_->stats().malformed, 6u);
  EXPECT_EQ(service_->stats().requests, 4u);
}

TEST_F(LogServiceTest, LeavesOtherTopicsAlone) {
  EXPECT_FALSE(service_->handle({"nodes/w1/control/deploy", "{}"}));
  EXPECT_FALSE(service_->handle({"nodes/w2/logs/request", "{}"}));
  EXPECT_FALSE(service_->handle({"nodes/w1/logs/reply", "{}"}));
}

TEST_F(LogServiceTest, NullFieldsTakeTheirDefaults) {
  write(LogStream::kStdout, "x\n");
  send(
      "request",
      R"({"request_id":"r","task_id":"app.ns.svc.ns.instance.0","stream":null,"tail":null,"follow":null})");
  auto r = take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(error(r[0]), "");
  EXPECT_THAT(linesOf(r), ElementsAre("x"));
}

TEST_F(LogServiceTest, TheTimerPollsWhileFollowsRun) {
  auto o = options();
  o.poll_period = 20ms;
  start(o);
  write(LogStream::kStdout, "x\n");
  request(req("f", true));
  take();
  write(LogStream::kStdout, "pushed\n");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (replies_.empty() && std::chrono::steady_clock::now() < deadline) {
    loop_.context().restart();
    loop_.context().run_one_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(linesOf(take()), ElementsAre("pushed"));
}

TEST_F(LogServiceTest, LastLinesForStatusReports) {
  EXPECT_EQ(service_->lastLines(kTask), "");
  for (int i = 0; i < 30; ++i) write(LogStream::kStdout, std::to_string(i) + "\n");
  write(LogStream::kStderr, "boom\n");
  std::string expected;
  for (int i = 11; i < 30; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(service_->lastLines(kTask), expected + "boom");

  write(LogStream::kStdout, std::string(3000, 'a') + "\n" + std::string(3000, 'b') + "\n");
  EXPECT_EQ(service_->lastLines(kTask), std::string(3000, 'b'));
  write(LogStream::kStdout, std::string(5000, 'c') + "\xC3\xA9" + std::string(4095, 'd') + "\n");
  EXPECT_EQ(service_->lastLines(kTask), std::string(4095, 'd'));  // not inside the 'é'
  write(LogStream::kStdout, std::string(5000, 'c') + "\xC3\xA9" + std::string(4094, 'd') + "\n");
  EXPECT_EQ(service_->lastLines(kTask), "\xC3\xA9" + std::string(4094, 'd'));
  EXPECT_EQ(service_->lastLines("../etc"), "");
}

// The agent's part: the compatibility `logs` field of reports and removing logs with the
// instance.
class FixedProbe final : public HostProbe {
 public:
  Result<HostSnapshot> sample() override { return HostSnapshot{}; }
};

class AgentLogsTest : public OnBus {
 protected:
  void SetUp() override {
    cluster_->subscribe("nodes/w1/job");
    cluster_->onMessage([this](const mqtt::Message& m) {
      auto v = json::parse(m.payload);
      ASSERT_TRUE(v && v->is_object());
      reports_.push_back(v->get_object());
    });
    AgentOptions o{"w1", std::nullopt, 15s, root()};
    agent_ = std::make_unique<WorkerAgent>(loop_, clock_, *worker_, probe_, composing_, o);
    agent_->start();
    loop_.drain();
  }
  void control(const std::string& what, int instance = 0) {
    bj::object msg{{"job_name", "app.ns.svc.ns"},
                   {"instance_number", instance},
                   {"virtualization", "docker"},
                   {"image", "img"}};
    cluster_->publish("nodes/w1/control/" + what, bj::serialize(msg));
    loop_.drain();
  }
  void logLine(const std::string& line) {
    LogWriter w(logDirFor(root(), kTask), LogStream::kStdout, {}, clock_);
    ASSERT_TRUE(w.write(line + "\n"));
  }

  FakeRuntime* runtime_ = new FakeRuntime(FakeRuntime::Options{"docker", true, &loop_});
  ComposingRuntime composing_{[this] {
    std::vector<std::unique_ptr<Runtime>> v;
    v.emplace_back(runtime_);
    return v;
  }()};
  FixedProbe probe_;
  std::vector<bj::object> reports_;
  std::unique_ptr<WorkerAgent> agent_;
};

TEST_F(AgentLogsTest, EndedInstancesReportTheirLastLinesAndLogsGoWithTheInstance) {
  control("deploy");
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].at("status"), "ACTIVE");
  EXPECT_FALSE(reports_[0].contains("logs"));
  logLine("starting");
  logLine("fatal: no config");
  runtime_->exitInstance(kTask, 1);
  loop_.drain();
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_EQ(reports_[1].at("status"), "DEAD");
  EXPECT_EQ(reports_[1].at("logs"), "starting\nfatal: no config");
  EXPECT_TRUE(fs::exists(logDirFor(root(), kTask)));  // kept until undeployed

  control("delete");
  EXPECT_EQ(reports_.back().at("status"), "UNDEPLOYED");
  EXPECT_FALSE(fs::exists(logDirFor(root(), kTask)));
}

TEST_F(AgentLogsTest, AtStartLogsOfInstancesNoLongerHeldAreRemoved) {
  // A worker restart: one instance survived, another was moved away while the worker was down.
  InstanceSpec kept;
  kept.job_name = "app.ns.kept.ns";
  kept.virtualization = "docker";
  kept.image = "img";
  runtime_->seedRecoverable(kept);
  for (const auto& id : {kept.taskId(), std::string("app.ns.gone.ns.instance.0")}) {
    LogWriter w(logDirFor(root(), id), LogStream::kStdout, {}, clock_);
    ASSERT_TRUE(w.write("line\n"));
  }
  AgentOptions o{"w1", std::nullopt, 15s, root()};
  agent_ = std::make_unique<WorkerAgent>(loop_, clock_, *worker_, probe_, composing_, o);
  agent_->start();
  loop_.drain();
  EXPECT_TRUE(fs::exists(logDirFor(root(), kept.taskId())));
  EXPECT_FALSE(fs::exists(logDirFor(root(), "app.ns.gone.ns.instance.0")));
}

TEST_F(AgentLogsTest, ARedeployKeepsTheLogs) {
  control("deploy");
  logLine("first life");
  cluster_->publish("nodes/w1/control/delete",
                    R"({"job_name":"app.ns.svc.ns","instance_number":0})");
  control("deploy");
  ASSERT_GE(reports_.size(), 3u);
  EXPECT_EQ(reports_[1].at("status"), "UNDEPLOYED");
  EXPECT_EQ(reports_.back().at("status"), "ACTIVE");
  EXPECT_TRUE(fs::exists(logDirFor(root(), kTask)));
}

}  // namespace
}  // namespace oak::worker
