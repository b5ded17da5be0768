// The resource schema: JSON round trip, validation messages that name the field, aggregation.

#include "scheduler/resources.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <numbers>

#include "common/json.h"
#include "scheduler/geo.h"

namespace oak::sched {
namespace {

namespace bj = boost::json;

Resources worker() {
  Resources r;
  r.id = "w1";
  r.name = "host-1";
  r.location = GeoPoint{48.137, 11.575};
  r.cores_total = 8;
  r.cores_free = 6.5;
  r.memory_total_mb = 16000;
  r.memory_free_mb = 12000;
  r.gpus_total = 2;
  r.gpus_free = 1;
  r.disk_total_mb = 100000;
  r.disk_free_mb = 40000;
  r.runtimes = {"docker", "unikernel"};
  r.per_arch["amd64"] = {8, 6.5, 16000, 12000};
  r.capabilities["unikernel"] = {{"arch", "amd64"}, {"acceleration", "kvm"}};
  return r;
}

// The error message of parsing `text`, or "" when it parses.
std::string errorOf(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v) << text;
  auto r = resourcesFromJson(*v);
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  return r.error().message;
}

TEST(ResourcesJsonTest, RoundTripKeepsEveryField) {
  Resources w = worker();
  w.active = false;
  w.radius_km = 12.5;
  w.nodes = 3;
  bj::value v = toJson(w);
  // Through text too, as on the wire.
  auto parsed = json::parse(json::dump(v));
  ASSERT_TRUE(parsed);
  auto back = resourcesFromJson(*parsed);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, w);
}

TEST(ResourcesJsonTest, CapabilitiesAreBoundedStringsPerRuntime) {
  EXPECT_EQ(errorOf(R"({"id":"w","capabilities":{"unikernel":{"acceleration":1}}})"),
            "capabilities.unikernel.acceleration: must be a string of at most 256 bytes");
  EXPECT_EQ(errorOf(R"({"id":"w","capabilities":{"unikernel":"kvm"}})"),
            "capabilities.unikernel: must be an object of at most 16 strings");
  EXPECT_EQ(errorOf(R"({"id":"w","capabilities":[]})"),
            "capabilities: must be an object of at most 16 runtimes");
  Resources plain;
  plain.id = "w";
  EXPECT_FALSE(toJson(plain).contains("capabilities"));
}

TEST(ResourcesJsonTest, RoundTripWithoutLocation) {
  Resources w = worker();
  w.location.reset();
  bj::object o = toJson(w);
  EXPECT_TRUE(o.at("location").is_null());
  auto back = resourcesFromJson(o);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, w);
}

TEST(ResourcesJsonTest, AbsentFieldsTakeDefaults) {
  auto r = resourcesFromJson(bj::object{{"id", "w9"}, {"future_field", 1}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "w9");
  EXPECT_TRUE(r->active);
  EXPECT_FALSE(r->location);
  EXPECT_EQ(r->cores_total, 0);
  EXPECT_TRUE(r->runtimes.empty());
  EXPECT_TRUE(r->per_arch.empty());
  EXPECT_EQ(r->nodes, 1u);
}

TEST(ResourcesJsonTest, RuntimesComeBackSortedAndUnique) {
  auto r = resourcesFromJson(
      bj::object{{"id", "w"}, {"runtimes", bj::array{"unikernel", "docker", "unikernel"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->runtimes, (std::vector<std::string>{"docker", "unikernel"}));
}

TEST(ResourcesJsonTest, ErrorsNameTheField) {
  EXPECT_NE(errorOf("[]").find("resources: must be an object"), std::string::npos);
  EXPECT_NE(errorOf("{}").find("id: required"), std::string::npos);
  EXPECT_NE(errorOf(R"({"id": 7})").find("id: must be a string"), std::string::npos);
  EXPECT_NE(errorOf(R"({"id": ""})").find("id: required"), std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "active": "yes"})").find("active: must be a boolean"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "cores_total": "8"})").find("cores_total: must be a number"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "memory_free_mb": -1})").find("memory_free_mb: must not be"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "cores_total": 4, "cores_free": 5})")
                .find("cores_free: 5 exceeds cores_total 4"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "gpus_free": 1})").find("gpus_free: 1 exceeds gpus_total 0"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "disk_total_mb": 1, "disk_free_mb": 2})").find("disk_free_mb"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "radius_km": -3})").find("radius_km:"), std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "runtimes": "docker"})").find("runtimes: must be an array"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "runtimes": ["docker", ""]})").find("runtimes[1]:"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "nodes": 1.5})").find("nodes: must be a whole number"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "nodes": 1e12})").find("nodes:"), std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "nodes": 1e300})").find("nodes:"), std::string::npos);
}

TEST(ResourcesJsonTest, LocationIsValidated) {
  EXPECT_EQ(errorOf(R"({"id": "w", "location": {"lat": -33.9, "lon": -151.2}})"), "");
  EXPECT_EQ(errorOf(R"({"id": "w", "location": null})"), "");
  EXPECT_NE(errorOf(R"({"id": "w", "location": "48,11"})").find("location: must be an object"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "location": {"lat": 48}})").find("location.lon: required"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "location": {"lat": 91, "lon": 0}})")
                .find("location.lat: 91 is outside -90..90"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "location": {"lat": 0, "lon": -180.5}})").find("location.lon:"),
            std::string::npos);
}

TEST(ResourcesJsonTest, PerArchIsValidated) {
  EXPECT_NE(errorOf(R"({"id": "w", "per_arch": []})").find("per_arch: must be an object"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "per_arch": {"arm64": 4}})").find("per_arch.arm64:"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "per_arch": {"arm64": {"cores_total": 2, "cores_free": 3}}})")
                .find("per_arch.arm64.cores_free: 3 exceeds cores_total 2"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id": "w", "per_arch": {"arm64": {"memory_free_mb": "x"}}})")
                .find("per_arch.arm64.memory_free_mb: must be a number"),
            std::string::npos);
}

TEST(AggregateTest, SumsActiveWorkersOnly) {
  Resources a = worker();
  Resources b = worker();
  b.id = "w2";
  b.runtimes = {"docker"};
  b.per_arch.clear();
  b.per_arch["arm64"] = {4, 4, 8000, 8000};
  b.cores_total = 4;
  b.cores_free = 4;
  Resources off = worker();
  off.id = "w3";
  off.active = false;
  off.runtimes = {"wasm"};

  GeoPoint munich{48.1, 11.6};
  Resources c = aggregate("c1", "edge", munich, 25, {a, b, off});
  EXPECT_EQ(c.id, "c1");
  EXPECT_EQ(c.name, "edge");
  EXPECT_TRUE(c.active);
  EXPECT_EQ(c.location, munich);
  EXPECT_EQ(c.radius_km, 25);
  EXPECT_EQ(c.nodes, 2u);
  EXPECT_EQ(c.cores_total, 12);
  EXPECT_EQ(c.cores_free, 10.5);
  EXPECT_EQ(c.memory_total_mb, 32000);
  EXPECT_EQ(c.memory_free_mb, 24000);
  EXPECT_EQ(c.gpus_total, 4);
  EXPECT_EQ(c.gpus_free, 2);
  EXPECT_EQ(c.disk_free_mb, 80000);
  EXPECT_EQ(c.runtimes, (std::vector<std::string>{"docker", "unikernel"}));
  ASSERT_EQ(c.per_arch.size(), 2u);
  EXPECT_EQ(c.per_arch.at("amd64"), (ArchCapacity{8, 6.5, 16000, 12000}));
  EXPECT_EQ(c.per_arch.at("arm64"), (ArchCapacity{4, 4, 8000, 8000}));

  // Two workers of one architecture add up.
  Resources d = aggregate("c2", "x", std::nullopt, 0, {a, a});
  EXPECT_EQ(d.per_arch.at("amd64"), (ArchCapacity{16, 13, 32000, 24000}));
  // The aggregate is itself valid on the wire.
  EXPECT_TRUE(resourcesFromJson(toJson(c)));
}

TEST(AggregateTest, NoActiveWorkersIsAnEmptyCluster) {
  Resources off = worker();
  off.active = false;
  Resources c = aggregate("c", "c", std::nullopt, 0, {off});
  EXPECT_EQ(c.nodes, 0u);
  EXPECT_EQ(c.cores_total, 0);
  EXPECT_TRUE(c.runtimes.empty());
  EXPECT_TRUE(c.per_arch.empty());
}

TEST(GeoDistanceTest, DistancesMatchKnownValues) {
  GeoPoint munich{48.1374, 11.5755}, berlin{52.5200, 13.4050}, paris{48.8566, 2.3522};
  EXPECT_NEAR(distanceKm(munich, berlin), 504, 3);
  EXPECT_NEAR(distanceKm(munich, paris), 685, 3);
  EXPECT_DOUBLE_EQ(distanceKm(munich, munich), 0);
  EXPECT_NEAR(distanceKm({0, 0}, {0, 180}), std::numbers::pi * kEarthRadiusKm, 1e-6);
  EXPECT_NEAR(distanceKm({0, 179.5}, {0, -179.5}), distanceKm({0, 0}, {0, 1}), 1e-9);
}

TEST(GeoDistanceTest, ParsesLatLon) {
  auto p = parseLatLon("48.137,11.575");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (GeoPoint{48.137, 11.575}));
  p = parseLatLon(" -33.86 , +151.2 ");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (GeoPoint{-33.86, 151.2}));
  for (std::string_view bad :
       {"", "48.1", "48.1;11.5", "north,east", "91,0", "0,181", "1,2,3", "1e1,2", "48.1,", ",11"}) {
    auto r = parseLatLon(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
    EXPECT_NE(r.error().message.find("expected 'lat,lon'"), std::string::npos);
  }
}

}  // namespace
}  // namespace oak::sched
