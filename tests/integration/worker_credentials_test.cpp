// Black-box: a worker whose broker account no longer matches what it holds (here: an operator
// changed its password on the cluster's broker) registers again instead of staying locked out,
// and keeps its identity.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>

#include "hierarchy_fixture.h"

namespace oak::testing {
namespace {

// Runs `mosquitto_rr` with the cluster's admin account: one dynamic security command, answered.
std::string dynsecCommand(uint16_t port, const std::string& admin_password,
                          const std::string& command) {
  std::string cmd = fmt::format(
      "mosquitto_rr -h 127.0.0.1 -p {} -u cluster -P '{}' -W 10 -t '$CONTROL/dynamic-security/v1' "
      "-e '$CONTROL/dynamic-security/v1/response' -m '{{\"commands\":[{}]}}' 2>&1",
      port, admin_password, command);
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

TEST_F(HierarchyTest, AWorkerLockedOutOfTheBrokerRegistersAgain) {
  std::string id = str(workers()["w1"], "id");
  ASSERT_FALSE(id.empty());
  std::string admin_password = readFile(dir_.file("cluster") + "/mqtt-admin-password");
  auto answer = dynsecCommand(
      mqtt_port_, admin_password,
      fmt::format(R"({{"command":"setClientPassword","username":"{}","password":"changed"}})", id));
  ASSERT_NE(answer.find(R"("command":"setClientPassword")"), std::string::npos) << answer;
  ASSERT_EQ(answer.find("error"), std::string::npos) << answer;

  EXPECT_TRUE(eventually("w1 registers again", 20s, [&] {
    return workers_["w1"]->log().find("registered again") != std::string::npos;
  })) << workers_["w1"]->log();
  EXPECT_TRUE(eventually("w1 connected and active again", 15s, [&] {
    auto log = workers_["w1"]->log();
    auto w = workers();
    return log.find("mqtt: connected to", log.find("registered again")) != std::string::npos &&
           w.count("w1") && w["w1"].at("active") == true;
  }));
  EXPECT_EQ(str(workers()["w1"], "id"), id);
  EXPECT_TRUE(workers_["w1"]->running());
  EXPECT_EQ(workers().size(), 2u);
}

}  // namespace
}  // namespace oak::testing
