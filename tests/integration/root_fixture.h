#pragma once
// Starts the real `oakestra root` binary on a free port with a temporary data directory.

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "api_client.h"
#include "process.h"
#include "temp_dir.h"

namespace oak::testing {

class RootProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override {
    if (root_ && HasFailure()) std::cerr << "--- oakestra root log ---\n" << root_->log();
  }

  void start(std::vector<std::string> extra = {}) {
    port_ = pickFreePort();
    std::vector<std::string> args = {"root", "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--data-dir", dir_.file("data")};
    args.insert(args.end(), extra.begin(), extra.end());
    root_ = std::make_unique<Process>(binaryPath("oakestra"), args,
                                      std::map<std::string, std::string>{}, dir_.file("root.log"));
    ASSERT_TRUE(waitForPort(port_, std::chrono::seconds(20))) << root_->log();
    api_.emplace(port_);
  }
  int stop() { return root_->stop(); }
  const ApiClient& api() const { return *api_; }

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> root_;
  std::optional<ApiClient> api_;
};

}  // namespace oak::testing
