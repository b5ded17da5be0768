// Control-plane logs at the cluster: workers' batches stamped with who sent them, bad batches
// dropped and counted, and everything forwarded to the root while the link is up.

#include "cluster/control_logs.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/json.h"

namespace oak::cluster {
namespace {

namespace bj = boost::json;

logs::LogRecord rec(std::string msg, logs::Level level = logs::Level::kInfo) {
  return {Clock::TimePoint(std::chrono::seconds(1'700'000'000)),
          level,
          "root",
          "forged",
          "x",
          std::move(msg)};
}

class ControlLogsTest : public ::testing::Test {
 protected:
  std::string batch(std::vector<logs::LogRecord> records) {
    return bj::serialize(logs::toJson(logs::Batch{std::move(records), 0}));
  }
  std::vector<logs::LogRecord> atRoot() const {
    std::vector<logs::LogRecord> out;
    for (const auto& text : to_root_) {
      auto v = json::parse(text).value();
      EXPECT_EQ(v.as_object().at("type"), "control_logs");
      auto b = logs::batchFromJson(v.as_object(), 1000).value();
      out.insert(out.end(), b.records.begin(), b.records.end());
    }
    return out;
  }

  SimulatedClock clock_;
  std::shared_ptr<logs::LogBuffer> buffer_ = std::make_shared<logs::LogBuffer>(100);
  std::vector<std::string> to_root_;
  bool root_up_ = true;
  ControlLogs logs_{{clock_, buffer_, "c1",
                     [](const std::string& id) -> std::optional<std::string> {
                       if (id == "id1") return "w1";
                       return std::nullopt;
                     },
                     [this](std::string text) {
                       if (!root_up_) return false;
                       to_root_.push_back(std::move(text));
                       return true;
                     }}};
};

TEST_F(ControlLogsTest, WorkerRecordsAreStampedWithTheSenderNotWhatItClaims) {
  EXPECT_TRUE(logs_.onBusMessage({"nodes/id1/logs/control", batch({rec("pulled")})}));
  logs_.flush();
  auto got = atRoot();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].component, "worker");
  EXPECT_EQ(got[0].node, "w1");
  EXPECT_EQ(got[0].cluster, "c1");
  EXPECT_EQ(got[0].msg, "pulled");
  EXPECT_EQ(logs_.received(), 1u);
}

TEST_F(ControlLogsTest, BadBatchesAndUnknownWorkersAreDroppedAndCounted) {
  EXPECT_TRUE(logs_.onBusMessage({"nodes/id1/logs/control", "not json"}));
  EXPECT_TRUE(logs_.onBusMessage({"nodes/id1/logs/control", R"({"records":[{"level":"x"}]})"}));
  EXPECT_TRUE(logs_.onBusMessage({"nodes/nobody/logs/control", batch({rec("x")})}));
  EXPECT_FALSE(logs_.onBusMessage({"nodes/id1/information", "{}"}));
  EXPECT_EQ(logs_.rejected(), 3u);
  EXPECT_EQ(buffer_->lastSequence(), 0u);
}

TEST_F(ControlLogsTest, RecordsWaitWhileTheRootLinkIsDown) {
  root_up_ = false;
  logs_.onBusMessage({"nodes/id1/logs/control", batch({rec("a"), rec("b")})});
  logs_.flush();
  EXPECT_TRUE(to_root_.empty());
  root_up_ = true;
  logs_.flush();
  ASSERT_EQ(atRoot().size(), 2u);
  EXPECT_EQ(logs_.forwarded(), 2u);
}

}  // namespace
}  // namespace oak::cluster
