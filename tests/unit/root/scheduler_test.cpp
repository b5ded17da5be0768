// The root scheduler: placement of stored services on the clusters the store knows. The
// placement rules themselves are the engine's (tests/unit/scheduler and the golden files).

#include "root/scheduler.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "common/json.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;
using test::clusterDoc;

// ---- Placing stored services. ----

class SchedulerTest : public test::RootFixture {
 protected:
  std::string createService() {
    auto apps = applications.createApplications(
        admin, test::slaOf("app", bj::array{test::microservice("web")}));
    EXPECT_TRUE(apps) << test::errorText(apps);
    if (!apps || apps->empty()) return {};
    return std::string(apps->at(0).as_object().at("microservices").as_array().at(0).as_string());
  }
  bj::object service(const std::string& id) {
    return memory.get(coll::kServices, id).value().value();
  }
  double now() const { return static_cast<double>(clock.nowSeconds()); }
  std::string addCluster(const std::string& name, double age_seconds = 1) {
    auto doc = clusterDoc(name, 8, 0, 4000, now(), age_seconds);
    std::string id = Accounts::idOf(doc);
    store::WriteBatch b;
    b.put(coll::kClusters, id, std::move(doc));
    EXPECT_TRUE(memory.apply(b));
    return id;
  }
};

TEST_F(SchedulerTest, WithoutClustersTheServiceSaysWhy) {
  auto id = createService();
  ASSERT_TRUE(scheduler.placeNow(id)) << id;
  auto s = service(id);
  EXPECT_EQ(json::getString(s, "status"), "NoActiveClusterWithCapacity");
  EXPECT_FALSE(json::getString(s, "status_detail").value_or("").empty());
  EXPECT_TRUE(s.at("instance_list").as_array().empty());
  EXPECT_EQ(json::getInt(s, "next_instance_progressive_number"), 0);
}

TEST_F(SchedulerTest, PlacementAppendsNumberedInstances) {
  auto id = createService();
  addCluster("silent", 60);
  auto cluster_id = addCluster("edge");

  ASSERT_TRUE(scheduler.placeNow(id));
  auto s = service(id);
  EXPECT_EQ(json::getString(s, "status"), "CLUSTER_SCHEDULED");
  EXPECT_EQ(json::getInt(s, "next_instance_progressive_number"), 1);
  ASSERT_EQ(s.at("instance_list").as_array().size(), 1u);
  const auto& first = s.at("instance_list").as_array()[0].as_object();
  EXPECT_EQ(json::getInt(first, "instance_number"), 0);
  EXPECT_EQ(json::getString(first, "cluster_id"), cluster_id);
  EXPECT_EQ(json::getString(first, "cluster_location"), "edge-location");
  EXPECT_EQ(json::getString(first, "status"), "CLUSTER_SCHEDULED");

  ASSERT_TRUE(scheduler.placeNow(id));
  s = service(id);
  EXPECT_EQ(json::getInt(s, "next_instance_progressive_number"), 2);
  ASSERT_EQ(s.at("instance_list").as_array().size(), 2u);
  const auto& second = s.at("instance_list").as_array()[1].as_object();
  EXPECT_EQ(json::getInt(second, "instance_number"), 1);
  EXPECT_EQ(json::getString(second, "cluster_id"), cluster_id);
  // The fields the SLA gave are untouched.
  EXPECT_EQ(json::getString(s, "job_name"), "app.test.web.test");
}

TEST_F(SchedulerTest, ClusterThatStopsReportingIsNotUsed) {
  auto id = createService();
  addCluster("edge");
  ASSERT_TRUE(scheduler.placeNow(id));
  clock.advance(std::chrono::seconds(31));
  ASSERT_TRUE(scheduler.placeNow(id));
  auto s = service(id);
  EXPECT_EQ(json::getString(s, "status"), "NoActiveClusterWithCapacity");
  // The instance already placed stays recorded, and numbering is not consumed by the failure.
  EXPECT_EQ(s.at("instance_list").as_array().size(), 1u);
  EXPECT_EQ(json::getInt(s, "next_instance_progressive_number"), 1);
}

TEST_F(SchedulerTest, DeletedServiceIsSkipped) {
  addCluster("edge");
  auto before = snapshot();
  EXPECT_TRUE(scheduler.placeNow(newObjectId()));
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace oak::root
