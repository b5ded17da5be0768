// The root scheduler: the pure placement decision on tables of clusters (the reference vectors,
// adapted where the original was wrong), and placement of stored services.

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

constexpr double kNow = 1'700'000'000;

// The reference clusters (name, cores, cpu %, memory MB), all docker-only and active.
bj::object clusterA() {
  return clusterDoc("A", 8, 10, 100, kNow);
}
bj::object clusterB() {
  return clusterDoc("B", 4, 10, 1000, kNow);
}
bj::object clusterC() {
  return clusterDoc("C", 16, 10, 2000, kNow);
}

bj::object job(bj::object extra = {}) {
  bj::object j{{"virtualization", "docker"}, {"memory", 50}};
  for (auto& [k, v] : extra) j[k] = v;
  return j;
}

std::string nameOf(const std::vector<bj::object>& clusters, const Placement& p) {
  for (const auto& c : clusters) {
    if (Accounts::idOf(c) == p.cluster_id) return json::getString(c, "cluster_name").value_or("?");
  }
  return "(none)";
}

// The cluster chosen for `service`, by name, or the failure status.
std::string place(const bj::object& service, const std::vector<bj::object>& clusters) {
  auto p = decidePlacement(service, clusters, kNow);
  if (!p.ok) {
    EXPECT_TRUE(p.cluster_id.empty());
    EXPECT_FALSE(p.detail.empty()) << p.status;
    return p.status;
  }
  EXPECT_TRUE(p.status.empty());
  return nameOf(clusters, p);
}

// The result, after checking that every order of the clusters gives the same one.
std::string placeInAnyOrder(const bj::object& service, const std::vector<bj::object>& clusters) {
  std::vector<size_t> order(clusters.size());
  std::iota(order.begin(), order.end(), 0);
  std::string first = place(service, clusters);
  do {
    std::vector<bj::object> permuted;
    for (size_t i : order) permuted.push_back(clusters[i]);
    EXPECT_EQ(place(service, permuted), first);
  } while (std::next_permutation(order.begin(), order.end()));
  return first;
}

bj::object directTo(const std::string& cluster, bj::object service = job()) {
  service["constraints"] = bj::array{bj::object{{"type", "direct"}, {"cluster", cluster}}};
  return service;
}

// ---- Reference vectors (§5.5). ----

// Vector 1. The original keeps the last cluster that dominates all earlier ones, so [B, A] gave B;
// here the most free cores win whatever the order: A (7.2 free) over B (3.6), C (14.4) over both.
TEST(DecidePlacementTest, MostFreeCoresWinsWhateverTheOrder) {
  EXPECT_EQ(place(job(), {clusterA(), clusterB()}), "A");
  EXPECT_EQ(place(job(), {clusterB(), clusterA()}), "A");
  EXPECT_EQ(placeInAnyOrder(job(), {clusterA(), clusterB(), clusterC()}), "C");
}

// Vector 2.
TEST(DecidePlacementTest, MemoryIsEnforced) {
  EXPECT_EQ(place(job({{"memory", 5000}}), {clusterA(), clusterB()}),
            "NoActiveClusterWithCapacity");
  // Only B has 1000 MB, although A has more free cores.
  EXPECT_EQ(placeInAnyOrder(job({{"memory", 1000}}), {clusterA(), clusterB()}), "B");
  EXPECT_EQ(place(job({{"memory", 1001}}), {clusterA(), clusterB()}),
            "NoActiveClusterWithCapacity");
}

// Vector 3. The original read "vcpu" while SLAs say "vcpus", so it ignored the request; here the
// SLA's `vcpus` is enforced against the free cores (A: 8 cores at 10 % = 7.2 free).
TEST(DecidePlacementTest, VcpusAreEnforced) {
  EXPECT_EQ(place(job({{"vcpus", 64}}), {clusterA()}), "NoActiveClusterWithCapacity");
  EXPECT_EQ(place(job({{"vcpus", 7}}), {clusterA()}), "A");
  EXPECT_EQ(place(job({{"vcpus", 8}}), {clusterA()}), "NoActiveClusterWithCapacity");
  // B has too few free cores for 4 vcpus even though it has the memory.
  EXPECT_EQ(
      placeInAnyOrder(job({{"vcpus", 4}, {"memory", 500}}), {clusterA(), clusterB(), clusterC()}),
      "C");
  // "vcpu" is not an SLA field.
  EXPECT_EQ(place(job({{"vcpu", 64}}), {clusterA()}), "A");
}

// Vector 4. The original summed node percentages (3 nodes at 40 % = 120 %), so a busy cluster
// had negative capacity and never qualified, not even for a service that asks for no CPU.
// Percentages are averages here: above 100 counts as fully busy, i.e. no free core.
TEST(DecidePlacementTest, CpuPercentIsAnAverageCappedAtFullyBusy) {
  EXPECT_EQ(place(job({{"memory", 0}}), {clusterDoc("X", 8, 120, 100, kNow)}), "X");
  EXPECT_EQ(place(job({{"memory", 0}, {"vcpus", 1}}), {clusterDoc("X", 8, 120, 100, kNow)}),
            "NoActiveClusterWithCapacity");
  EXPECT_EQ(place(job({{"memory", 0}, {"vcpus", 1}}), {clusterDoc("X", 8, 100, 100, kNow)}),
            "NoActiveClusterWithCapacity");
  // 8 cores at an average of 40 % leave 4.8 cores.
  EXPECT_EQ(place(job({{"vcpus", 4}}), {clusterDoc("X", 8, 40, 100, kNow)}), "X");
  EXPECT_EQ(place(job({{"vcpus", 5}}), {clusterDoc("X", 8, 40, 100, kNow)}),
            "NoActiveClusterWithCapacity");
}

// Vector 5 (the "container" spelling is converted to "docker" when the service is stored).
TEST(DecidePlacementTest, VirtualizationIsEnforced) {
  EXPECT_EQ(place(job({{"virtualization", "unikernel"}, {"arch", bj::array{"amd64"}}}),
                  {clusterA(), clusterB()}),
            "NoActiveClusterWithCapacity");
  // A service without `virtualization` is a container.
  EXPECT_EQ(place(bj::object{{"memory", 50}}, {clusterA()}), "A");
  // A cluster that reports no runtimes runs nothing.
  auto bare = clusterA();
  bare.erase("virtualization");
  EXPECT_EQ(place(job(), {bare}), "NoActiveClusterWithCapacity");
  // Only the cluster with the runtime qualifies, even with fewer free cores.
  auto uni = clusterDoc("U", 2, 0, 100, kNow, 1, bj::array{"unikernel"});
  uni["aggregation_per_architecture"] = bj::object{
      {"amd64", bj::object{{"cpu_cores", 2}, {"cpu_percent", 0}, {"memory_in_mb", 100}}}};
  EXPECT_EQ(placeInAnyOrder(job({{"virtualization", "unikernel"}, {"arch", bj::array{"amd64"}}}),
                            {clusterC(), uni}),
            "U");
  EXPECT_EQ(placeInAnyOrder(job(), {clusterB(), uni}), "B");
}

// Vector 6.
TEST(DecidePlacementTest, DirectConstraintNamesTheCluster) {
  std::vector<bj::object> clusters{clusterA(), clusterB(), clusterC(),
                                   clusterDoc("D", 64, 0, 64000, kNow, 31)};
  EXPECT_EQ(placeInAnyOrder(directTo("B"), clusters), "B");
  EXPECT_EQ(placeInAnyOrder(directTo("Z"), clusters), "TargetClusterNotFound");
  EXPECT_EQ(placeInAnyOrder(directTo("D"), clusters), "TargetClusterNotActive");
  EXPECT_EQ(placeInAnyOrder(directTo("A", job({{"memory", 500}})), clusters),
            "TargetClusterNoCapacity");
  EXPECT_EQ(placeInAnyOrder(directTo("A", job({{"vcpus", 8}})), clusters),
            "TargetClusterNoCapacity");
  EXPECT_EQ(
      place(directTo("A", job({{"virtualization", "unikernel"}, {"arch", bj::array{"amd64"}}})),
            clusters),
      "TargetClusterNoCapacity");
  EXPECT_EQ(place(directTo("A"), {}), "TargetClusterNotFound");

  auto p = decidePlacement(directTo("Z"), clusters, kNow);
  EXPECT_NE(p.detail.find("'Z'"), std::string::npos) << p.detail;
}

TEST(DecidePlacementTest, FirstDirectConstraintWithAClusterWins) {
  std::vector<bj::object> clusters{clusterA(), clusterB(), clusterC()};
  auto service = job();
  service["constraints"] = bj::array{
      bj::object{{"type", "latency"}, {"area", "x"}},
      bj::object{{"type", "direct"}, {"node", "h1;h2"}},  // nodes only: the cluster's business
      bj::object{{"type", "direct"}, {"cluster", "B"}},
      bj::object{{"type", "direct"}, {"cluster", "A"}}};
  EXPECT_EQ(place(service, clusters), "B");

  // A node-only direct constraint leaves the choice of cluster to the greedy rule.
  service["constraints"] = bj::array{bj::object{{"type", "direct"}, {"node", "h1"}}};
  EXPECT_EQ(place(service, clusters), "C");
}

// Vector 7.
TEST(DecidePlacementTest, OtherConstraintsFallBackToGreedy) {
  auto latency = job();
  latency["constraints"] = bj::array{bj::object{{"type", "latency"}, {"area", "x"}}};
  EXPECT_EQ(placeInAnyOrder(latency, {clusterA(), clusterB()}), "A");
  auto none = job();
  none["constraints"] = bj::array{};
  EXPECT_EQ(placeInAnyOrder(none, {clusterA(), clusterB()}), "A");
}

// Vector 8.
TEST(DecidePlacementTest, NoClusters) {
  auto p = decidePlacement(job(), {}, kNow);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.status, "NoActiveClusterWithCapacity");
  EXPECT_FALSE(p.detail.empty());
}

// Vector 9. Unikernels are placed by the capacity of the architectures they are built for.
TEST(DecidePlacementTest, UnikernelsUseTheCapacityOfTheirArchitectures) {
  auto u = clusterDoc("U", 8, 0, 1000, kNow, 1, bj::array{"docker", "unikernel"});
  u["aggregation_per_architecture"] = bj::object{
      {"amd64", bj::object{{"cpu_cores", 4}, {"cpu_percent", 0}, {"memory_in_mb", 100}}},
      {"arm64", bj::object{{"cpu_cores", 2}, {"cpu_percent", 50}, {"memory_in_mb", 50}}}};
  auto uni = [](bj::array arch, bj::object extra = {}) {
    bj::object j{{"virtualization", "unikernel"}, {"memory", 10}, {"arch", std::move(arch)}};
    for (auto& [k, v] : extra) j[k] = v;
    return j;
  };
  EXPECT_EQ(place(uni({"amd64"}), {u}), "U");
  EXPECT_EQ(place(uni({"riscv"}), {u}), "NoActiveClusterWithCapacity");
  // The architecture's memory counts, not the cluster's.
  EXPECT_EQ(place(uni({"amd64"}, {{"memory", 200}}), {u}), "NoActiveClusterWithCapacity");
  // arm64 has 1 free core, amd64 has 4: a service built for both fits through amd64.
  EXPECT_EQ(place(uni({"arm64"}, {{"vcpus", 2}}), {u}), "NoActiveClusterWithCapacity");
  EXPECT_EQ(place(uni({"arm64", "amd64"}, {{"vcpus", 3}}), {u}), "U");

  // Between clusters, the free cores of the architecture decide, not the cluster's total.
  auto big = clusterDoc("Big", 100, 0, 10000, kNow, 1, bj::array{"unikernel"});
  big["aggregation_per_architecture"] = bj::object{
      {"amd64", bj::object{{"cpu_cores", 2}, {"cpu_percent", 0}, {"memory_in_mb", 100}}},
      {"arm64", bj::object{{"cpu_cores", 98}, {"cpu_percent", 0}, {"memory_in_mb", 9900}}}};
  EXPECT_EQ(placeInAnyOrder(uni({"amd64"}), {u, big}), "U");
  EXPECT_EQ(placeInAnyOrder(uni({"arm64"}), {u, big}), "Big");
}

// Vector 10. The original read "vgpu" and so ignored the SLA's `vgpus`.
TEST(DecidePlacementTest, VgpusAreEnforced) {
  auto gpu = clusterDoc("G", 4, 0, 1000, kNow);
  gpu["total_gpu_cores"] = 2;
  gpu["total_gpu_percent"] = 50;
  EXPECT_EQ(place(job({{"vgpus", 1}}), {gpu}), "G");
  EXPECT_EQ(place(job({{"vgpus", 2}}), {gpu}), "NoActiveClusterWithCapacity");
  EXPECT_EQ(place(job({{"vgpus", 1}}), {clusterA()}), "NoActiveClusterWithCapacity");
  // A has more free cores, but only G has a GPU.
  EXPECT_EQ(placeInAnyOrder(job({{"vgpus", 1}}), {clusterA(), gpu, clusterB()}), "G");
}

// ---- Ties and liveness. ----

TEST(DecidePlacementTest, TiesGoToMoreMemoryThenToTheSmallestName) {
  // 8 cores at 50 % and 4 cores at 0 % both leave 4 free cores.
  auto x = clusterDoc("x", 8, 50, 500, kNow);
  auto y = clusterDoc("y", 4, 0, 600, kNow);
  EXPECT_EQ(placeInAnyOrder(job(), {x, y}), "y");
  auto m = clusterDoc("m", 4, 0, 600, kNow);
  auto b = clusterDoc("b", 4, 0, 600, kNow);
  EXPECT_EQ(placeInAnyOrder(job(), {x, y, m, b}), "b");
  // A cluster that cannot fit the service never wins a tie.
  EXPECT_EQ(placeInAnyOrder(job({{"memory", 550}}), {x, y, m}), "m");
}

TEST(DecidePlacementTest, ClustersSilentFor30SecondsAreIgnored) {
  auto big_silent = clusterDoc("Big", 64, 0, 64000, kNow, 31);
  EXPECT_EQ(placeInAnyOrder(job(), {clusterA(), big_silent, clusterB()}), "A");
  EXPECT_EQ(place(job(), {clusterDoc("Big", 64, 0, 64000, kNow, 30)}),
            "NoActiveClusterWithCapacity");
  EXPECT_EQ(place(job(), {clusterDoc("Big", 64, 0, 64000, kNow, 29.5)}), "Big");
  auto never = clusterA();
  never.erase("last_modified_timestamp");
  EXPECT_EQ(place(job(), {never}), "NoActiveClusterWithCapacity");

  auto p = decidePlacement(job(), {big_silent}, kNow);
  EXPECT_EQ(p.status, "NoActiveClusterWithCapacity");
  EXPECT_NE(p.detail.find("active"), std::string::npos) << p.detail;
}

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
