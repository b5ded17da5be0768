// Black-box tests of `oakestra root`: the real binary, driven over HTTP.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "root_fixture.h"

namespace oak::testing {
namespace {

namespace bj = boost::json;
using oak::http::Method;

bj::value slaFile(const std::string& name) {
  std::ifstream in(std::string(OAK_SLA_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return bj::parse(ss.str());
}

bj::object twoServiceSla(const std::string& app = "clientsrv") {
  return bj::object{
      {"sla_version", "v2.0"},
      {"customerID", "Admin"},
      {"applications",
       bj::array{bj::object{
           {"application_name", app},
           {"application_namespace", "test"},
           {"application_desc", "two services"},
           {"microservices",
            bj::array{bj::object{{"microserviceID", ""},
                                 {"microservice_name", "curl"},
                                 {"microservice_namespace", "test"},
                                 {"virtualization", "container"},
                                 {"cmd", bj::array{"sh", "-c", "tail -f /dev/null"}},
                                 {"memory", 100},
                                 {"vcpus", 1},
                                 {"code", "docker.io/curlimages/curl:7.82.0"},
                                 {"port", "9080"}},
                      bj::object{{"microserviceID", ""},
                                 {"microservice_name", "nginx"},
                                 {"microservice_namespace", "test"},
                                 {"virtualization", "container"},
                                 {"memory", 100},
                                 {"code", "docker.io/library/nginx:latest"},
                                 {"port", "6080:60/tcp"},
                                 {"addresses", bj::object{{"rr_ip", "10.30.30.30"}}}}}}}}}};
}

std::string str(const bj::value& v, std::string_view key) {
  return v.is_object() ? oak::json::getString(v.get_object(), key).value_or("") : "";
}

class RootApiTest : public RootProcessTest {
 protected:
  std::string adminToken() {
    if (token_.empty()) token_ = api().login("Admin", "Admin");
    return token_;
  }
  // Creates the two-service application; returns its id.
  std::string createApp(const std::string& name = "clientsrv") {
    auto r = api().post("/api/application/", twoServiceSla(name), adminToken());
    EXPECT_EQ(r.status, 200) << r.body;
    if (!r.json.is_array()) return "";
    for (const auto& a : r.json.get_array()) {
      if (str(a, "application_name") == name) return str(a, "applicationID");
    }
    return "";
  }
  std::string token_;
};

TEST_F(RootApiTest, FirstLoginIsAdminWithAllRolesInRoot) {
  auto r = api().post("/api/auth/login", bj::object{{"username", "Admin"}, {"password", "Admin"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto claims = jwtClaims(str(r.json, "token"));
  EXPECT_EQ(claims["sub"], "Admin");
  EXPECT_EQ(claims["user"], "Admin");
  EXPECT_EQ(claims["type"], "access");
  EXPECT_EQ(claims["roles"], (bj::array{"Admin", "Organization_Admin", "Application_Provider",
                                        "Infrastructure_Provider"}));
  EXPECT_EQ(claims["exp"].as_int64() - claims["iat"].as_int64(), 600);
  auto refresh = jwtClaims(str(r.json, "refresh_token"));
  EXPECT_EQ(refresh["type"], "refresh");
  EXPECT_EQ(refresh["exp"].as_int64() - refresh["iat"].as_int64(), 604800);
  EXPECT_NE(root_->log().find("change it"), std::string::npos)
      << "first start warns about Admin/Admin";
}

TEST_F(RootApiTest, LifecycleSurvivesRestartWithTheSameToken) {
  std::string token = adminToken();
  std::string app_id = createApp();
  ASSERT_EQ(app_id.size(), 24u);

  auto services = api().get("/api/services/" + app_id, token);
  ASSERT_EQ(services.status, 200) << services.body;
  ASSERT_TRUE(services.json.is_array());
  ASSERT_EQ(services.json.get_array().size(), 2u);
  std::map<std::string, bj::object> by_name;
  for (const auto& s : services.json.get_array())
    by_name[str(s, "microservice_name")] = s.get_object();
  auto& nginx = by_name["nginx"];
  EXPECT_EQ(nginx["job_name"], "clientsrv.test.nginx.test");
  EXPECT_EQ(by_name["curl"]["job_name"], "clientsrv.test.curl.test");
  EXPECT_EQ(nginx["virtualization"], "docker");
  EXPECT_EQ(nginx["image"], "docker.io/library/nginx:latest");
  EXPECT_EQ(nginx["RR_ip"], "10.30.30.30");
  EXPECT_EQ(nginx["next_instance_progressive_number"], 0);
  EXPECT_EQ(nginx["instance_list"], bj::array{});
  std::string service_id = str(nginx, "microserviceID");
  EXPECT_EQ(str(nginx["_id"], "$oid"), service_id);
  const auto& ips = nginx["service_ip_list"].at(0).as_object();
  EXPECT_EQ(ips.at("IpType"), "RR");
  EXPECT_EQ(ips.at("Address"), "10.30.30.30");
  EXPECT_TRUE(std::string(ips.at("Address_v6").as_string()).starts_with("fdff:2"));
  // Its closest pair follows; curl, staged first, took 10.30.0.1 and .2 (round robin, closest).
  EXPECT_EQ(nginx["service_ip_list"].at(1),
            (bj::object{
                {"IpType", "Closest"}, {"Address", "10.30.0.3"}, {"Address_v6", "fdff:1000::2"}}));
  // The other service got an automatic address from the same plan.
  EXPECT_TRUE(str(by_name["curl"], "RR_ip").starts_with("10.30."));

  // Scale up: the request is accepted, and with no cluster the scheduler says so.
  auto up = api().call(Method::kPost, "/api/service/" + service_id + "/instance", "", token);
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.json, (bj::object{{"message", "ok"}}));
  std::string status;
  for (int i = 0; i < 200 && status != "NoActiveClusterWithCapacity"; ++i) {
    status = str(api().get("/api/service/" + service_id, token).json, "status");
    if (status != "NoActiveClusterWithCapacity")
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, "NoActiveClusterWithCapacity");
  auto down = api().call(Method::kDelete, "/api/service/" + service_id + "/instance/-1", "", token);
  EXPECT_EQ(down.status, 200) << down.body;

  // Restart: everything is still there, and the old token still works.
  auto before = api().get("/api/services/" + app_id, token);
  ASSERT_EQ(stop(), 0);
  start();
  auto again = api().get("/api/services/" + app_id, token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json, before.json);
  EXPECT_EQ(again.json.get_array().size(), 2u);
  auto svc = api().get("/api/service/" + service_id, token);
  EXPECT_EQ(str(svc.json, "status"), "NoActiveClusterWithCapacity");

  // Delete one service, then the application: both are really gone, and the address is free.
  auto del = api().call(Method::kDelete, "/api/service/" + service_id, "", token);
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json, (bj::object{{"message", "Job deleted"}}));
  EXPECT_EQ(api().get("/api/service/" + service_id, token).status, 404);
  auto app = api().get("/api/application/" + app_id, token);
  EXPECT_EQ(app.json.at("microservices").as_array().size(), 1u);
  EXPECT_EQ(api().call(Method::kDelete, "/api/application/" + app_id, "", token).status, 200);
  EXPECT_EQ(api().get("/api/application/" + app_id, token).status, 404);
  EXPECT_EQ(api().get("/api/services/" + app_id, token).status, 404);
  // 10.30.30.30 can be requested again.
  EXPECT_FALSE(createApp("again").empty());
}

TEST_F(RootApiTest, PathsWorkWithAndWithoutTrailingSlash) {
  std::string token = adminToken();
  EXPECT_EQ(api().get("/api/clusters", token).status, 200);
  EXPECT_EQ(api().get("/api/clusters/", token).status, 200);
  EXPECT_EQ(api().get("/api/clusters/active/", token).json, bj::array{});
  EXPECT_EQ(api()
                .post("/api/auth/login/", bj::object{{"username", "Admin"}, {"password", "Admin"}})
                .status,
            200);
}

TEST_F(RootApiTest, AuthenticationFailuresAreClear) {
  auto missing = api().get("/api/applications/");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.json.at("code"), 401);
  EXPECT_EQ(missing.json.at("status"), "Unauthorized");
  EXPECT_NE(missing.message().find("Authorization"), std::string::npos);

  auto wrong =
      api().post("/api/auth/login", bj::object{{"username", "Admin"}, {"password", "nope"}});
  EXPECT_EQ(wrong.status, 401);
  auto unknown =
      api().post("/api/auth/login", bj::object{{"username", "ghost"}, {"password", "x"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.message(), wrong.message()) << "no hint whether the user exists";
  auto org = api().post(
      "/api/auth/login",
      bj::object{{"username", "Admin"}, {"password", "Admin"}, {"organization_name", "nope"}});
  EXPECT_EQ(org.status, 404);
  EXPECT_NE(org.message().find("organization_name"), std::string::npos);
  auto no_user = api().post("/api/auth/login", bj::object{{"password", "x"}});
  EXPECT_EQ(no_user.status, 422);
  EXPECT_NE(no_user.message().find("username"), std::string::npos);

  auto login =
      api().post("/api/auth/login", bj::object{{"username", "Admin"}, {"password", "Admin"}});
  std::string refresh = str(login.json, "refresh_token");
  auto as_access = api().get("/api/clusters", refresh);
  EXPECT_EQ(as_access.status, 401);
  EXPECT_NE(as_access.message().find("refresh"), std::string::npos);
  auto renewed = api().call(Method::kPost, "/api/auth/refresh", "", refresh);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  EXPECT_EQ(api().get("/api/clusters", str(renewed.json, "token")).status, 200);
  auto access_as_refresh =
      api().call(Method::kPost, "/api/auth/refresh", "", str(login.json, "token"));
  EXPECT_EQ(access_as_refresh.status, 401);

  std::string tampered = str(login.json, "token");
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(api().get("/api/clusters", tampered).status, 401);
  EXPECT_EQ(api().get("/api/clusters", "not.a.jwt").status, 401);
}

TEST_F(RootApiTest, TokensExpire) {
  stop();
  start({"--access-token-ttl", "1"});
  std::string token = api().login("Admin", "Admin");
  ASSERT_EQ(api().get("/api/clusters", token).status, 200);
  auto exp = jwtClaims(token)["exp"].as_int64();
  // Bounded wait for the wall clock to pass the expiry (at most ~2 s).
  while (std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() < exp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto r = api().get("/api/clusters", token);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.message().find("expired"), std::string::npos);
}

TEST_F(RootApiTest, RolesAreEnforced) {
  std::string admin = adminToken();
  auto reg = api().post("/api/auth/register",
                        bj::object{{"name", "bob"},
                                   {"password", "pw"},
                                   {"email", "b@x"},
                                   {"roles", bj::array{"Application_Provider"}}},
                        admin);
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(reg.json.at("name"), "bob");
  EXPECT_EQ(reg.json.at("roles"), bj::array{"Application_Provider"});
  EXPECT_FALSE(reg.json.as_object().contains("password")) << "hashes never leave the server";
  auto dup =
      api().post("/api/auth/register", bj::object{{"name", "bob"}, {"password", "x"}}, admin);
  EXPECT_EQ(dup.status, 409);

  std::string bob = api().login("bob", "pw");
  EXPECT_EQ(jwtClaims(bob)["roles"], bj::array{"Application_Provider"});
  auto users = api().get("/api/users/", bob);
  EXPECT_EQ(users.status, 403);
  EXPECT_NE(users.message().find("Admin"), std::string::npos);
  EXPECT_EQ(api().get("/api/permission/Admin", bob).status, 403);
  EXPECT_EQ(api().get("/api/permission/bob", bob).json,
            (bj::object{{"roles", bj::array{"Application_Provider"}}}));
  EXPECT_EQ(
      api().post("/api/auth/register", bj::object{{"name", "eve"}, {"password", "x"}}, bob).status,
      403);

  // bob's applications are his own: Admin sees them, another user would not.
  auto created = api().post("/api/application", twoServiceSla("bobsapp"), bob);
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_EQ(created.json.as_array().size(), 1u);
  std::string app_id = str(created.json.at(0), "applicationID");
  EXPECT_EQ(created.json.at(0).at("userId"), "bob");
  EXPECT_EQ(api().get("/api/application/" + app_id, admin).status, 200);
  auto reg2 =
      api().post("/api/auth/register", bj::object{{"name", "carol"}, {"password", "pw"}}, admin);
  ASSERT_EQ(reg2.status, 200);
  std::string carol = api().login("carol", "pw");
  EXPECT_EQ(api().get("/api/application/" + app_id, carol).status, 404);
  EXPECT_EQ(api().get("/api/services/" + app_id, carol).status, 404);

  // Password change: wrong old password, same password, then success.
  auto wrong_old =
      api().post("/api/user/bob", bj::object{{"oldPassword", "x"}, {"newPassword", "pw2"}}, bob);
  EXPECT_EQ(wrong_old.status, 403);
  auto same =
      api().post("/api/user/bob", bj::object{{"oldPassword", "pw"}, {"newPassword", "pw"}}, bob);
  EXPECT_EQ(same.status, 422);
  auto ok =
      api().post("/api/user/bob", bj::object{{"oldPassword", "pw"}, {"newPassword", "pw2"}}, bob);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(
      api().post("/api/auth/login", bj::object{{"username", "bob"}, {"password", "pw"}}).status,
      401);
  EXPECT_FALSE(api().login("bob", "pw2").empty());

  // A user who still owns applications cannot be deleted (a namesake would inherit them).
  auto owns = api().call(Method::kDelete, "/api/user/bob", "", admin);
  EXPECT_EQ(owns.status, 409);
  EXPECT_NE(owns.message().find("application"), std::string::npos);
  EXPECT_EQ(api().call(Method::kDelete, "/api/application/" + app_id, "", bob).status, 200);
  // A deleted user's token stops working at once.
  EXPECT_EQ(api().call(Method::kDelete, "/api/user/bob", "", admin).status, 200);
  EXPECT_EQ(api().get("/api/permission/bob", bob).status, 401);
}

TEST_F(RootApiTest, BadInputGetsA4xxAndChangesNothing) {
  std::string token = adminToken();
  auto raw = [&](const std::string& body) {
    return api().call(Method::kPost, "/api/application", body, token);
  };
  auto malformed = raw("{\"sla_version\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.message().find("malformed JSON"), std::string::npos);
  EXPECT_EQ(raw("[1,2]").status, 422);
  EXPECT_EQ(raw("").status, 400);

  auto bad_name = twoServiceSla();
  bad_name["applications"].at(0).at("microservices").at(1).as_object()["microservice_name"] = "a.b";
  auto r = api().post("/api/application", bad_name, token);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.message(),
            "applications[0].microservices[1].microservice_name: 'a.b' does not match "
            "^[a-zA-Z0-9]{1,30}$");

  auto bad_port = twoServiceSla();
  bad_port["applications"].at(0).at("microservices").at(0).as_object()["port"] = 80;
  EXPECT_EQ(api().post("/api/application", bad_port, token).status, 422);

  auto out_of_range = twoServiceSla();
  out_of_range["applications"].at(0).at("microservices").at(1).as_object()["addresses"] =
      bj::object{{"rr_ip", "10.31.0.1"}};
  auto oor = api().post("/api/application", out_of_range, token);
  EXPECT_EQ(oor.status, 422);
  EXPECT_NE(oor.message().find("rr_ip"), std::string::npos);
  auto bad_v6 = twoServiceSla();
  bad_v6["applications"].at(0).at("microservices").at(1).as_object()["addresses"] =
      bj::object{{"rr_ip_v6", "fdff:1000::1"}};
  EXPECT_EQ(api().post("/api/application", bad_v6, token).status, 422);

  // None of the refused requests left anything behind.
  EXPECT_EQ(api().get("/api/applications/", token).json, bj::array{});
  EXPECT_EQ(api().get("/api/services/", token).json, bj::array{});

  // Conflicts: the same application twice, an address already taken.
  createApp();
  auto dup = api().post("/api/application", twoServiceSla(), token);
  EXPECT_EQ(dup.status, 409);
  auto taken = twoServiceSla("other");
  auto t = api().post("/api/application", taken, token);
  EXPECT_EQ(t.status, 409);
  EXPECT_NE(t.message().find("10.30.30.30"), std::string::npos);
  EXPECT_EQ(api().get("/api/applications/", token).json.as_array().size(), 1u);
  EXPECT_EQ(api().get("/api/services/", token).json.as_array().size(), 2u);

  // Ids: malformed → 400, unknown → 404, instance numbers must be numbers.
  auto bad_id = api().get("/api/service/xyz", token);
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(bad_id.message().find("service_id"), std::string::npos);
  EXPECT_EQ(api().get("/api/service/0123456789abcdef01234567", token).status, 404);
  EXPECT_EQ(
      api()
          .call(Method::kDelete, "/api/service/0123456789abcdef01234567/instance/x", "", token)
          .status,
      400);

  // Too large a body is refused before it is read.
  auto huge = api().call(Method::kPost, "/api/application", std::string(2 << 20, ' '), token);
  EXPECT_EQ(huge.status, 413);
  // Unknown endpoint and wrong method.
  EXPECT_EQ(api().get("/api/nope", token).status, 404);
  auto method = api().call(Method::kPatch, "/api/clusters", "", token);
  EXPECT_EQ(method.status, 405);
  EXPECT_FALSE(method.header("allow").empty());
  // The server is still healthy after all of this.
  EXPECT_EQ(api().get("/healthz").status, 200);
}

TEST_F(RootApiTest, ServicesCanBeAddedToAnApplicationAndUpdated) {
  std::string token = adminToken();
  std::string app_id = createApp();
  auto sla = twoServiceSla();
  auto& app = sla["applications"].at(0).as_object();
  app["applicationID"] = app_id;
  app["microservices"] = bj::array{bj::object{{"microservice_name", "extra"},
                                              {"microservice_namespace", "test"},
                                              {"virtualization", "container"},
                                              {"code", "docker.io/library/busybox:latest"},
                                              {"one_shot", true}}};
  auto added = api().post("/api/service", sla, token);
  ASSERT_EQ(added.status, 200) << added.body;
  std::string id = str(added.json, "job_id");
  auto svc = api().get("/api/service/" + id, token);
  EXPECT_EQ(svc.json.at("job_name"), "clientsrv.test.extra.test");
  EXPECT_EQ(svc.json.at("one_shot"), true);
  EXPECT_EQ(api().get("/api/services/" + app_id, token).json.as_array().size(), 3u);

  // PUT replaces the definition, keeps ids and addresses.
  auto update = sla;
  auto& ms = update["applications"].at(0).at("microservices").at(0).as_object();
  ms["memory"] = 256;
  ms["microserviceID"] = id;
  auto put = api().call(Method::kPut, "/api/service/" + id, bj::serialize(update), token);
  ASSERT_EQ(put.status, 200) << put.body;
  auto after = api().get("/api/service/" + id, token);
  EXPECT_EQ(after.json.at("memory"), 256);
  EXPECT_EQ(str(after.json, "microserviceID"), id);
  EXPECT_EQ(after.json.at("RR_ip"), svc.json.at("RR_ip"));

  // Unknown application → 404; missing applicationID → 422.
  app["applicationID"] = "0123456789abcdef01234567";
  EXPECT_EQ(api().post("/api/service", sla, token).status, 404);
  app.erase("applicationID");
  EXPECT_EQ(api().post("/api/service", sla, token).status, 422);
}

TEST_F(RootApiTest, OriginalSlaFilesAreAcceptedOrRefusedLikeTheSchemaSays) {
  std::string token = adminToken();
  for (const char* good :
       {"sla_correct_2.json", "sla_correct_3.json", "sla_correct_4.json", "example_curl.json"}) {
    auto r = api().post("/api/application", slaFile(good), token);
    EXPECT_EQ(r.status, 200) << good << ": " << r.body;
    // Both files name their application test/test: remove it before the next one.
    for (const auto& app : r.json.is_array() ? r.json.get_array() : bj::array{}) {
      api().call(Method::kDelete, "/api/application/" + str(app, "applicationID"), "", token);
    }
  }
  // sla_correct_1 is schema-valid, but asks for 192.168.178.4 as its service address, which is
  // outside the overlay's service range: the address manager refuses it by name.
  auto r1 = api().post("/api/application", slaFile("sla_correct_1.json"), token);
  EXPECT_EQ(r1.status, 422) << r1.body;
  EXPECT_NE(r1.message().find("addresses.rr_ip: 192.168.178.4 is outside"), std::string::npos);
  for (const char* bad : {"sla_flawed_1.json", "sla_flawed_2.json", "sla_flawed_3.json",
                          "sla_flawed_4.json", "sla_flawed_5.json"}) {
    auto r = api().post("/api/application", slaFile(bad), token);
    EXPECT_EQ(r.status, 422) << bad << ": " << r.body;
    EXPECT_FALSE(r.message().empty()) << bad;
  }
  EXPECT_EQ(api().get("/api/applications/", token).json, bj::array{});
}

TEST_F(RootApiTest, FreeServiceIpIsTheNextAllocation) {
  std::string token = adminToken();
  auto free1 = api().get("/api/net/free-service-ip", token);
  ASSERT_EQ(free1.status, 200) << free1.body;
  EXPECT_EQ(free1.json.at("ipv4"), "10.30.0.1");
  EXPECT_EQ(free1.json.at("ipv6"), "fdff:2000::1");
  EXPECT_EQ(api().get("/api/net/free-service-ip", token).json, free1.json)
      << "asking does not allocate";
  auto sla = twoServiceSla();
  sla["applications"].at(0).at("microservices").as_array().resize(1);  // just curl, automatic IPs
  ASSERT_EQ(api().post("/api/application", sla, token).status, 200);
  auto svc = api().get("/api/services/", token).json.at(0);
  EXPECT_EQ(svc.at("RR_ip"), "10.30.0.1");
  EXPECT_EQ(svc.at("RR_ip_v6"), "fdff:2000::1");
  // The closest IPv4 comes from the same pool, right after the round-robin one.
  EXPECT_EQ(svc.at("service_ip_list").at(1),
            (bj::object{
                {"IpType", "Closest"}, {"Address", "10.30.0.2"}, {"Address_v6", "fdff:1000::1"}}));
  EXPECT_EQ(api().get("/api/net/free-service-ip", token).json.at("ipv4"), "10.30.0.3");
}

TEST_F(RootApiTest, OpenApiDocumentMatchesTheServedRoutes) {
  auto doc = api().get("/api/docs/openapi.json");
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.json.at("openapi"), "3.0.3");
  const auto& paths = doc.json.at("paths").as_object();
  EXPECT_GE(paths.size(), 25u);
  std::string token = adminToken();
  // Every documented operation exists: calling it never yields "no such endpoint" or 405.
  for (const auto& [path, ops] : paths) {
    std::string concrete(path);
    for (auto pos = concrete.find('{'); pos != std::string::npos; pos = concrete.find('{')) {
      concrete.replace(pos, concrete.find('}', pos) - pos + 1, "0123456789abcdef01234567");
    }
    for (const auto& [method, op] : ops.as_object()) {
      auto m = oak::http::methodFromName(std::string(method) == "get" ? "GET"
                                         : method == "post"           ? "POST"
                                         : method == "put"            ? "PUT"
                                                                      : "DELETE");
      auto r = api().call(m, concrete, "{}", token);
      EXPECT_NE(r.status, 405) << method << " " << concrete;
      EXPECT_TRUE(r.status != 404 || r.message().find("no such endpoint") == std::string::npos)
          << method << " " << concrete << " is documented but not served";
      // What the document says about authentication is what the route does.
      bool secured = op.as_object().contains("security");
      auto anon = api().call(m, concrete, "{}");
      // WebSocket endpoints check their token at the upgrade (covered by the cluster link tests).
      if (anon.status == 426) continue;
      EXPECT_EQ(anon.status == 401, secured) << method << " " << concrete << ": " << anon.body;
    }
  }
  for (const char* must :
       {"/api/auth/login", "/api/application", "/api/service/{service_id}/instance",
        "/api/service/{service_id}/instance/{instance_number}",
        "/api/service/{service_id}/instance/{instance_number}/logs", "/api/clusters/active",
        "/api/net/free-service-ip"}) {
    EXPECT_TRUE(paths.contains(must)) << must;
  }
}

TEST_F(RootApiTest, CorsPreflightIsAnswered) {
  auto r =
      api().call(Method::kOptions, "/api/application", "", "",
                 {{"Origin", "http://dash.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_NE(r.header("access-control-allow-headers").find("Authorization"), std::string::npos);
}

TEST_F(RootApiTest, SigningKeyAndDatabaseArePrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("data/jwt-signing-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.file("data/root.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  EXPECT_EQ(root_->log().find(adminToken()), std::string::npos);
}

}  // namespace
}  // namespace oak::testing
