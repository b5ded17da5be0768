// The root's own alerting, on a simulated clock: hold times, firing and resolution, windows.

#include "root/alerts.h"

#include <gtest/gtest.h>

namespace oak::root {
namespace {

using namespace std::chrono_literals;

class AlertsTest : public ::testing::Test {
 protected:
  // "name{labels} state" of every active alert, in the order `active` gives.
  std::vector<std::string> shown() const {
    std::vector<std::string> out;
    for (const auto& a : alerts_.active()) {
      std::string labels;
      for (const auto& [k, v] : a.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
      out.push_back(a.name + "{" + labels + "} " + (a.firing ? "firing" : "pending"));
    }
    return out;
  }
  SimulatedClock clock_;
  Alerts alerts_{clock_};
};

TEST_F(AlertsTest, ASilentClusterIsPendingForItsHoldTimeThenFiresAndResolves) {
  AlertInputs in;
  in.clusters = {{"c1", false}, {"c2", true}};
  alerts_.evaluate(in);
  EXPECT_EQ(shown(), (std::vector<std::string>{"OakestraClusterNotReporting{cluster=c1} pending"}));
  clock_.advance(59s);
  alerts_.evaluate(in);
  EXPECT_FALSE(alerts_.active().at(0).firing);
  clock_.advance(1s);
  alerts_.evaluate(in);
  EXPECT_EQ(shown(), (std::vector<std::string>{"OakestraClusterNotReporting{cluster=c1} firing"}));
  EXPECT_EQ(alerts_.active().at(0).severity, "critical");
  in.clusters[0].active = true;
  alerts_.evaluate(in);
  EXPECT_TRUE(alerts_.active().empty());
}

TEST_F(AlertsTest, ALostWorkerFiresAtOnceUnlessItsClusterIsSilent) {
  AlertInputs in;
  in.clusters = {{"c1", true}, {"c2", false}};
  in.workers = {{"c1", "w1", false}, {"c1", "w2", true}, {"c2", "w3", false}};
  alerts_.evaluate(in);
  EXPECT_EQ(shown(), (std::vector<std::string>{"OakestraWorkerLost{cluster=c1,worker=w1} firing",
                                               "OakestraClusterNotReporting{cluster=c2} pending"}));
  in.workers[0].active = true;
  alerts_.evaluate(in);
  EXPECT_EQ(shown(), (std::vector<std::string>{"OakestraClusterNotReporting{cluster=c2} pending"}));
}

TEST_F(AlertsTest, RepeatedFailuresOfAServiceFireWithinTheWindowOnly) {
  AlertInputs in;
  alerts_.instanceFailed("app.svc");
  alerts_.instanceFailed("app.svc");
  alerts_.instanceFailed("app.other");
  alerts_.evaluate(in);
  EXPECT_TRUE(alerts_.active().empty());
  clock_.advance(10min);
  alerts_.instanceFailed("app.svc");
  alerts_.evaluate(in);
  EXPECT_EQ(
      shown(),
      (std::vector<std::string>{"OakestraInstancesFailingRepeatedly{service=app.svc} firing"}));
  EXPECT_NE(alerts_.active().at(0).summary.find("3 times"), std::string::npos);
  clock_.advance(5min + 1s);  // the first two leave the window
  alerts_.evaluate(in);
  EXPECT_TRUE(alerts_.active().empty());
}

TEST_F(AlertsTest, ErrorLogRateNeedsMoreThanFiveErrorsHeldForTwoMinutes) {
  AlertInputs in;
  in.recent_errors = {{"worker w1", 5}, {"cluster c1", 6}};
  alerts_.evaluate(in);
  EXPECT_EQ(shown(),
            (std::vector<std::string>{"OakestraErrorLogRateHigh{node=cluster c1} pending"}));
  clock_.advance(2min);
  alerts_.evaluate(in);
  EXPECT_EQ(shown(),
            (std::vector<std::string>{"OakestraErrorLogRateHigh{node=cluster c1} firing"}));
}

TEST_F(AlertsTest, FailedPlacementsFireForTenMinutes) {
  AlertInputs in;
  alerts_.placementFailed("root");
  alerts_.evaluate(in);
  EXPECT_EQ(shown(), (std::vector<std::string>{"OakestraSchedulingFailures{where=root} firing"}));
  clock_.advance(10min + 1s);
  alerts_.evaluate(in);
  EXPECT_TRUE(alerts_.active().empty());
}

TEST_F(AlertsTest, AnAlertKeepsItsStartWhileItHolds) {
  AlertInputs in;
  in.clusters = {{"c1", false}};
  alerts_.evaluate(in);
  auto since = alerts_.active().at(0).active_since;
  clock_.advance(30s);
  alerts_.evaluate(in);
  EXPECT_EQ(alerts_.active().at(0).active_since, since);
}

}  // namespace
}  // namespace oak::root
