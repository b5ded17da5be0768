// The placement engine: every rule, determinism, reservations and the failure reports.

#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace oak::sched {
namespace {

// An idle node: everything free; `name` doubles as the id unless given.
Resources node(const std::string& name, double cores, double memory_mb,
               std::vector<std::string> runtimes = {"docker"}) {
  Resources r;
  r.id = name;
  r.name = name;
  r.cores_total = r.cores_free = cores;
  r.memory_total_mb = r.memory_free_mb = memory_mb;
  r.runtimes = std::move(runtimes);
  return r;
}

Resources withFree(Resources r, double cores_free, double memory_free_mb) {
  r.cores_free = cores_free;
  r.memory_free_mb = memory_free_mb;
  return r;
}

Requirements needs(double memory_mb, double vcpus = 0) {
  Requirements r;
  r.memory_mb = memory_mb;
  r.vcpus = vcpus;
  return r;
}

// The chosen node's name, or the failure status.
std::string placeOn(Scheduler& s, const Requirements& req) {
  Placement p = s.place(req);
  if (!p.ok) {
    EXPECT_TRUE(p.node_id.empty());
    EXPECT_FALSE(p.detail.empty()) << p.status;
    return p.status;
  }
  EXPECT_TRUE(p.status.empty());
  const Resources* r = s.find(p.node_id);
  EXPECT_NE(r, nullptr);
  return r != nullptr ? r->name : "?";
}

// One placement on a fresh scheduler holding `nodes`, after checking that every insertion order
// gives the same answer.
std::string placeOnce(Level level, const std::vector<Resources>& nodes, const Requirements& req) {
  std::vector<size_t> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::string first;
  bool have_first = false;
  do {
    Scheduler s(level);
    for (size_t i : order) s.upsertNode(nodes[i]);
    std::string got = placeOn(s, req);
    if (!have_first) {
      first = got;
      have_first = true;
    }
    EXPECT_EQ(got, first) << "insertion order changed the result";
  } while (std::next_permutation(order.begin(), order.end()));
  return first;
}

std::string workerFor(const std::vector<Resources>& nodes, const Requirements& req) {
  return placeOnce(Level::kCluster, nodes, req);
}

std::string clusterFor(const std::vector<Resources>& nodes, const Requirements& req) {
  return placeOnce(Level::kRoot, nodes, req);
}

std::string detailOf(Level level, const std::vector<Resources>& nodes, const Requirements& req) {
  Scheduler s(level);
  for (const auto& n : nodes) s.upsertNode(n);
  return s.place(req).detail;
}

// ---- Feasibility. ----

TEST(PlacementTest, NothingToChooseFrom) {
  EXPECT_EQ(workerFor({}, needs(0)), kNoWorkerCapacity);
  EXPECT_EQ(clusterFor({}, needs(0)), kNoActiveClusterWithCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {}, needs(0)), "no worker is registered");
  EXPECT_EQ(detailOf(Level::kRoot, {}, needs(0)), "no cluster is registered");
}

TEST(PlacementTest, InactiveNodesAreNeverChosen) {
  Resources big = node("big", 64, 64000);
  big.active = false;
  EXPECT_EQ(workerFor({big, node("small", 1, 100)}, needs(50)), "small");
  EXPECT_EQ(workerFor({big}, needs(50)), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {big}, needs(50)), "no worker is active");

  Scheduler s(Level::kCluster);
  s.upsertNode(node("a", 4, 1000));
  s.setActive("a", false);
  EXPECT_EQ(placeOn(s, needs(0)), kNoWorkerCapacity);
  s.setActive("a", true);
  EXPECT_EQ(placeOn(s, needs(0)), "a");
  s.setActive("unknown", false);  // ignored
  EXPECT_EQ(s.size(), 1u);
}

TEST(PlacementTest, MemoryIsEnforcedInclusively) {
  EXPECT_EQ(workerFor({node("a", 4, 100)}, needs(100)), "a");
  EXPECT_EQ(workerFor({node("a", 4, 100)}, needs(100.5)), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {node("a", 4, 100)}, needs(4096)),
            "no active worker has 4096 MB free memory");
  // Free memory counts, not the total.
  EXPECT_EQ(workerFor({withFree(node("a", 4, 1000), 4, 99)}, needs(100)), kNoWorkerCapacity);
}

TEST(PlacementTest, VcpusAreEnforcedAgainstFreeCores) {
  Resources half = withFree(node("a", 4, 1000), 2, 1000);
  EXPECT_EQ(workerFor({half}, needs(0, 2)), "a");
  EXPECT_EQ(workerFor({half}, needs(0, 2.5)), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {half}, needs(0, 3)), "no active worker has 3 free cores");
  EXPECT_EQ(detailOf(Level::kCluster, {withFree(half, 0, 1000)}, needs(0, 1)),
            "no active worker has 1 free core");
}

TEST(PlacementTest, VgpusAreEnforced) {
  Resources gpu = node("gpu", 4, 1000);
  gpu.gpus_total = 2;
  gpu.gpus_free = 1;
  Requirements one = needs(0);
  one.vgpus = 1;
  Requirements two = needs(0);
  two.vgpus = 2;
  EXPECT_EQ(workerFor({node("cpu", 64, 64000), gpu}, one), "gpu");
  EXPECT_EQ(workerFor({node("cpu", 64, 64000), gpu}, two), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {gpu}, two), "no active worker has 2 free GPUs");
}

TEST(PlacementTest, DiskIsEnforced) {
  Resources disk = node("disk", 4, 1000);
  disk.disk_total_mb = 10000;
  disk.disk_free_mb = 500;
  Requirements req = needs(0);
  req.disk_mb = 500;
  EXPECT_EQ(workerFor({disk, node("nodisk", 4, 1000)}, req), "disk");
  req.disk_mb = 501;
  EXPECT_EQ(workerFor({disk}, req), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {disk}, req), "no active worker has 501 MB free disk");
}

TEST(PlacementTest, RuntimeMustBeOffered) {
  Requirements uni = needs(10);
  uni.runtime = "unikernel";
  uni.arch = {"amd64"};
  Resources both = node("both", 2, 100, {"docker", "unikernel"});
  both.per_arch["amd64"] = {2, 2, 100, 100};
  EXPECT_EQ(workerFor({node("docker", 64, 64000), both}, uni), "both");
  EXPECT_EQ(workerFor({node("docker", 64, 64000)}, uni), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, {node("docker", 64, 64000)}, uni),
            "no active worker has runtime 'unikernel'");
  EXPECT_EQ(workerFor({node("bare", 4, 1000, {})}, needs(0)), kNoWorkerCapacity);
  // Runtimes this version does not know are matched by name.
  Requirements wasm = needs(0);
  wasm.runtime = "wasm";
  Requirements vm = needs(0);
  vm.runtime = "vm";
  std::vector<Resources> odd{node("w", 4, 1000, {"docker", "wasm"}), node("d", 1, 100)};
  EXPECT_EQ(workerFor(odd, wasm), "w");
  EXPECT_EQ(workerFor(odd, vm), kNoWorkerCapacity);
  EXPECT_EQ(workerFor(odd, needs(0)), "d");
}

// ---- Architectures. ----

Resources twoArchCluster(const std::string& name, ArchCapacity amd64, ArchCapacity arm64) {
  Resources r = node(name, amd64.cores_total + arm64.cores_total,
                     amd64.memory_total_mb + arm64.memory_total_mb, {"docker", "unikernel"});
  r.cores_free = amd64.cores_free + arm64.cores_free;
  r.memory_free_mb = amd64.memory_free_mb + arm64.memory_free_mb;
  r.per_arch = {{"amd64", amd64}, {"arm64", arm64}};
  return r;
}

Requirements unikernel(std::vector<std::string> arch, double memory_mb, double vcpus = 0) {
  Requirements r = needs(memory_mb, vcpus);
  r.runtime = "unikernel";
  r.arch = std::move(arch);
  return r;
}

TEST(PlacementTest, ArchitectureCapacityIsWhatCounts) {
  Resources u = twoArchCluster("U", {4, 4, 100, 100}, {2, 1, 50, 50});
  EXPECT_EQ(clusterFor({u}, unikernel({"amd64"}, 10)), "U");
  EXPECT_EQ(clusterFor({u}, unikernel({"riscv64"}, 10)), kNoActiveClusterWithCapacity);
  EXPECT_EQ(detailOf(Level::kRoot, {u}, unikernel({"riscv64", "s390x"}, 10)),
            "no active cluster has architecture 'riscv64' or 's390x'");
  // The cluster has 150 MB in all, but amd64 has only 100.
  EXPECT_EQ(clusterFor({u}, unikernel({"amd64"}, 120)), kNoActiveClusterWithCapacity);
  EXPECT_EQ(detailOf(Level::kRoot, {u}, unikernel({"amd64"}, 120)),
            "no active cluster has 120 MB free memory");
  EXPECT_EQ(clusterFor({u}, unikernel({"arm64"}, 0, 2)), kNoActiveClusterWithCapacity);
  EXPECT_EQ(clusterFor({u}, unikernel({"arm64", "amd64"}, 0, 3)), "U");

  // Between clusters, the architecture's capacity decides, not the cluster's total.
  Resources big = twoArchCluster("Big", {2, 2, 100, 100}, {98, 98, 9900, 9900});
  EXPECT_EQ(clusterFor({u, big}, unikernel({"arm64"}, 10, 2)), "Big");
}

TEST(PlacementTest, ArchitectureIsEnforcedForContainersToo) {
  Resources amd = node("amd", 4, 1000);
  amd.per_arch["amd64"] = {4, 4, 1000, 1000};
  Resources arm = node("arm", 4, 1000);
  arm.per_arch["arm64"] = {4, 4, 1000, 1000};
  Requirements req = needs(10);
  req.arch = {"arm64"};
  EXPECT_EQ(workerFor({amd, arm}, req), "arm");
  EXPECT_EQ(workerFor({amd}, req), kNoWorkerCapacity);
  // Without `arch` any architecture will do.
  EXPECT_EQ(workerFor({amd}, needs(10)), "amd");
}

TEST(PlacementTest, TightestArchitectureIsReserved) {
  // Both fit; arm64 is tighter, so it is the one reserved.
  Scheduler s(Level::kRoot);
  s.upsertNode(twoArchCluster("U", {8, 8, 1000, 1000}, {2, 2, 200, 200}));
  ASSERT_TRUE(s.place(unikernel({"amd64", "arm64"}, 100, 1)).ok);
  const Resources* u = s.find("U");
  EXPECT_EQ(u->per_arch.at("arm64"), (ArchCapacity{2, 1, 200, 100}));
  EXPECT_EQ(u->per_arch.at("amd64"), (ArchCapacity{8, 8, 1000, 1000}));
  EXPECT_EQ(u->memory_free_mb, 1100);
  EXPECT_EQ(u->cores_free, 9);
  // Giving it back restores the same architecture.
  s.release("U", unikernel({"amd64", "arm64"}, 100, 1));
  EXPECT_EQ(s.find("U")->per_arch.at("arm64"), (ArchCapacity{2, 2, 200, 200}));
  EXPECT_EQ(s.find("U")->memory_free_mb, 1200);
}

// ---- Direct constraints. ----

TEST(PlacementTest, DirectClusterStatuses) {
  Resources off = node("D", 64, 64000);
  off.active = false;
  std::vector<Resources> clusters{node("A", 8, 100), node("B", 4, 1000), off};
  auto direct = [](std::string name, double memory_mb) {
    Requirements r = needs(memory_mb);
    r.direct_cluster = std::move(name);
    return r;
  };
  EXPECT_EQ(clusterFor(clusters, direct("B", 50)), "B");
  EXPECT_EQ(clusterFor(clusters, direct("A", 50)), "A");
  EXPECT_EQ(clusterFor(clusters, direct("Z", 50)), kTargetClusterNotFound);
  EXPECT_EQ(clusterFor(clusters, direct("D", 50)), kTargetClusterNotActive);
  EXPECT_EQ(clusterFor(clusters, direct("A", 500)), kTargetClusterNoCapacity);
  EXPECT_EQ(clusterFor({}, direct("A", 50)), kTargetClusterNotFound);
  EXPECT_EQ(detailOf(Level::kRoot, clusters, direct("Z", 50)), "no cluster is named 'Z'");
  EXPECT_EQ(detailOf(Level::kRoot, clusters, direct("D", 50)), "cluster 'D' is not active");
  EXPECT_EQ(detailOf(Level::kRoot, clusters, direct("A", 500)),
            "cluster 'A' does not have 500 MB free memory");
  // Cluster level: a cluster name is not a worker name.
  EXPECT_EQ(workerFor({node("A", 4, 100), node("W", 4, 1000)}, direct("A", 50)), "A");
}

TEST(PlacementTest, DirectNodesLimitTheWorkers) {
  std::vector<Resources> workers{node("a", 8, 2000), node("b", 4, 1000), node("c", 2, 500)};
  Requirements req = needs(100);
  req.direct_nodes = {"a", "c"};
  EXPECT_EQ(workerFor(workers, req), "c");
  req.direct_nodes = {"b"};
  EXPECT_EQ(workerFor(workers, req), "b");
  req.memory_mb = 1500;
  EXPECT_EQ(workerFor(workers, req), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, workers, req),
            "no active worker named 'b' has 1500 MB free memory");
  req.direct_nodes = {"x", "y"};
  EXPECT_EQ(detailOf(Level::kCluster, workers, req), "no worker is named 'x' or 'y'");
  // Exact names only.
  req = needs(0);
  req.direct_nodes = {"node"};
  EXPECT_EQ(workerFor({node("node1", 4, 100)}, req), kNoWorkerCapacity);
  // Root level: worker names are the cluster's business.
  req.direct_nodes = {"nowhere"};
  EXPECT_EQ(clusterFor({node("A", 4, 100)}, req), "A");
  // Inactive named workers.
  Resources off = node("off", 4, 100);
  off.active = false;
  req.direct_nodes = {"off"};
  EXPECT_EQ(detailOf(Level::kCluster, {off, node("on", 4, 100)}, req),
            "no worker named 'off' is active");
}

// ---- Geo and latency. ----

constexpr GeoPoint kMunich{48.1374, 11.5755}, kGarching{48.2489, 11.6532},
    kBerlin{52.5200, 13.4050};

Resources at(Resources r, GeoPoint p, double radius_km = 0) {
  r.location = p;
  r.radius_km = radius_km;
  return r;
}

Requirements near(GeoPoint p, double km) {
  Requirements r = needs(10);
  r.geo.push_back({p, km, std::nullopt});
  return r;
}

TEST(PlacementTest, GeoConstraintKeepsNodesWithinTheThreshold) {
  std::vector<Resources> workers{at(node("garching", 1, 100), kGarching),
                                 at(node("berlin", 64, 64000), kBerlin), node("nowhere", 1, 100)};
  // Garching is ~13.5 km from Munich, Berlin ~504 km.
  EXPECT_EQ(workerFor(workers, near(kMunich, 20)), "garching");
  EXPECT_EQ(workerFor(workers, near(kMunich, 10)), kNoWorkerCapacity);
  EXPECT_EQ(workerFor(workers, near(kMunich, 600)), "garching");  // tighter fit
  EXPECT_EQ(workerFor(workers, near(kBerlin, 1)), "berlin");
  EXPECT_EQ(detailOf(Level::kCluster, workers, near(kMunich, 10)),
            "no active worker has a location within 10 km of 48.1374,11.5755");
  // Every geo constraint must hold.
  Requirements both = near(kMunich, 600);
  both.geo.push_back({kBerlin, 5, std::nullopt});
  EXPECT_EQ(workerFor(workers, both), "berlin");
}

TEST(PlacementTest, ClusterAreasCountFromTheirEdge) {
  // Berlin is ~504 km away, but a cluster covering 500 km around it reaches within 10 km.
  EXPECT_EQ(clusterFor({at(node("C", 8, 1000), kBerlin, 500)}, near(kMunich, 10)), "C");
  EXPECT_EQ(clusterFor({at(node("C", 8, 1000), kBerlin, 490)}, near(kMunich, 10)),
            kNoActiveClusterWithCapacity);
}

TEST(PlacementTest, LatencyIsADistanceBound) {
  Requirements req = needs(10);
  req.geo.push_back({kMunich, 6 * kKmPerRoundTripMs, 6.0});  // 600 km
  std::vector<Resources> workers{at(node("berlin", 4, 1000), kBerlin)};
  EXPECT_EQ(workerFor(workers, req), "berlin");
  req.geo[0] = {kMunich, 4 * kKmPerRoundTripMs, 4.0};
  EXPECT_EQ(workerFor(workers, req), kNoWorkerCapacity);
  EXPECT_EQ(detailOf(Level::kCluster, workers, req),
            "no active worker has a location within 4 ms round trip (400 km) of 48.1374,11.5755");
}

// ---- The choice. ----

TEST(PlacementTest, BestFitLeavesTheSmallestShareFree) {
  // After 100 MB: a keeps 900/2000 + 4/4 = 1.45, b keeps 400/1000 + 8/8 = 1.4.
  std::vector<Resources> workers{withFree(node("a", 4, 2000), 4, 1000),
                                 withFree(node("b", 8, 1000), 8, 500)};
  EXPECT_EQ(workerFor(workers, needs(100)), "b");
  // Cores count as much as memory: b keeps 400/1000 + 1/8, a keeps 900/2000 + 0/4.
  EXPECT_EQ(workerFor(workers, needs(100, 4)), "a");
  // A node with no capacity of a kind leaves none of it.
  EXPECT_EQ(workerFor({node("zero", 0, 0), node("idle", 4, 1000)}, needs(0)), "zero");
}

TEST(PlacementTest, TiesGoToTheSmallerNameThenId) {
  EXPECT_EQ(workerFor({node("b", 4, 1000), node("a", 4, 1000), node("c", 4, 1000)}, needs(100)),
            "a");
  Resources x1 = node("same", 4, 1000);
  x1.id = "id-2";
  Resources x2 = node("same", 4, 1000);
  x2.id = "id-1";
  Scheduler s(Level::kCluster);
  s.upsertNode(x1);
  s.upsertNode(x2);
  EXPECT_EQ(s.place(needs(0)).node_id, "id-1");
}

TEST(PlacementTest, ManyNodesInEveryOrder) {
  std::vector<Resources> workers;
  for (int i = 0; i < 6; ++i) {
    workers.push_back(withFree(node("w" + std::to_string(i), 2 + i % 3, 1000 + 250 * (i % 4)),
                               1 + i % 2, 500 + 100 * i));
  }
  // Every order of 6 nodes (720) agrees; the answer itself is checked by hand elsewhere.
  EXPECT_NE(workerFor(workers, needs(600, 1)), kNoWorkerCapacity);
}

// ---- Reservations. ----

TEST(PlacementTest, PlacementReservesUntilTheNextReport) {
  Scheduler s(Level::kCluster);
  s.upsertNode(node("a", 4, 1000));
  s.upsertNode(node("b", 4, 600));
  // Best fit fills b first, then a, then nothing is left.
  EXPECT_EQ(placeOn(s, needs(300, 1)), "b");
  EXPECT_EQ(placeOn(s, needs(300, 1)), "b");
  EXPECT_EQ(s.find("b")->memory_free_mb, 0);
  EXPECT_EQ(s.find("b")->cores_free, 2);
  EXPECT_EQ(placeOn(s, needs(300, 1)), "a");
  EXPECT_EQ(placeOn(s, needs(300, 1)), "a");
  EXPECT_EQ(placeOn(s, needs(300, 1)), "a");
  EXPECT_EQ(placeOn(s, needs(300, 1)), kNoWorkerCapacity);
  // A report replaces the reservations.
  s.upsertNode(withFree(node("b", 4, 600), 4, 600));
  EXPECT_EQ(placeOn(s, needs(300, 1)), "b");
}

TEST(PlacementTest, ReleaseGivesCapacityBack) {
  Scheduler s(Level::kCluster);
  Resources w = node("w", 4, 1000);
  w.gpus_total = w.gpus_free = 1;
  w.disk_total_mb = w.disk_free_mb = 100;
  w.per_arch["amd64"] = {4, 4, 1000, 1000};
  s.upsertNode(w);
  Requirements req = needs(400, 2);
  req.vgpus = 1;
  req.disk_mb = 60;
  ASSERT_TRUE(s.place(req).ok);
  Resources used = *s.find("w");
  EXPECT_EQ(used.memory_free_mb, 600);
  EXPECT_EQ(used.cores_free, 2);
  EXPECT_EQ(used.gpus_free, 0);
  EXPECT_EQ(used.disk_free_mb, 40);
  // A worker has one architecture: its share shrinks with the totals.
  EXPECT_EQ(used.per_arch.at("amd64"), (ArchCapacity{4, 2, 1000, 600}));
  EXPECT_FALSE(s.place(req).ok);

  // A release that matches no reservation changes nothing.
  s.release("w", needs(1));
  s.release("unknown", req);
  EXPECT_EQ(*s.find("w"), used);

  s.release("w", req);
  EXPECT_EQ(*s.find("w"), w);
  // Only once.
  s.release("w", req);
  EXPECT_EQ(*s.find("w"), w);
  EXPECT_TRUE(s.place(req).ok);
}

TEST(PlacementTest, ReleaseAfterAReportIsANoOp) {
  Scheduler s(Level::kCluster);
  s.upsertNode(node("w", 4, 1000));
  ASSERT_TRUE(s.place(needs(400)).ok);
  // The report already shows the instance's usage; crediting it again would overcommit.
  s.upsertNode(withFree(node("w", 4, 1000), 4, 550));
  s.release("w", needs(400));
  EXPECT_EQ(s.find("w")->memory_free_mb, 550);
}

// ---- The node set. ----

TEST(PlacementTest, UpsertReplacesAndRemoveForgets) {
  Scheduler s(Level::kCluster);
  s.upsertNode(node("a", 4, 1000));
  s.upsertNode(node("b", 4, 1000));
  s.upsertNode(node("c", 4, 1000));
  EXPECT_EQ(s.size(), 3u);
  s.upsertNode(node("a", 4, 50));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.find("a")->memory_free_mb, 50);
  s.removeNode("a");
  s.removeNode("a");
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.find("a"), nullptr);
  ASSERT_NE(s.find("c"), nullptr);
  EXPECT_EQ(s.find("c")->name, "c");
  EXPECT_EQ(placeOn(s, needs(10)), "b");
  s.removeNode("b");
  s.removeNode("c");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(placeOn(s, needs(10)), kNoWorkerCapacity);
}

TEST(PlacementTest, FailureDetailNamesTheClosestCandidatesGap) {
  // One worker lacks the runtime, another has it but too little memory: memory is the closer gap.
  Resources uni = node("uni", 4, 100, {"unikernel"});
  Resources doc = node("doc", 4, 100);
  EXPECT_EQ(detailOf(Level::kCluster, {uni, doc}, needs(200)),
            "no active worker has 200 MB free memory");
  EXPECT_EQ(detailOf(Level::kRoot, {uni}, needs(200)), "no active cluster has runtime 'docker'");
}

}  // namespace
}  // namespace oak::sched
