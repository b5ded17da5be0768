// The web dashboard end to end: web/e2e/run.mjs drives Debian's chromium (playwright-core) against
// the real `oakestra root` serving its embedded dashboard, with a cluster and two workers on a
// private containerd and a private registry holding a busybox image. The script logs in, creates an
// application from the JSON editor, sees the server's messages beside the fields, deploys, waits
// for RUNNING and reads the container's output in the live log view.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "../integration/hierarchy_fixture.h"
#include "containerd_cleanup.h"
#include "containerd_daemon.h"
#include "registry.h"
#include "worker/runtime/containerd/client.h"

namespace oak::testing {
namespace {

class WebDashboardTest : public HierarchyTest {
 protected:
  void SetUp() override {
    auto registry = LocalRegistry::start();
    ASSERT_TRUE(registry) << registry.error().message;
    registry_ = std::move(*registry);
    auto image = pushBusyboxImage(*registry_, "busybox", "v1");
    ASSERT_TRUE(image) << image.error().message;
    image_ = image->reference;
    ASSERT_TRUE(containerd_.waitReady(30s)) << containerd_.log();
    HierarchyTest::SetUp();
    waitForRootView(2);
  }

  void TearDown() override {
    HierarchyTest::TearDown();
    for (const auto& name : {"w1", "w2"}) removeContainers(containerd_.socket(), ns(name));
  }

  std::vector<std::string> workerArgs(const std::string& name) const override {
    return {"--containerd-socket", containerd_.socket(), "--containerd-namespace", ns(name)};
  }
  // runc keeps its state per namespace host-wide, and other tests may run beside this one.
  std::string ns(const std::string& worker) const {
    return worker + "-web-" + std::to_string(::getpid());
  }

  ContainerdDaemon containerd_;
  std::unique_ptr<LocalRegistry> registry_;
  std::string image_;
};

TEST_F(WebDashboardTest, LoginCreateValidateDeployAndFollowLogs) {
  ASSERT_FALSE(std::string(OAK_NODE).empty()) << "node is not installed (see scripts/deps.sh)";
  ASSERT_TRUE(std::filesystem::exists(OAK_WEB_DIR "/node_modules/playwright-core"))
      << "web/node_modules is missing: run `make build` (it runs npm ci in web/)";
  auto index = root().get("/", "");
  ASSERT_EQ(index.status, 200) << "the dashboard is not embedded in oakestra; run `make build`\n"
                               << index.body;

  // OAK_WEB_SCREENSHOTS=<dir> keeps the screenshots (docs/screenshots/ via `make screenshots`).
  const char* keep = std::getenv("OAK_WEB_SCREENSHOTS");
  std::string shots = keep != nullptr && *keep != '\0' ? keep : dir_.file("screenshots");
  Process e2e(
      OAK_NODE,
      {OAK_WEB_DIR "/e2e/run.mjs", "--url", rootUrl(), "--image", image_, "--screenshots", shots},
      {}, dir_.file("e2e.log"));
  bool finished = waitUntil("the browser run finished", 200s, [&] { return !e2e.running(); });
  int code = e2e.stop(SIGKILL);
  EXPECT_TRUE(finished);
  EXPECT_EQ(code, 0) << e2e.log();
  std::cout << e2e.log();
}

}  // namespace
}  // namespace oak::testing
