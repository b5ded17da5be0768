// DynsecClient against an in-memory broker, with the test playing the plugin: it reads the
// requests on the control topic and answers on the response topic. Time is simulated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "mqtt/dynsec.h"
#include "mqtt/dynsec_client.h"
#include "mqtt/memory_bus.h"

namespace oak::mqtt {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

class DynsecClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_->onMessage([this](const Message& m) {
      if (!dynsec_.handle(m)) other_.push_back(m.topic);
    });
    plugin_->subscribe(std::string(dynsec::kControlTopic));
    plugin_->onMessage([this](const Message& m) {
      auto v = json::parse(m.payload);
      ASSERT_TRUE(v);
      requests_.push_back(v->at("commands").as_array());
    });
    broker_.deliverAll();
  }

  // The commands of the next unanswered request, as "command username".
  std::vector<std::string> nextRequest() {
    broker_.deliverAll();
    std::vector<std::string> out;
    if (requests_.empty()) return out;
    for (const auto& c : requests_.front()) {
      out.push_back(fmt::format("{} {}", std::string(c.at("command").as_string()),
                                std::string(c.at("username").as_string())));
    }
    return out;
  }

  // Answers the oldest request: `errors[i]` for its i-th command (empty: success).
  void answer(const std::vector<std::string>& errors = {}) {
    broker_.deliverAll();
    ASSERT_FALSE(requests_.empty());
    bj::array responses;
    size_t i = 0;
    for (const auto& c : requests_.front()) {
      bj::object r{{"command", c.at("command")}, {"correlationData", c.at("correlationData")}};
      if (i < errors.size() && !errors[i].empty()) r["error"] = errors[i];
      responses.push_back(std::move(r));
      ++i;
    }
    requests_.pop_front();
    plugin_->publish(std::string(dynsec::kResponseTopic),
                     bj::serialize(bj::object{{"responses", std::move(responses)}}), 0);
    broker_.deliverAll();
  }

  InMemoryBroker broker_;
  SimulatedClock clock_;
  std::unique_ptr<MessageBus> admin_ = broker_.connect("cluster");
  std::unique_ptr<MessageBus> plugin_ = broker_.connect("plugin");
  DynsecClient dynsec_{*admin_, clock_, {.timeout = 10s, .max_batch = 3}};
  std::deque<bj::array> requests_;
  std::vector<std::string> other_;
};

TEST_F(DynsecClientTest, AnswersEachCallerOnceTheBrokerConfirms) {
  std::vector<std::string> done;
  dynsec_.setPassword("w1", "pw1", "w1-ne", true,
                      [&](Status s) { done.push_back(s ? "w1 ok" : s.error().message); });
  EXPECT_THAT(nextRequest(), ElementsAre("createClient w1"));
  EXPECT_EQ(requests_.front()[0].at("clientid"), "w1-ne");
  EXPECT_THAT(done, IsEmpty());  // not before the broker answered
  answer();
  EXPECT_THAT(done, ElementsAre("w1 ok"));
  EXPECT_EQ(dynsec_.pending(), 0u);
}

TEST_F(DynsecClientTest, WhatArrivesWhileARequestIsOutGoesTogetherInTheNext) {
  std::vector<std::string> done;
  auto record = [&](std::string name) {
    return [&done, name](Status s) { done.push_back(name + (s ? " ok" : " failed")); };
  };
  dynsec_.setPassword("a", "p", "", false, record("a"));
  dynsec_.setPassword("b", "p", "", true, record("b"));
  dynsec_.remove("c", record("c"));
  dynsec_.setPassword("d", "p", "", true, record("d"));
  dynsec_.setPassword("e", "p", "", true, record("e"));
  EXPECT_THAT(nextRequest(), ElementsAre("setClientPassword a"));
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_EQ(dynsec_.pending(), 5u);
  answer();
  // b, c and d fill a request (max_batch 3); e waits for the next one.
  EXPECT_THAT(nextRequest(), ElementsAre("createClient b", "deleteClient c", "createClient d"));
  answer({"", std::string(dynsec::kClientNotFound), "Internal error"});
  EXPECT_THAT(nextRequest(), ElementsAre("createClient e"));
  answer();
  EXPECT_THAT(done, ElementsAre("a ok", "b ok", "c ok", "d failed", "e ok"));
}

TEST_F(DynsecClientTest, FallsBackWhenTheAccountDoesOrDoesNotExist) {
  std::vector<std::string> done;
  dynsec_.setPassword("known", "p", "known-ne", true,
                      [&](Status s) { done.push_back(s ? "known ok" : s.error().message); });
  answer({std::string(dynsec::kClientExists)});
  EXPECT_THAT(nextRequest(), ElementsAre("setClientPassword known"));
  answer();
  dynsec_.setPassword("lost", "p", "lost-ne", false,
                      [&](Status s) { done.push_back(s ? "lost ok" : s.error().message); });
  answer({std::string(dynsec::kClientNotFound)});
  EXPECT_THAT(nextRequest(), ElementsAre("createClient lost"));
  EXPECT_EQ(requests_.front()[0].at("clientid"), "lost-ne");
  answer();
  EXPECT_THAT(done, ElementsAre("known ok", "lost ok"));
}

TEST_F(DynsecClientTest, NamesThatWouldWidenTheAclNeverReachTheBroker) {
  std::vector<ErrorCode> codes;
  for (const char* name : {"w1/#", "nodes/w2", ""}) {
    dynsec_.setPassword(name, "p", "", true, [&](Status s) {
      codes.push_back(s ? ErrorCode::kInternal : s.error().code);
    });
  }
  dynsec_.setPassword("w1", "", "", true, [&](Status s) {
    codes.push_back(s ? ErrorCode::kInternal : s.error().code);
  });
  EXPECT_THAT(codes, ElementsAre(ErrorCode::kInvalidArgument, ErrorCode::kInvalidArgument,
                                 ErrorCode::kInvalidArgument, ErrorCode::kInvalidArgument));
  broker_.deliverAll();
  EXPECT_TRUE(requests_.empty());
}

TEST_F(DynsecClientTest, ARefusalNamesTheCommandAndTheAccount) {
  Status result;
  dynsec_.setPassword("w1", "p", "", true, [&](Status s) { result = s; });
  answer({"Invalid/missing password"});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
  EXPECT_THAT(result.error().message, HasSubstr("createClient"));
  EXPECT_THAT(result.error().message, HasSubstr("'w1'"));
  EXPECT_THAT(result.error().message, HasSubstr("Invalid/missing password"));
}

TEST_F(DynsecClientTest, AnUnansweredRequestFailsAfterTheTimeoutAndTheNextOneGoesOut) {
  std::vector<std::string> done;
  dynsec_.setPassword("w1", "p", "", true,
                      [&](Status s) { done.push_back(s ? "w1 ok" : s.error().message); });
  dynsec_.setPassword("w2", "p", "", true, [&](Status s) { done.push_back(s ? "w2 ok" : "w2"); });
  broker_.deliverAll();
  auto stale = requests_.front();
  clock_.advance(9s);
  dynsec_.tick();
  EXPECT_THAT(done, IsEmpty());
  clock_.advance(2s);
  dynsec_.tick();
  ASSERT_THAT(done, ElementsAre(HasSubstr("did not confirm")));
  requests_.pop_front();
  EXPECT_THAT(nextRequest(), ElementsAre("createClient w2"));

  // The late answer to the first request changes nothing.
  bj::object late{{"command", "createClient"}, {"correlationData", stale[0].at("correlationData")}};
  plugin_->publish(std::string(dynsec::kResponseTopic),
                   bj::serialize(bj::object{{"responses", bj::array{late}}}), 0);
  broker_.deliverAll();
  EXPECT_EQ(done.size(), 1u);
  answer();
  EXPECT_THAT(done, ElementsAre(HasSubstr("did not confirm"), "w2 ok"));
}

TEST_F(DynsecClientTest, IgnoresOtherAdminsResponsesAndPassesOtherTopicsOn) {
  bool done = false;
  dynsec_.remove("w1", [&](Status s) { done = s.has_value(); });
  broker_.deliverAll();
  plugin_->publish(std::string(dynsec::kResponseTopic),
                   R"({"responses":[{"command":"deleteClient","correlationData":"someone-1"}]})",
                   0);
  plugin_->publish(std::string(dynsec::kResponseTopic), "garbage", 0);
  plugin_->publish("nodes/w1/information", "{}", 0);
  broker_.deliverAll();
  EXPECT_FALSE(done);
  admin_->subscribe("nodes/#");
  plugin_->publish("nodes/w1/information", "{}", 0);
  answer();
  EXPECT_TRUE(done);
  EXPECT_THAT(other_, ElementsAre("nodes/w1/information"));
}

TEST_F(DynsecClientTest, RequestsWaitForTheConnectionAndThenGoOut) {
  broker_.setConnected("cluster", false);
  bool done = false;
  dynsec_.setPassword("w1", "p", "", true, [&](Status s) { done = s.has_value(); });
  broker_.deliverAll();
  EXPECT_TRUE(requests_.empty());
  broker_.setConnected("cluster", true);
  EXPECT_THAT(nextRequest(), ElementsAre("createClient w1"));
  answer();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace oak::mqtt
