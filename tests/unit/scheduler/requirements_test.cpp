// Reading requirements from a stored service document.

#include "scheduler/requirements.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"

namespace oak::sched {
namespace {

namespace bj = boost::json;

Requirements parse(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  auto r = requirementsFromService(v->as_object());
  EXPECT_TRUE(r) << text << ": " << r.error().message;
  return r ? *r : Requirements{};
}

std::string errorOf(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  auto r = requirementsFromService(v->as_object());
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  return r.error().message;
}

TEST(RequirementsFromServiceTest, EmptyServiceAsksForNothing) {
  Requirements r = parse("{}");
  EXPECT_EQ(r, Requirements{});
  EXPECT_EQ(r.runtime, "docker");
}

TEST(RequirementsFromServiceTest, ReadsTheSlaFields) {
  Requirements r = parse(R"({"memory": 512, "vcpus": 2, "vgpus": 1, "storage": 2048,
                             "virtualization": "unikernel", "arch": ["amd64", "arm64"],
                             "vcpu": 99, "vgpu": 99, "bandwidth_in": 5})");
  EXPECT_EQ(r.memory_mb, 512);
  EXPECT_EQ(r.vcpus, 2);  // the plural SLA keys; the singular ones are not SLA fields
  EXPECT_EQ(r.vgpus, 1);
  EXPECT_EQ(r.disk_mb, 2048);
  EXPECT_EQ(r.runtime, "unikernel");
  EXPECT_EQ(r.arch, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_TRUE(r.geo.empty());
  // Fractions are accepted (reports and hand-written documents), null is absent.
  r = parse(R"({"vcpus": 0.5, "memory": null})");
  EXPECT_EQ(r.vcpus, 0.5);
  EXPECT_EQ(r.memory_mb, 0);
}

TEST(RequirementsFromServiceTest, ContainerMeansDocker) {
  EXPECT_EQ(parse(R"({"virtualization": "container"})").runtime, "docker");
  EXPECT_EQ(parse(R"({"virtualization": "docker"})").runtime, "docker");
  EXPECT_EQ(parse(R"({"virtualization": "vm"})").runtime, "vm");
}

TEST(RequirementsFromServiceTest, UnikernelsMustNameTheirArchitectures) {
  EXPECT_NE(errorOf(R"({"virtualization": "unikernel"})").find("arch: required"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"virtualization": "unikernel", "arch": []})").find("arch: required"),
            std::string::npos);
}

TEST(RequirementsFromServiceTest, BadFieldsAreNamed) {
  EXPECT_NE(errorOf(R"({"memory": "100"})").find("memory: must be a number"), std::string::npos);
  EXPECT_NE(errorOf(R"({"vcpus": -1})").find("vcpus: must not be negative"), std::string::npos);
  EXPECT_NE(errorOf(R"({"storage": true})").find("storage:"), std::string::npos);
  EXPECT_NE(errorOf(R"({"virtualization": 3})").find("virtualization:"), std::string::npos);
  EXPECT_NE(errorOf(R"({"arch": "amd64"})").find("arch: must be an array"), std::string::npos);
  EXPECT_NE(errorOf(R"({"arch": ["amd64", 5]})").find("arch[1]:"), std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": {}})").find("constraints: must be an array"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "geo"}, 4]})").find("constraints[1]: must be"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": 1}]})").find("constraints[0].type:"),
            std::string::npos);
}

TEST(RequirementsFromServiceTest, FirstDirectConstraintOfEachKindWins) {
  Requirements r = parse(R"({"constraints": [
      {"type": "latency", "area": "x"},
      {"type": "direct", "node": "h1; h2;;"},
      {"type": "direct", "cluster": ""},
      {"type": "direct", "cluster": "B", "node": "h3"},
      {"type": "direct", "cluster": "A"}]})");
  EXPECT_EQ(r.direct_cluster, "B");
  EXPECT_EQ(r.direct_nodes, (std::vector<std::string>{"h1", "h2"}));

  r = parse(R"({"constraints": [{"type": "direct", "node": ""}]})");
  EXPECT_FALSE(r.direct_cluster);
  EXPECT_TRUE(r.direct_nodes.empty());
  EXPECT_EQ(parse(R"({"constraints": []})"), Requirements{});
  EXPECT_EQ(parse(R"({"constraints": [{"type": "bandwidth", "threshold": 5}]})"), Requirements{});
}

TEST(RequirementsFromServiceTest, GeoAndLatency) {
  Requirements r = parse(R"({"constraints": [
      {"type": "geo", "location": "48.137,11.575", "threshold": 50},
      {"type": "latency", "location": "52.52, 13.405", "threshold": 8}]})");
  ASSERT_EQ(r.geo.size(), 2u);
  EXPECT_EQ(r.geo[0], (GeoConstraint{{48.137, 11.575}, 50, std::nullopt}));
  EXPECT_EQ(r.geo[1], (GeoConstraint{{52.52, 13.405}, 8 * kKmPerRoundTripMs, 8.0}));

  // Without a location there is nothing to measure against.
  r = parse(R"({"constraints": [{"type": "latency", "threshold": 10},
                                {"type": "geo", "area": "munich", "threshold": 10}]})");
  EXPECT_TRUE(r.geo.empty());
}

TEST(RequirementsFromServiceTest, GeoErrorsNameTheConstraint) {
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "direct", "node": "a"},
                                        {"type": "geo", "location": "munich", "threshold": 5}]})")
                .find("constraints[1].location: expected 'lat,lon'"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "latency", "location": "95,0", "threshold": 5}]})")
                .find("constraints[0].location:"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "geo", "location": "48,11"}]})")
                .find("constraints[0].threshold: required"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "geo", "location": "48,11", "threshold": -1}]})")
                .find("constraints[0].threshold: must not be negative"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "geo", "location": 48}]})")
                .find("constraints[0].location: must be a string"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"constraints": [{"type": "direct", "cluster": 5}]})")
                .find("constraints[0].cluster: must be a string"),
            std::string::npos);
}

}  // namespace
}  // namespace oak::sched
