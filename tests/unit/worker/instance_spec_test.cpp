#include "worker/runtime/instance_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/json.h"

namespace oak::worker {
namespace {

namespace bj = boost::json;
using ::testing::HasSubstr;

bj::object parseObject(std::string_view text) {
  return json::parse(text).value().as_object();
}

// What the cluster sends for the README's nginx service (abridged).
constexpr std::string_view kDeploy = R"({
  "_id": "66225f0c4f1a2b3c4d5e6f70", "system_job_id": "66225e0c4f1a2b3c4d5e6f70",
  "job_name": "clientsrvr.test.nginx.test", "image": "docker.io/library/nginx:latest",
  "virtualization": "docker", "cmd": ["nginx", "-g", "daemon off;"], "environment": ["A=1"],
  "port": "80:80/tcp", "memory": 100, "vcpus": 1, "vgpus": 0, "vtpus": 0, "one_shot": false,
  "status": "NODE_SCHEDULED", "instance_list": [{"instance_number": 0}], "instance_number": 2,
  "arch": ["amd64", "arm64"], "vm_images": null
})";

TEST(InstanceSpecTest, ReadsTheDeployMessage) {
  auto spec = InstanceSpec::fromJson(parseObject(kDeploy));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->job_name, "clientsrvr.test.nginx.test");
  EXPECT_EQ(spec->instance, 2);
  EXPECT_EQ(spec->virtualization, "docker");
  EXPECT_EQ(spec->image, "docker.io/library/nginx:latest");
  EXPECT_EQ(spec->cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(spec->environment, (std::vector<std::string>{"A=1"}));
  EXPECT_EQ(spec->port, "80:80/tcp");
  EXPECT_EQ(spec->memory_mb, 100);
  EXPECT_DOUBLE_EQ(spec->vcpus, 1.0);
  EXPECT_EQ(spec->vgpus, 0);
  EXPECT_FALSE(spec->one_shot);
  EXPECT_EQ(spec->arch, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_EQ(spec->taskId(), "clientsrvr.test.nginx.test.instance.2");
}

TEST(InstanceSpecTest, WritesWhatItReads) {
  auto spec = InstanceSpec::fromJson(parseObject(kDeploy));
  ASSERT_TRUE(spec) << spec.error().message;
  spec->one_shot = true;
  spec->netns_path = "/run/oakestra/w/netns/a.instance.2";
  spec->nsip = "10.18.0.5/26";
  spec->gateway = "10.18.0.1";
  spec->mtu = 1450;
  auto again = InstanceSpec::fromJson(spec->toJson());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *spec);
  again->clearNetwork();
  EXPECT_EQ(again->netns_path, "");
  EXPECT_EQ(again->nsip, "");
  EXPECT_EQ(again->gateway, "");
  EXPECT_EQ(again->mtu, 0);
}

TEST(InstanceSpecTest, OptionalKeysMayBeAbsentOrNull) {
  auto spec = InstanceSpec::fromJson(parseObject(
      R"({"job_name":"a.b.c.d","image":"img","virtualization":"unikernel","cmd":null,
          "port":null,"one_shot":null,"memory":null,"vcpus":0.5})"));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->instance, 0);
  EXPECT_TRUE(spec->cmd.empty());
  EXPECT_TRUE(spec->environment.empty());
  EXPECT_EQ(spec->port, "");
  EXPECT_EQ(spec->memory_mb, 0);
  EXPECT_DOUBLE_EQ(spec->vcpus, 0.5);
  EXPECT_FALSE(spec->one_shot);
}

TEST(InstanceSpecTest, IntegralFloatsCountAsIntegers) {
  auto spec = InstanceSpec::fromJson(parseObject(
      R"({"job_name":"a","image":"i","virtualization":"docker","instance_number":3.0,
          "memory":256.0,"vgpus":1.0,"one_shot":true})"));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->instance, 3);
  EXPECT_EQ(spec->memory_mb, 256);
  EXPECT_EQ(spec->vgpus, 1);
  EXPECT_TRUE(spec->one_shot);
}

// The original crashed or silently dropped the deploy on these; here each names its key.
TEST(InstanceSpecTest, WrongTypesAreUnprocessableAndNameTheKey) {
  struct Case {
    std::string key;
    std::string value;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {"job_name", "5", "job_name: expected a string, got 5"},
           {"job_name", "\"\"", "job_name: must not be empty"},
           {"virtualization", "[]", "virtualization: expected a string, got []"},
           {"image", "{}", "image: expected a string"},
           {"instance_number", "\"0\"",
            "instance_number: expected a non-negative integer, got '0'"},
           {"instance_number", "-1", "instance_number: expected a non-negative integer, got -1"},
           {"instance_number", "1.5", "instance_number: expected a non-negative integer"},
           {"instance_number", "4294967296", "instance_number: expected a non-negative integer"},
           {"instance_number", "1e300", "instance_number: expected a non-negative integer"},
           {"cmd", "\"ls\"", "cmd: expected an array of strings, got 'ls'"},
           {"cmd", "[\"ok\", 1]", "cmd[1]: expected a string, got 1"},
           {"environment", "[null]", "environment[0]: expected a string, got null"},
           {"arch", "[true]", "arch[0]: expected a string, got true"},
           {"port", "80", "port: expected a string, got 80"},
           {"memory", "\"100\"", "memory: expected a non-negative integer, got '100'"},
           {"memory", "-5", "memory: expected a non-negative integer"},
           {"vcpus", "\"1\"", "vcpus: expected a non-negative number, got '1'"},
           {"vcpus", "-0.5", "vcpus: expected a non-negative number"},
           {"vgpus", "true", "vgpus: expected a non-negative integer, got true"},
           {"one_shot", "\"true\"", "one_shot: expected a boolean, got 'true'"},
           {"one_shot", "1", "one_shot: expected a boolean, got 1"},
       }) {
    auto message = parseObject(R"({"job_name":"a.b.c.d","image":"i","virtualization":"docker"})");
    message[c.key] = json::parse(c.value).value();
    auto spec = InstanceSpec::fromJson(message);
    ASSERT_FALSE(spec) << c.key << "=" << c.value;
    EXPECT_EQ(spec.error().code, ErrorCode::kUnprocessable);
    EXPECT_THAT(spec.error().message, HasSubstr(c.message)) << c.key << "=" << c.value;
  }
}

TEST(InstanceSpecTest, RequiredKeysMustBePresent) {
  for (std::string key : {"job_name", "image", "virtualization"}) {
    auto message = parseObject(R"({"job_name":"a.b.c.d","image":"i","virtualization":"docker"})");
    message[key] = nullptr;
    auto spec = InstanceSpec::fromJson(message);
    ASSERT_FALSE(spec) << key;
    EXPECT_EQ(spec.error().message, key + ": required");
    message.erase(key);
    EXPECT_FALSE(InstanceSpec::fromJson(message)) << key;
  }
}

// Task ids become container ids and log file names.
TEST(InstanceSpecTest, JobNamesThatCouldEscapeADirectoryAreRefused) {
  for (const std::string& name :
       std::vector<std::string>{"../etc", "a/b", ".hidden", "a b", "x\ny", std::string(201, 'a')}) {
    bj::object message{{"job_name", name}, {"image", "i"}, {"virtualization", "docker"}};
    auto spec = InstanceSpec::fromJson(message);
    ASSERT_FALSE(spec) << name;
    EXPECT_THAT(spec.error().message, HasSubstr("job_name: ")) << name;
  }
  bj::object ok{{"job_name", "App_1.ns-2.svc.x"}, {"image", "i"}, {"virtualization", "docker"}};
  EXPECT_TRUE(InstanceSpec::fromJson(ok));
}

TEST(TaskIdTest, ParsesWhatTaskIdBuilds) {
  InstanceSpec spec;
  spec.job_name = "app.ns.svc.ns";
  spec.instance = 12;
  auto parsed = parseTaskId(spec.taskId());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "app.ns.svc.ns");
  EXPECT_EQ(parsed->second, 12);
}

TEST(TaskIdTest, TheJobNameEndsAtTheLastMarker) {
  auto parsed = parseTaskId("a.instance.b.instance.3");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "a.instance.b");
  EXPECT_EQ(parsed->second, 3);
}

TEST(TaskIdTest, MalformedIdsAreRefused) {
  for (std::string_view id :
       {"", "app", ".instance.3", "app.instance.", "app.instance.x", "app.instance.-1",
        "app.instance.+1", "app.instance.3x", "app.instance.99999999999", "app.instance. 3"}) {
    EXPECT_FALSE(parseTaskId(id)) << id;
  }
}

}  // namespace
}  // namespace oak::worker
