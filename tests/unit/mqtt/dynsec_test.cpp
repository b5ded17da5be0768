// The dynamic security plugin's commands, responses and account file, without a broker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "mqtt/dynsec.h"
#include "mqtt/dynsec_config.h"

namespace oak::mqtt::dynsec {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(DynsecCommandsTest, BuildsTheCommandsThePluginKnows) {
  EXPECT_EQ(createClient("w1", "pw", "w1-ne"), (bj::object{{"command", "createClient"},
                                                           {"username", "w1"},
                                                           {"password", "pw"},
                                                           {"clientid", "w1-ne"}}));
  EXPECT_FALSE(createClient("w1", "pw").contains("clientid"));
  EXPECT_EQ(
      setClientPassword("w1", "pw2"),
      (bj::object{{"command", "setClientPassword"}, {"username", "w1"}, {"password", "pw2"}}));
  EXPECT_EQ(deleteClient("w1"), (bj::object{{"command", "deleteClient"}, {"username", "w1"}}));
}

TEST(DynsecCommandsTest, ARequestIsAListOfCommands) {
  auto a = deleteClient("a");
  a["correlationData"] = "x-1";
  auto text = encodeRequest({a, deleteClient("b")});
  auto v = json::parse(text);
  ASSERT_TRUE(v);
  const auto& list = v->at("commands").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("correlationData"), "x-1");
  EXPECT_EQ(list[1].at("username"), "b");
}

TEST(DynsecCommandsTest, ReadsResponsesWithErrorsAndData) {
  auto r = decodeResponses(
      R"({"responses":[{"command":"createClient","correlationData":"c1"},)"
      R"({"command":"createClient","error":"Client already exists","correlationData":"c2"},)"
      R"({"command":"listClients","data":{"totalCount":1,"clients":["w1"]}}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].correlation, "c1");
  EXPECT_TRUE((*r)[0].error.empty());
  EXPECT_EQ((*r)[1].error, kClientExists);
  EXPECT_EQ((*r)[2].correlation, "");
  EXPECT_EQ((*r)[2].data.at("totalCount"), 1);
}

TEST(DynsecCommandsTest, RejectsWhatIsNotAResponse) {
  EXPECT_FALSE(decodeResponses("not json"));
  EXPECT_FALSE(decodeResponses(R"({"commands":[]})"));
  EXPECT_FALSE(decodeResponses(R"({"responses":[1]})"));
  EXPECT_TRUE(decodeResponses(R"({"responses":[]})"));
}

// Computed independently (PBKDF2-HMAC-SHA512, salt 01..0c, 101 iterations, 64 bytes).
constexpr const char* kSalt = "AQIDBAUGBwgJCgsM";
constexpr const char* kHash =
    "mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnolJL9TU+/R/F+mbz31mQG16jg==";

TEST(DynsecPasswordTest, VerifiesThePluginsFormat) {
  EXPECT_TRUE(verifyPassword({kHash, kSalt, 101}, "correct horse"));
  EXPECT_FALSE(verifyPassword({kHash, kSalt, 101}, "correct horse "));
  EXPECT_FALSE(verifyPassword({kHash, kSalt, 100}, "correct horse"));
  EXPECT_TRUE(verifyPassword(
      {"gCM7GkSmrKii6MudZtXneCwhVlMo3ICtEtXkx2i+2oImO9EE1kiz6KUXDDpA6uM9h3cDFq4pd1Kx4115hwWTtA==",
       kSalt, 1},
      "x"));
  EXPECT_FALSE(verifyPassword({kHash, "AQID", 101}, "correct horse"));  // short salt
  EXPECT_FALSE(verifyPassword({"!!", kSalt, 101}, "correct horse"));
  EXPECT_FALSE(verifyPassword({kHash, kSalt, 0}, "correct horse"));
}

TEST(DynsecPasswordTest, HashesWithAFreshSaltEachTime) {
  auto a = hashPassword("secret");
  auto b = hashPassword("secret");
  EXPECT_EQ(a.iterations, kIterations);
  EXPECT_EQ(a.salt.size(), 16u);  // 12 bytes
  EXPECT_EQ(a.hash.size(), 88u);  // 64 bytes
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.hash, b.hash);
  EXPECT_TRUE(verifyPassword(a, "secret"));
  EXPECT_TRUE(verifyPassword(b, "secret"));
  EXPECT_FALSE(verifyPassword(a, "Secret"));
}

const Account kAdmin{"cluster", "admin-pw", ""};

bj::object parsed(const std::string& text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v) << text;
  return v ? v->as_object() : bj::object{};
}

const bj::object* client(const bj::object& doc, std::string_view name) {
  for (const auto& c : doc.at("clients").as_array()) {
    if (c.at("username").as_string() == name) return &c.as_object();
  }
  return nullptr;
}

TEST(DynsecConfigTest, AFreshFileHoldsTheAdminWithItsRoleAndTheWorkersWithout) {
  SyncReport report;
  auto text =
      syncConfig(std::nullopt, kAdmin, {{"w1", "pw1", "w1-ne"}, {"w2", "pw2", ""}}, &report);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_THAT(*text, Not(HasSubstr("pw1")));
  EXPECT_THAT(*text, Not(HasSubstr("admin-pw")));
  EXPECT_EQ(report.created, 3u);
  auto doc = parsed(*text);

  // Nothing by default: workers get their rights from the ACL file's patterns.
  for (const auto& [k, v] : doc.at("defaultACLAccess").as_object()) EXPECT_EQ(v, false) << k;
  const auto* admin = client(doc, "cluster");
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->at("roles"), (bj::array{bj::object{{"rolename", kAdminRole}}}));
  EXPECT_TRUE(verifyPassword(
      {std::string(admin->at("password").as_string()), std::string(admin->at("salt").as_string()),
       static_cast<int>(admin->at("iterations").as_int64())},
      "admin-pw"));
  const auto* w1 = client(doc, "w1");
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(w1->at("clientid"), "w1-ne");
  EXPECT_TRUE(w1->at("roles").as_array().empty());
  EXPECT_FALSE(client(doc, "w2")->contains("clientid"));

  const auto& roles = doc.at("roles").as_array();
  ASSERT_EQ(roles.size(), 1u);
  std::vector<std::string> grants;
  for (const auto& acl : roles[0].at("acls").as_array()) {
    if (acl.at("allow") == true) {
      grants.push_back(fmt::format("{} {}", std::string(acl.at("acltype").as_string()),
                                   std::string(acl.at("topic").as_string())));
    }
  }
  EXPECT_THAT(grants, ::testing::IsSupersetOf(
                          {"publishClientSend #", "subscribePattern #", "publishClientReceive #",
                           "publishClientSend $CONTROL/dynamic-security/#",
                           "subscribePattern $CONTROL/dynamic-security/#",
                           "publishClientReceive $CONTROL/dynamic-security/#"}));
}

TEST(DynsecConfigTest, KeepsMatchingEntriesAndFixesTheRest) {
  auto first = syncConfig(std::nullopt, kAdmin,
                          {{"keep", "k", "keep-ne"}, {"rotate", "old", ""}, {"gone", "g", ""}});
  ASSERT_TRUE(first);
  auto before = parsed(*first);

  SyncReport report;
  auto second =
      syncConfig(*first, kAdmin,
                 {{"keep", "k", "keep-ne"}, {"rotate", "new", ""}, {"added", "a", ""}}, &report);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(report.kept, 2u);  // "keep" and the admin
  EXPECT_EQ(report.updated, 1u);
  EXPECT_EQ(report.created, 1u);
  EXPECT_EQ(report.removed, 1u);
  auto after = parsed(*second);

  // An unchanged account keeps its hash: no re-hashing at every start.
  EXPECT_EQ(client(after, "keep")->at("password"), client(before, "keep")->at("password"));
  EXPECT_EQ(client(after, "cluster")->at("salt"), client(before, "cluster")->at("salt"));
  const auto* rotated = client(after, "rotate");
  EXPECT_TRUE(verifyPassword({std::string(rotated->at("password").as_string()),
                              std::string(rotated->at("salt").as_string()), kIterations},
                             "new"));
  EXPECT_NE(client(after, "added"), nullptr);
  EXPECT_EQ(client(after, "gone"), nullptr);

  std::vector<std::string> names;
  for (const auto& c : after.at("clients").as_array()) {
    names.emplace_back(c.at("username").as_string());
  }
  EXPECT_THAT(names, ElementsAre("added", "cluster", "keep", "rotate"));
}

TEST(DynsecConfigTest, AChangedClientIdIsAnUpdate) {
  auto first = syncConfig(std::nullopt, kAdmin, {{"w1", "pw", "w1-ne"}});
  ASSERT_TRUE(first);
  SyncReport report;
  auto second = syncConfig(*first, kAdmin, {{"w1", "pw", "other"}}, &report);
  ASSERT_TRUE(second);
  EXPECT_EQ(report.updated, 1u);
  EXPECT_EQ(client(parsed(*second), "w1")->at("clientid"), "other");
}

TEST(DynsecConfigTest, RefusesAFileThatIsNotThePlugins) {
  EXPECT_FALSE(syncConfig(std::string_view("{"), kAdmin, {}));
  EXPECT_FALSE(syncConfig(std::string_view("[]"), kAdmin, {}));
  EXPECT_FALSE(syncConfig(std::string_view(R"({"clients":[{"password":"x"}]})"), kAdmin, {}));
  // A file without clients (as `mosquitto_ctrl dynsec init` may leave it) is fine.
  EXPECT_TRUE(syncConfig(std::string_view(R"({"roles":[]})"), kAdmin, {}));
}

}  // namespace
}  // namespace oak::mqtt::dynsec
