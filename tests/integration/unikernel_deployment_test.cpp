// Unikernels end to end: root, cluster and two `oakestra worker --unikernel` (no containerd), a
// kernel bundle served on loopback. Users' view only: the root's API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "hierarchy_fixture.h"
#include "unikernel_bundles.h"

namespace oak::testing {
namespace {

using ::testing::HasSubstr;

FileServer& bundles() {
  static FileServer* server = [] {
    static TempDir dir;
    std::map<std::string, std::string> files;
    for (auto [name, code] :
         {std::pair<std::string, std::optional<int>>{"once", 0}, {"stays", std::nullopt}}) {
      auto kernel = buildTestKernel(dir.path().string(), "guest " + name + " says hi\\n", code);
      if (!kernel) ADD_FAILURE() << kernel.error().message;
      files[name + ".tar.gz"] = kernelBundle(kernel ? *kernel : "");
    }
    auto started = FileServer::start(std::move(files));
    if (!started) ADD_FAILURE() << started.error().message;
    return started ? started->release() : nullptr;
  }();
  return *server;
}

class UnikernelDeploymentTest : public HierarchyTest {
 protected:
  void SetUp() override {
    bundles();
    HierarchyTest::SetUp();
    waitForRootView(2);
  }

  std::vector<std::string> workerArgs(const std::string& name) const override {
    auto args = HierarchyTest::workerArgs(name);
    args.push_back("--unikernel");
    return args;
  }

  std::string deploy(const std::string& name, const std::string& code, bool one_shot) {
    return HierarchyTest::deploy({{"microservice_name", name},
                                  {"virtualization", "unikernel"},
                                  {"memory", 32},
                                  {"code", code},
                                  {"arch", bj::array{"amd64"}},
                                  {"one_shot", one_shot}});
  }

  std::string stdoutLog(const std::string& service_id) {
    std::string out;
    for (const auto& line : logLines(service_id, "stdout")) out += line + "\n";
    return out;
  }
};

TEST_F(UnikernelDeploymentTest, WorkersOfferUnikernelsAndRunThem) {
  for (const auto& [name, w] : workers()) {
    EXPECT_THAT(bj::serialize(w), HasSubstr("unikernel")) << name;
  }
  auto once = deploy("once", bundles().url("once.tar.gz"), true);
  auto done = waitForStatus(once, "COMPLETED");
  EXPECT_THAT(str(done, "logs"), HasSubstr("guest once says hi"));
  EXPECT_THAT(stdoutLog(once), HasSubstr("guest once says hi"));

  auto stays = deploy("stays", bundles().url("stays.tar.gz"), false);
  waitForStatus(stays, "RUNNING");
  EXPECT_TRUE(eventually("console in the logs", 10s, [&] {
    return stdoutLog(stays).find("guest stays says hi") != std::string::npos;
  }));
  auto down =
      root().call(Method::kDelete, "/api/service/" + stays + "/instance/0", "", adminToken());
  EXPECT_EQ(down.status, 200) << down.body;
  for (const auto& w : {"w1", "w2"}) {
    EXPECT_TRUE(eventually(std::string("no guest left on ") + w, 20s, [&] {
      std::error_code ec;
      auto run = dir_.path() / w / "unikernel" / "run";
      return !std::filesystem::exists(run) || std::filesystem::is_empty(run, ec);
    }));
  }
}

TEST_F(UnikernelDeploymentTest, MissingKernelFailsWithTheReason) {
  auto id = deploy("ghost", bundles().url("nope.tar.gz"), false);
  waitForStatus(id, "FAILED", "nope.tar.gz: HTTP 404");
}

}  // namespace
}  // namespace oak::testing
