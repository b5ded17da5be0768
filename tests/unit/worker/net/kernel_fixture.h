#pragma once
// Base of the tests that configure the real kernel: each test runs in a fresh network namespace
// (its "host") and a private mount namespace, so nothing leaks to the machine or between tests.
// ctest runs every test in its own process; when the binary runs several tests, each SetUp just
// starts from new namespaces again.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "temp_dir.h"
#include "worker/net/host_network.h"

namespace oak::worker::testing {

class KernelTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A path for a namespace mount (not created).
  std::string netnsPath(const std::string& name) const;
  // Creates a namespace at netnsPath(name), failing the test if that fails.
  std::string makeNetns(const std::string& name) const;
  // A namespace `name` and the link that would connect it to a bridge (`nsip6` may be null).
  InstanceLink makeInstance(const std::string& name, const char* nsip, const char* nsip6) const;

  // The bridge of the tests: oak0 with 10.18.0.0/26 and fc00::/120.
  static BridgeConfig workerBridge();

 private:
  std::unique_ptr<oak::testing::TempDir> dir_;
};

// Runs a shell command in the caller's namespaces; its stdout (and the exit code, if non-zero,
// as "exit N"). For checks with `ip` and `nft` only.
std::string sh(const std::string& command);

}  // namespace oak::worker::testing
