// The SLA files of examples/ are valid as `oak apply` and the root read them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>

#include "cli/oak/sla_apply.h"
#include "common/json.h"
#include "root/sla/validator.h"

namespace oak::cli {
namespace {

namespace bj = boost::json;

TEST(CliExamplesTest, EverySlaIsValid) {
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(OAK_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".json") continue;
    auto sla = readSla(entry.path().string());
    ASSERT_TRUE(sla) << sla.error().message;
    auto valid = sla::validateSla(*sla);
    EXPECT_TRUE(valid) << entry.path() << ": " << valid.error().message;
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

TEST(CliExamplesTest, NginxHasItsServiceAddressesAndPort) {
  auto sla = readSla(std::string(OAK_EXAMPLES_DIR) + "/nginx.json").value();
  const auto& nginx = sla.at("applications").at(0).at("microservices").at(0).as_object();
  EXPECT_EQ(nginx.at("code"), "docker.io/library/nginx:alpine");
  EXPECT_EQ(nginx.at("port"), "80");
  EXPECT_EQ(nginx.at("addresses").at("rr_ip"), "10.30.55.55");
  EXPECT_EQ(nginx.at("addresses").at("rr_ip_v6"), "fdff:2000::55:55");
  auto curl = readSla(std::string(OAK_EXAMPLES_DIR) + "/curl-client.json").value();
  const auto& client = curl.at("applications").at(0).at("microservices").at(0).as_object();
  EXPECT_EQ(client.at("one_shot"), true);
  EXPECT_NE(json::dump(client.at("cmd")).find("10.30.55.55"), std::string::npos);
}

}  // namespace
}  // namespace oak::cli
