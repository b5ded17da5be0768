// The pure parts of the containerd runtime: reading image configs, chain ids, and the runtime
// spec every container gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/json.hpp>

#include "worker/runtime/containerd/image_config.h"
#include "worker/runtime/containerd/oci_spec.h"

namespace oak::worker::containerd {
namespace {

namespace bj = boost::json;
using ::testing::HasSubstr;

constexpr char kDiff0[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr char kDiff1[] = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

std::string config(std::string_view inner) {
  return fmt::format(R"({{"architecture":"amd64","os":"linux","config":{},
    "rootfs":{{"type":"layers","diff_ids":["{}","{}"]}}}})",
                     inner, kDiff0, kDiff1);
}

InstanceSpec service() {
  InstanceSpec s;
  s.job_name = "app.ns.web.ns";
  s.instance = 1;
  s.virtualization = "docker";
  s.image = "busybox";
  return s;
}

bj::object specOf(const InstanceSpec& s, const ImageConfig& c, SpecOptions o = {}) {
  auto text = buildSpec(s, c, o);
  EXPECT_TRUE(text) << text.error().message;
  return bj::parse(*text).as_object();
}

std::vector<std::string> strings(const bj::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

TEST(ImageConfigTest, ReadsWhatStartsTheContainer) {
  auto c = ImageConfig::parse(config(R"({"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],
      "Env":["PATH=/bin","A=1"],"WorkingDir":"/srv","User":"1000:100"})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"echo hi"}));
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/bin", "A=1"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->user, "1000:100");
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->diff_ids.size(), 2u);
}

TEST(ImageConfigTest, NullsAndAbsentFieldsAreEmpty) {
  auto c = ImageConfig::parse(config(R"({"Entrypoint":null,"Cmd":null})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->entrypoint.empty());
  EXPECT_TRUE(c->cmd.empty());
}

TEST(ImageConfigTest, RefusesWhatItCannotUseNamingTheField) {
  auto bad_cmd = ImageConfig::parse(config(R"({"Cmd":"echo"})"));
  ASSERT_FALSE(bad_cmd);
  EXPECT_THAT(bad_cmd.error().message, HasSubstr("config.Cmd"));
  EXPECT_FALSE(ImageConfig::parse("[]"));
  auto no_rootfs = ImageConfig::parse(R"({"config":{}})");
  ASSERT_FALSE(no_rootfs);
  EXPECT_THAT(no_rootfs.error().message, HasSubstr("rootfs"));
  auto bad_digest = ImageConfig::parse(R"({"rootfs":{"diff_ids":["md5:abc"]}})");
  ASSERT_FALSE(bad_digest);
  EXPECT_THAT(bad_digest.error().message, HasSubstr("diff_ids"));
}

TEST(ImageConfigTest, ChainIdsFollowTheOciFormula) {
  auto chain = chainIds({kDiff0, kDiff1});
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], kDiff0);
  // sha256 of "<diff0> <diff1>", computed independently with sha256sum.
  EXPECT_EQ(chain[1], "sha256:9932074217c35353d2e03a3f5a86549f7c67bfeb0ba53e23d69f4d4c8f7958f5");
  EXPECT_NE(chainIds({kDiff1, kDiff0})[1], chain[1]);
  EXPECT_TRUE(chainIds({}).empty());
}

TEST(OciSpecTest, ServiceCmdReplacesEntrypointAndCmd) {
  auto image = ImageConfig::parse(config(R"({"Entrypoint":["/init"],"Cmd":["serve"]})")).value();
  auto from_image = specOf(service(), image);
  EXPECT_EQ(strings(from_image["process"].at("args")),
            (std::vector<std::string>{"/init", "serve"}));
  auto s = service();
  s.cmd = {"sh", "-c", "echo hi"};
  auto overridden = specOf(s, image);
  EXPECT_EQ(strings(overridden["process"].at("args")), s.cmd);
}

TEST(OciSpecTest, NoCommandAnywhereIsRefused) {
  auto image = ImageConfig::parse(config("{}")).value();
  auto spec = buildSpec(service(), image, {});
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::kUnprocessable);
  EXPECT_THAT(spec.error().message, HasSubstr("no command"));
}

TEST(OciSpecTest, ServiceEnvironmentOverridesTheImageByName) {
  auto image = ImageConfig::parse(config(R"({"Cmd":["x"],"Env":["A=image","B=image"]})")).value();
  auto s = service();
  s.environment = {"B=service", "C=service"};
  auto env = strings(specOf(s, image)["process"].at("env"));
  EXPECT_THAT(env, ::testing::Contains("A=image"));
  EXPECT_THAT(env, ::testing::Contains("B=service"));
  EXPECT_THAT(env, ::testing::Contains("C=service"));
  EXPECT_THAT(env, ::testing::Not(::testing::Contains("B=image")));
  // A PATH is always there, even when the image sets none.
  EXPECT_THAT(env, ::testing::Contains(HasSubstr("PATH=")));
}

TEST(OciSpecTest, MemoryAndVcpusBecomeCgroupLimits) {
  auto image = ImageConfig::parse(config(R"({"Cmd":["x"]})")).value();
  auto s = service();
  s.memory_mb = 64;
  s.vcpus = 1.5;
  auto linux = specOf(s, image)["linux"].as_object();
  const auto& r = linux["resources"].as_object();
  EXPECT_EQ(r.at("memory").at("limit").as_int64(), 64 * 1024 * 1024);
  EXPECT_EQ(r.at("cpu").at("quota").as_int64(), 150000);
  EXPECT_EQ(r.at("cpu").at("period").as_int64(), 100000);
  EXPECT_EQ(linux["cgroupsPath"].as_string(), "/oakestra/app.ns.web.ns.instance.1");
  // No limits asked, none set.
  auto unlimited = specOf(service(), image)["linux"].at("resources").as_object();
  EXPECT_FALSE(unlimited.contains("memory"));
  EXPECT_FALSE(unlimited.contains("cpu"));
}

TEST(OciSpecTest, UsersAreNumericOnly) {
  auto with_user = [](std::string user) {
    auto image = ImageConfig::parse(config(R"({"Cmd":["x"]})")).value();
    image.user = std::move(user);
    return buildSpec(service(), image, {});
  };
  auto numeric = bj::parse(with_user("1000:100").value()).as_object();
  EXPECT_EQ(numeric["process"].at("user").at("uid").as_int64(), 1000);
  EXPECT_EQ(numeric["process"].at("user").at("gid").as_int64(), 100);
  auto uid_only = bj::parse(with_user("7").value()).as_object();
  EXPECT_EQ(uid_only["process"].at("user").at("gid").as_int64(), 7);
  auto named = with_user("nginx");
  ASSERT_FALSE(named);
  EXPECT_THAT(named.error().message, HasSubstr("nginx"));
}

TEST(OciSpecTest, NetworkNamespaceOnlyWhenGiven) {
  auto image = ImageConfig::parse(config(R"({"Cmd":["x"]})")).value();
  auto types = [](const bj::object& spec) {
    std::vector<std::string> out;
    for (const auto& ns : spec.at("linux").at("namespaces").as_array()) {
      out.emplace_back(ns.at("type").as_string());
    }
    return out;
  };
  EXPECT_THAT(types(specOf(service(), image)), ::testing::Not(::testing::Contains("network")));
  SpecOptions o;
  o.netns_path = "/var/run/netns/x";
  EXPECT_THAT(types(specOf(service(), image, o)), ::testing::Contains("network"));
}

TEST(OciSpecTest, GpusNeedTheNvidiaHook) {
  auto image = ImageConfig::parse(config(R"({"Cmd":["x"]})")).value();
  auto s = service();
  s.vgpus = 1;
  auto refused = buildSpec(s, image, {});
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("nvidia-container-runtime-hook"));

  SpecOptions o;
  o.gpu_hook = "/usr/bin/nvidia-container-runtime-hook";
  auto spec = specOf(s, image, o);
  const auto& prestart = spec.at("hooks").at("prestart").as_array();
  ASSERT_EQ(prestart.size(), 1u);
  EXPECT_EQ(prestart[0].at("path").as_string(), *o.gpu_hook);
  EXPECT_THAT(strings(spec.at("process").at("env")),
              ::testing::Contains("NVIDIA_VISIBLE_DEVICES=all"));
  // Without GPUs asked for, no hook runs.
  EXPECT_FALSE(specOf(service(), image, o).contains("hooks"));
}

}  // namespace
}  // namespace oak::worker::containerd
