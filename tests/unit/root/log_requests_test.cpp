// The root's table of service-log requests in flight: what goes down the cluster link, how chunks
// come back to the caller, and that every way a request ends removes it — on a simulated clock.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "root/log_requests.h"

namespace oak::root {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

// What the caller of one request heard.
struct Heard {
  std::vector<std::string> lines;
  int line_calls = 0;
  int ends = 0;
  std::optional<Status> end;
};

class LogRequestsTest : public ::testing::Test {
 protected:
  LogRequests::Handlers handlers(Heard& h) {
    return {[&h](std::vector<link::LogLine> lines) {
              ++h.line_calls;
              for (auto& l : lines) h.lines.push_back(l.line);
            },
            [&h](Status s) {
              ++h.ends;
              h.end = std::move(s);
            }};
  }

  std::string start(Heard& h, bool follow = false, const std::string& cluster = "c1",
                    int64_t n = 0) {
    LogQuery q{cluster, "s1", n, "all", 100, follow};
    auto id = logs_.start(q, handlers(h));
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : "";
  }

  // "<cluster> <type> <request_id>" for each message sent down, in order.
  std::vector<std::string> sent() const {
    std::vector<std::string> out;
    for (const auto& [cluster, text] : sent_) {
      auto e = link::decode(text);
      out.push_back(cluster + " " + e->type + " " +
                    std::string(e->body.at("request_id").as_string()));
    }
    return out;
  }

  static link::LogsChunk chunk(const std::string& id, std::vector<std::string> lines, bool done,
                               const std::string& error = "") {
    link::LogsChunk c{id, {}, done, error};
    for (auto& l : lines) c.lines.push_back({"2024-05-01T10:00:00Z", "stdout", std::move(l)});
    return c;
  }

  SimulatedClock clock_;
  std::set<std::string> connected_{"c1", "c2"};
  std::vector<std::pair<std::string, std::string>> sent_;
  LogRequests logs_{clock_, [this](const std::string& cluster, std::string text) {
                      if (!connected_.count(cluster)) return false;
                      sent_.emplace_back(cluster, std::move(text));
                      return true;
                    }};
};

TEST_F(LogRequestsTest, SendsTheRequestDownWithAnIdOfItsOwn) {
  Heard a, b;
  std::string first = start(a);
  std::string second = start(b, true, "c2", 3);
  EXPECT_NE(first, second);
  ASSERT_EQ(sent_.size(), 2u);
  auto e = link::decode(sent_[1].second);
  auto r = link::logsRequestFrom(*e);
  ASSERT_TRUE(r);
  EXPECT_EQ(sent_[1].first, "c2");
  EXPECT_EQ(r->request_id, second);
  EXPECT_EQ(r->service_id, "s1");
  EXPECT_EQ(r->instance_number, 3);
  EXPECT_TRUE(r->follow);
  EXPECT_EQ(logs_.pending(), 2u);
}

TEST_F(LogRequestsTest, ADisconnectedClusterFailsAtOnce) {
  Heard h;
  auto id = logs_.start({"gone", "s1", 0, "all", 100, false}, handlers(h));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(logs_.pending(), 0u);
  EXPECT_EQ(h.ends, 0);
}

TEST_F(LogRequestsTest, ChunksReachTheCallerUntilDone) {
  Heard h;
  std::string id = start(h);
  logs_.onChunk("c1", chunk(id, {"a", "b"}, false));
  logs_.onChunk("c1", chunk(id, {"c"}, true));
  EXPECT_THAT(h.lines, ElementsAre("a", "b", "c"));
  ASSERT_EQ(h.ends, 1);
  EXPECT_TRUE(*h.end);
  EXPECT_EQ(logs_.pending(), 0u);
  logs_.onChunk("c1", chunk(id, {"late"}, true));
  EXPECT_EQ(h.lines.size(), 3u);
}

TEST_F(LogRequestsTest, AnErrorChunkEndsTheRequestWithItsMessage) {
  Heard h;
  std::string id = start(h);
  logs_.onChunk("c1", chunk(id, {}, true, "worker 'w1' is not active"));
  ASSERT_EQ(h.ends, 1);
  ASSERT_FALSE(*h.end);
  EXPECT_EQ(h.end->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.end->error().message, "worker 'w1' is not active");
}

TEST_F(LogRequestsTest, OnlyTheClusterAskedCanAnswer) {
  Heard h;
  std::string id = start(h);
  logs_.onChunk("c2", chunk(id, {"forged"}, true));
  EXPECT_THAT(h.lines, IsEmpty());
  EXPECT_EQ(logs_.pending(), 1u);
}

TEST_F(LogRequestsTest, AnUnansweredRequestTimesOutAndIsCancelledBelow) {
  Heard h;
  std::string id = start(h);
  clock_.advance(9s);
  logs_.tick();
  EXPECT_EQ(h.ends, 0);
  clock_.advance(1s);
  logs_.tick();
  ASSERT_EQ(h.ends, 1);
  EXPECT_EQ(h.end->error().message, "the instance's cluster did not answer within 10 s");
  EXPECT_THAT(sent(), ElementsAre("c1 logs_request " + id, "c1 logs_cancel " + id));
  EXPECT_EQ(logs_.pending(), 0u);
}

TEST_F(LogRequestsTest, AOneShotRequestMustFinishInTimeEvenWhileLinesArrive) {
  Heard h;
  std::string id = start(h);
  logs_.onChunk("c1", chunk(id, {"a"}, false));
  clock_.advance(10s);
  logs_.tick();
  EXPECT_EQ(h.ends, 1);
}

TEST_F(LogRequestsTest, AnAcknowledgedFollowHasNoDeadline) {
  Heard h, silent;
  std::string id = start(h, true);
  start(silent, true);
  logs_.onChunk("c1", chunk(id, {}, false));
  EXPECT_EQ(h.line_calls, 1) << "the acknowledgement reaches the caller";
  clock_.advance(600s);
  logs_.tick();
  EXPECT_EQ(h.ends, 0);
  EXPECT_EQ(silent.ends, 1) << "a follow nobody acknowledged times out";
  logs_.onChunk("c1", chunk(id, {"new"}, false));
  EXPECT_THAT(h.lines, ElementsAre("new"));
}

TEST_F(LogRequestsTest, ACancelledRequestIsForgottenAndStoppedBelow) {
  Heard h;
  std::string id = start(h, true);
  logs_.cancel(id);
  EXPECT_EQ(logs_.pending(), 0u);
  EXPECT_THAT(sent(), ElementsAre("c1 logs_request " + id, "c1 logs_cancel " + id));
  // A line already on its way stops the follow again; the caller hears nothing.
  logs_.onChunk("c1", chunk(id, {"late"}, false));
  EXPECT_THAT(sent(),
              ElementsAre("c1 logs_request " + id, "c1 logs_cancel " + id, "c1 logs_cancel " + id));
  EXPECT_EQ(h.line_calls + h.ends, 0);
  logs_.cancel(id);  // twice: nothing more
  EXPECT_EQ(sent_.size(), 3u);
}

TEST_F(LogRequestsTest, ALostClusterEndsItsRequestsOnly) {
  Heard on1, on2;
  start(on1, true);
  start(on2, true, "c2");
  connected_.erase("c1");
  logs_.onClusterGone("c1");
  ASSERT_EQ(on1.ends, 1);
  EXPECT_EQ(on1.end->error().message, "the link to the instance's cluster was lost");
  EXPECT_EQ(on2.ends, 0);
  EXPECT_EQ(logs_.pending(), 1u);
  EXPECT_EQ(sent_.size(), 2u) << "nothing goes down a lost link";
}

TEST_F(LogRequestsTest, AnUndeployEndsTheRequestsOfThatInstance) {
  Heard n0, n1, other;
  std::string id0 = start(n0, true, "c1", 0);
  start(n1, true, "c1", 1);
  start(other, true, "c2", 0);
  logs_.onUndeployed("c1", "s1", 0);
  ASSERT_EQ(n0.ends, 1);
  EXPECT_EQ(n0.end->error().message, "the instance was undeployed");
  EXPECT_EQ(n1.ends + other.ends, 0);
  EXPECT_EQ(sent().back(), "c1 logs_cancel " + id0);
  logs_.onUndeployed("c1", "s1", -1);
  EXPECT_EQ(n1.ends, 1);
  EXPECT_EQ(other.ends, 0);
}

TEST_F(LogRequestsTest, CallersMayCancelOrStartRequestsFromTheirHandlers) {
  Heard h;
  std::string id;
  LogRequests::Handlers cancel_on_lines{[&](std::vector<link::LogLine>) {
                                          ++h.line_calls;
                                          logs_.cancel(id);
                                        },
                                        [&](Status) { ++h.ends; }};
  id = *logs_.start({"c1", "s1", 0, "all", 100, true}, cancel_on_lines);
  logs_.onChunk("c1", chunk(id, {"a"}, true));
  EXPECT_EQ(h.line_calls, 1);
  EXPECT_EQ(h.ends, 0) << "cancelled from on_lines: the end is not reported";

  Heard a, b, again;
  start(a, true);
  LogRequests::Handlers restart{[](std::vector<link::LogLine>) {},
                                [&](Status) { start(again, true); }};
  ASSERT_TRUE(logs_.start({"c1", "s1", 0, "all", 100, true}, restart));
  start(b, true);
  logs_.onClusterGone("c1");
  EXPECT_EQ(a.ends + b.ends, 2);
  EXPECT_EQ(logs_.pending(), 1u) << "the request started from a handler is kept";
}

}  // namespace
}  // namespace oak::root
