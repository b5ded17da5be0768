// Applications and services: creation from SLAs, visibility, updates, deletion with their
// addresses, instance removal, and all-or-nothing writes when the store fails.

#include "root/applications.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "common/json.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;
using test::microservice;
using test::slaOf;

// `service_ip_list` entries of the round-robin and the closest policy.
bj::object rrIps(const char* v4, const char* v6) {
  return bj::object{{"IpType", "RR"}, {"Address", v4}, {"Address_v6", v6}};
}
bj::object closestIps(const char* v4, const char* v6) {
  return bj::object{{"IpType", "Closest"}, {"Address", v4}, {"Address_v6", v6}};
}

class ApplicationsTest : public test::RootFixture {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    alice = addUser("alice");
    bob = addUser("bob");
  }

  // The SLA of the reference client/server application: curl asks for its IPv4 address.
  static bj::value clientServerSla() {
    return slaOf(
        "clientsrvr",
        bj::array{microservice("curl", {{"addresses", bj::object{{"rr_ip", "10.30.55.55"}}}}),
                  microservice("nginx", {{"port", "80:80/tcp"}})});
  }

  // Creates the client/server application as alice; returns it.
  bj::object createClientServer() {
    auto apps = applications.createApplications(alice, clientServerSla());
    EXPECT_TRUE(apps) << test::errorText(apps);
    if (!apps || apps->size() != 1) return {};
    app_id = Accounts::idOf(apps->at(0).as_object());
    auto ids = serviceIds(apps->at(0).as_object());
    EXPECT_EQ(ids.size(), 2u);
    if (ids.size() == 2) {
      curl_id = ids[0];
      nginx_id = ids[1];
    }
    return apps->at(0).as_object();
  }

  static std::vector<std::string> serviceIds(const bj::object& app) {
    std::vector<std::string> ids;
    for (const auto& v : app.at("microservices").as_array()) ids.emplace_back(v.as_string());
    return ids;
  }

  std::optional<bj::object> stored(const char* collection, const std::string& id) {
    return memory.get(collection, id).value();
  }

  // The `service_ip_list` entry of one balancing policy ("RR", "Closest") of a service.
  static std::optional<bj::object> ipEntry(const bj::object& service, std::string_view ip_type) {
    const auto* list = json::findArray(service, "service_ip_list");
    if (list == nullptr) return std::nullopt;
    for (const auto& entry : *list) {
      if (entry.is_object() && json::getString(entry.get_object(), "IpType") == ip_type)
        return entry.get_object();
    }
    return std::nullopt;
  }

  // The `service_ip_list` addresses of every stored address document, by owner.
  std::vector<std::string> addressesOf(const std::string& service_id) {
    std::vector<std::string> out;
    for (const auto& a : all(coll::kAddresses)) {
      if (json::getString(a, "service_id") == service_id)
        out.push_back(json::getString(a, "address").value_or(""));
    }
    return out;
  }

  static void expectError(const Status& s, ErrorCode code, std::string_view text = {}) {
    ASSERT_FALSE(s) << "expected an error";
    EXPECT_EQ(s.error().code, code) << s.error().message;
    EXPECT_NE(s.error().message.find(text), std::string::npos) << s.error().message;
  }
  template <class T>
  static void expectError(const Result<T>& r, ErrorCode code, std::string_view text = {}) {
    ASSERT_FALSE(r) << "expected an error";
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  }

  Caller alice;
  Caller bob;
  std::string app_id;
  std::string curl_id;
  std::string nginx_id;
};

// ---- Creation. ----

TEST_F(ApplicationsTest, CreatesTheApplicationAndItsServices) {
  auto app = createClientServer();
  ASSERT_FALSE(app_id.empty());
  EXPECT_EQ(json::getString(app, "applicationID"), app_id);
  EXPECT_EQ(json::getString(app, "application_name"), "clientsrvr");
  EXPECT_EQ(json::getString(app, "application_namespace"), "test");
  EXPECT_EQ(json::getString(app, "application_desc"), "a test app");
  EXPECT_EQ(json::getString(app, "userId"), "alice");

  auto curl = stored(coll::kServices, curl_id);
  auto nginx = stored(coll::kServices, nginx_id);
  ASSERT_TRUE(curl && nginx);
  EXPECT_EQ(json::getString(*curl, "job_name"), "clientsrvr.test.curl.test");
  EXPECT_EQ(json::getString(*nginx, "job_name"), "clientsrvr.test.nginx.test");
  EXPECT_EQ(json::getString(*curl, "microserviceID"), curl_id);
  EXPECT_EQ(Accounts::idOf(*curl), curl_id);
  EXPECT_EQ(json::getString(*curl, "applicationID"), app_id);
  EXPECT_EQ(json::getString(*curl, "app_name"), "clientsrvr");
  EXPECT_EQ(json::getString(*curl, "service_name"), "curl");
  EXPECT_EQ(json::getString(*curl, "virtualization"), "docker");
  EXPECT_EQ(json::getString(*curl, "image"), "docker.io/library/curl:latest");
  EXPECT_EQ(json::getString(*nginx, "port"), "80:80/tcp");
  EXPECT_EQ(json::getInt(*curl, "next_instance_progressive_number"), 0);
  EXPECT_TRUE(curl->at("instance_list").as_array().empty());

  // curl got the IPv4 address it asked for, everything else is allocated in order: per service
  // round-robin v4 and v6, then closest v4 and v6, the IPv4s of both from one pool.
  EXPECT_EQ(json::getString(*curl, "RR_ip"), "10.30.55.55");
  EXPECT_EQ(json::getString(*curl, "RR_ip_v6"), "fdff:2000::1");
  EXPECT_EQ(json::getString(*nginx, "RR_ip"), "10.30.0.2");
  EXPECT_EQ(json::getString(*nginx, "RR_ip_v6"), "fdff:2000::2");
  EXPECT_EQ(curl->at("service_ip_list"), (bj::array{rrIps("10.30.55.55", "fdff:2000::1"),
                                                    closestIps("10.30.0.1", "fdff:1000::1")}));
  EXPECT_EQ(nginx->at("service_ip_list"), (bj::array{rrIps("10.30.0.2", "fdff:2000::2"),
                                                     closestIps("10.30.0.3", "fdff:1000::2")}));
  EXPECT_EQ(ipEntry(*nginx, "Closest"), closestIps("10.30.0.3", "fdff:1000::2"));
  EXPECT_EQ(addressesOf(curl_id),
            (std::vector<std::string>{"10.30.0.1", "10.30.55.55", "fdff:1000::1", "fdff:2000::1"}));
  EXPECT_EQ(addressesOf(nginx_id),
            (std::vector<std::string>{"10.30.0.2", "10.30.0.3", "fdff:1000::2", "fdff:2000::2"}));
  EXPECT_EQ(all(coll::kAddresses).size(), 8u);
  EXPECT_EQ(all(coll::kServices).size(), 2u);
}

TEST_F(ApplicationsTest, CreationReturnsAllApplicationsOfTheCaller) {
  createClientServer();
  auto second =
      applications.createApplications(alice, slaOf("other", bj::array{microservice("web")}));
  ASSERT_TRUE(second) << test::errorText(second);
  EXPECT_EQ(second->size(), 2u);
  auto bobs = applications.createApplications(bob, slaOf("bobs", bj::array{microservice("web")}));
  ASSERT_TRUE(bobs);
  ASSERT_EQ(bobs->size(), 1u);
  EXPECT_EQ(json::getString(bobs->at(0).as_object(), "userId"), "bob");
}

TEST_F(ApplicationsTest, DuplicatesAreConflicts) {
  createClientServer();
  auto before = snapshot();
  // The same name in the same namespace, even with other services.
  expectError(
      applications.createApplications(bob, slaOf("clientsrvr", bj::array{microservice("x")})),
      ErrorCode::kConflict, "applications[0].application_name");
  // The same service twice in one request.
  expectError(applications.createApplications(
                  alice, slaOf("twice", bj::array{microservice("web"), microservice("web")})),
              ErrorCode::kConflict, "applications[0].microservices[1].microservice_name");
  // The same application twice in one request.
  bj::value two_apps = slaOf("dup", bj::array{microservice("a")});
  auto& list = two_apps.as_object()["applications"].as_array();
  bj::value copy = list[0];
  list.push_back(std::move(copy));
  list[1].as_object()["microservices"] = bj::array{microservice("b")};
  expectError(applications.createApplications(alice, two_apps), ErrorCode::kConflict,
              "applications[1].application_name");
  // A service the application already has.
  expectError(applications.createServices(
                  alice, slaOf("clientsrvr", bj::array{microservice("curl")}, "test", app_id)),
              ErrorCode::kConflict, "microservice_name");
  EXPECT_EQ(snapshot(), before);

  // The same name in another namespace is another application.
  auto other_ns = applications.createApplications(
      bob, slaOf("clientsrvr", bj::array{microservice("curl")}, "prod"));
  ASSERT_TRUE(other_ns) << test::errorText(other_ns);
}

TEST_F(ApplicationsTest, InvalidSlaIsRejectedBeforeAnythingHappens) {
  auto before = snapshot();
  int applies = store.applies();
  expectError(
      applications.createApplications(alice, slaOf("bad name", bj::array{microservice("a")})),
      ErrorCode::kUnprocessable, "application_name");
  expectError(
      applications.createApplications(
          alice, slaOf("app", bj::array{microservice(
                                  "a", {{"addresses", bj::object{{"rr_ip", "10.31.0.1"}}}})})),
      ErrorCode::kUnprocessable, "applications[0].microservices[0].addresses.rr_ip");
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(store.applies(), applies);
}

TEST_F(ApplicationsTest, ServicesAreAddedToAnExistingApplication) {
  createClientServer();
  auto id = applications.createServices(
      alice, slaOf("clientsrvr", bj::array{microservice("db")}, "test", app_id));
  ASSERT_TRUE(id) << test::errorText(id);
  auto app = stored(coll::kApplications, app_id);
  ASSERT_TRUE(app);
  EXPECT_EQ(serviceIds(*app), (std::vector<std::string>{curl_id, nginx_id, *id}));
  auto db = stored(coll::kServices, *id);
  ASSERT_TRUE(db);
  EXPECT_EQ(json::getString(*db, "job_name"), "clientsrvr.test.db.test");
  EXPECT_EQ(json::getString(*db, "RR_ip"), "10.30.0.4");
  EXPECT_EQ(ipEntry(*db, "Closest"), closestIps("10.30.0.5", "fdff:1000::3"));
  EXPECT_EQ(addressesOf(*id).size(), 4u);

  expectError(applications.createServices(alice, slaOf("clientsrvr", bj::array{microservice("x")})),
              ErrorCode::kUnprocessable, "applicationID");
  expectError(applications.createServices(alice, slaOf("clientsrvr", bj::array{}, "test", app_id)),
              ErrorCode::kUnprocessable, "microservices");
  expectError(applications.createServices(
                  bob, slaOf("clientsrvr", bj::array{microservice("x")}, "test", app_id)),
              ErrorCode::kNotFound);
}

// ---- Visibility. ----

TEST_F(ApplicationsTest, OtherUsersSeeNothing) {
  createClientServer();
  auto before = snapshot();
  expectError(applications.getApplication(bob, app_id), ErrorCode::kNotFound, app_id);
  expectError(applications.getService(bob, curl_id), ErrorCode::kNotFound, curl_id);
  expectError(applications.listServices(bob, app_id), ErrorCode::kNotFound);
  expectError(applications.updateApplication(bob, app_id, bj::object{{"application_desc", "x"}}),
              ErrorCode::kNotFound);
  expectError(applications.updateService(bob, curl_id,
                                         slaOf("clientsrvr", bj::array{microservice("curl")})),
              ErrorCode::kNotFound);
  expectError(applications.deleteService(bob, curl_id), ErrorCode::kNotFound);
  expectError(applications.deleteApplication(bob, app_id), ErrorCode::kNotFound);
  expectError(applications.requestInstance(bob, curl_id), ErrorCode::kNotFound);
  expectError(applications.removeInstances(bob, curl_id, "-1"), ErrorCode::kNotFound);
  auto mine = applications.listApplicationsOfUser(bob, bob.user_id);
  ASSERT_TRUE(mine);
  EXPECT_TRUE(mine->empty());
  expectError(applications.listApplicationsOfUser(bob, alice.user_id),
              ErrorCode::kPermissionDenied);
  EXPECT_EQ(snapshot(), before);

  // Ids that are not ids are bad requests, whoever asks.
  expectError(applications.getApplication(alice, "nope"), ErrorCode::kInvalidArgument,
              "application_id");
  expectError(applications.getService(admin, "nope"), ErrorCode::kInvalidArgument, "service_id");
}

TEST_F(ApplicationsTest, OwnerAndAdminSeeTheApplication) {
  createClientServer();
  for (const Caller* c : {&alice, &admin}) {
    auto app = applications.getApplication(*c, app_id);
    ASSERT_TRUE(app) << c->username;
    EXPECT_EQ(Accounts::idOf(*app), app_id);
    auto service = applications.getService(*c, nginx_id);
    ASSERT_TRUE(service) << c->username;
    EXPECT_EQ(json::getString(*service, "job_name"), "clientsrvr.test.nginx.test");
    auto services = applications.listServices(*c, app_id);
    ASSERT_TRUE(services);
    EXPECT_EQ(services->size(), 2u);
    auto of_alice = applications.listApplicationsOfUser(*c, alice.user_id);
    ASSERT_TRUE(of_alice) << test::errorText(of_alice);
    EXPECT_EQ(of_alice->size(), 1u);
  }
  auto admins_own = applications.listApplicationsOfUser(admin, admin.user_id);
  ASSERT_TRUE(admins_own);
  EXPECT_TRUE(admins_own->empty());
  expectError(applications.listApplicationsOfUser(admin, newObjectId()), ErrorCode::kNotFound,
              "userid");
  EXPECT_EQ(applications.listAllApplications().value().size(), 1u);
  EXPECT_EQ(applications.listAllServices().value().size(), 2u);
}

// ---- Updates. ----

TEST_F(ApplicationsTest, UpdateServiceKeepsIdsAndAddresses) {
  createClientServer();
  auto current = applications.getService(alice, curl_id);
  ASSERT_TRUE(current);
  auto addresses_before = all(coll::kAddresses);

  // Clients send back the document they read, with their changes.
  bj::object edited = *current;
  edited["memory"] = 256;
  edited["cmd"] = bj::array{"curl", "nginx"};
  auto updated = applications.updateService(alice, curl_id, slaOf("clientsrvr", bj::array{edited}));
  ASSERT_TRUE(updated) << test::errorText(updated);
  EXPECT_EQ(json::getInt(*updated, "memory"), 256);
  EXPECT_EQ(updated->at("cmd"), (bj::array{"curl", "nginx"}));
  for (const char* kept :
       {"_id", "microserviceID", "applicationID", "job_name", "RR_ip", "RR_ip_v6",
        "service_ip_list", "instance_list", "next_instance_progressive_number"}) {
    EXPECT_EQ(updated->at(kept), current->at(kept)) << kept;
  }
  EXPECT_EQ(stored(coll::kServices, curl_id), *updated);
  EXPECT_EQ(all(coll::kAddresses), addresses_before);
  EXPECT_EQ(all(coll::kServices).size(), 2u);
}

TEST_F(ApplicationsTest, UpdateServiceRejectsRenames) {
  createClientServer();
  auto before = snapshot();
  auto current = applications.getService(alice, curl_id).value();
  for (const char* key : {"microservice_name", "microservice_namespace"}) {
    bj::object edited = current;
    edited[key] = "renamed";
    expectError(applications.updateService(alice, curl_id, slaOf("clientsrvr", bj::array{edited})),
                ErrorCode::kUnprocessable, std::string("applications[0].microservices[0].") + key);
  }
  expectError(applications.updateService(alice, curl_id, bj::object{}), ErrorCode::kUnprocessable);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ApplicationsTest, UpdateServiceMovesOnlyTheRequestedAddress) {
  createClientServer();
  auto current = applications.getService(alice, curl_id).value();
  bj::object edited = current;
  edited["addresses"] = bj::object{{"rr_ip", "10.30.66.66"}};
  auto updated = applications.updateService(alice, curl_id, slaOf("clientsrvr", bj::array{edited}));
  ASSERT_TRUE(updated) << test::errorText(updated);
  EXPECT_EQ(json::getString(*updated, "RR_ip"), "10.30.66.66");
  EXPECT_EQ(json::getString(*updated, "RR_ip_v6"), "fdff:2000::1");
  EXPECT_EQ(updated->at("service_ip_list"), (bj::array{rrIps("10.30.66.66", "fdff:2000::1"),
                                                       closestIps("10.30.0.1", "fdff:1000::1")}));
  EXPECT_EQ(ipEntry(*updated, "Closest"), ipEntry(current, "Closest"));
  EXPECT_EQ(addressesOf(curl_id),
            (std::vector<std::string>{"10.30.0.1", "10.30.66.66", "fdff:1000::1", "fdff:2000::1"}));
  EXPECT_FALSE(stored(coll::kAddresses, "10.30.55.55"));

  // An address of another service is a conflict, and changes nothing.
  auto before = snapshot();
  edited["addresses"] = bj::object{{"rr_ip_v6", "fdff:2000::2"}};
  expectError(applications.updateService(alice, curl_id, slaOf("clientsrvr", bj::array{edited})),
              ErrorCode::kConflict, "rr_ip_v6");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ApplicationsTest, UpdateServiceMovesOnlyTheRequestedClosestAddress) {
  createClientServer();
  // Every address document but the one that moves.
  auto addressesBut = [&](const std::string& moving) {
    std::vector<bj::object> out;
    for (auto& a : all(coll::kAddresses)) {
      if (json::getString(a, "address") != moving) out.push_back(std::move(a));
    }
    return out;
  };
  auto others_before = addressesBut("10.30.0.1");
  auto nginx_before = stored(coll::kServices, nginx_id);
  auto current = applications.getService(alice, curl_id).value();
  bj::object edited = current;
  edited["addresses"] = bj::object{{"closest_ip", "10.30.77.77"}};
  auto updated = applications.updateService(alice, curl_id, slaOf("clientsrvr", bj::array{edited}));
  ASSERT_TRUE(updated) << test::errorText(updated);
  EXPECT_EQ(updated->at("service_ip_list"), (bj::array{rrIps("10.30.55.55", "fdff:2000::1"),
                                                       closestIps("10.30.77.77", "fdff:1000::1")}));
  EXPECT_EQ(json::getString(*updated, "RR_ip"), "10.30.55.55");
  EXPECT_EQ(json::getString(*updated, "RR_ip_v6"), "fdff:2000::1");
  EXPECT_EQ(stored(coll::kServices, curl_id), *updated);

  // The new address belongs to the service, the old one is free, and no other document changed.
  auto moved = stored(coll::kAddresses, "10.30.77.77");
  ASSERT_TRUE(moved);
  EXPECT_EQ(json::getString(*moved, "service_id"), curl_id);
  EXPECT_EQ(json::getString(*moved, "kind"), "Closest");
  EXPECT_FALSE(stored(coll::kAddresses, "10.30.0.1"));
  EXPECT_EQ(addressesBut("10.30.77.77"), others_before);
  EXPECT_EQ(stored(coll::kServices, nginx_id), nginx_before);
  // Another service can now ask for the released address.
  EXPECT_TRUE(applications.createServices(
      alice,
      slaOf("clientsrvr",
            bj::array{microservice("db", {{"addresses", bj::object{{"closest_ip", "10.30.0.1"}}}})},
            "test", app_id)));
}

TEST_F(ApplicationsTest, RenamingTheApplicationRenamesItsServices) {
  createClientServer();
  auto app =
      applications.updateApplication(alice, app_id, bj::object{{"application_name", "renamed"}});
  ASSERT_TRUE(app) << test::errorText(app);
  EXPECT_EQ(json::getString(stored(coll::kServices, curl_id).value(), "job_name"),
            "renamed.test.curl.test");
  ASSERT_TRUE(applications.createApplications(alice, slaOf("taken", bj::array{microservice("a")})));
  auto before = snapshot();
  expectError(
      applications.updateApplication(alice, app_id, bj::object{{"application_name", "taken"}}),
      ErrorCode::kConflict, "application_name");
  expectError(
      applications.updateApplication(alice, app_id, bj::object{{"application_name", "no way"}}),
      ErrorCode::kUnprocessable, "application_name");
  EXPECT_EQ(snapshot(), before);
}

// ---- Deletion. ----

TEST_F(ApplicationsTest, DeletingAServiceRemovesItsDocumentAndAddresses) {
  createClientServer();
  ASSERT_TRUE(applications.deleteService(alice, curl_id));
  EXPECT_FALSE(stored(coll::kServices, curl_id));
  EXPECT_TRUE(addressesOf(curl_id).empty());
  // The other service keeps all four, its closest pair included.
  EXPECT_EQ(addressesOf(nginx_id),
            (std::vector<std::string>{"10.30.0.2", "10.30.0.3", "fdff:1000::2", "fdff:2000::2"}));
  EXPECT_EQ(serviceIds(stored(coll::kApplications, app_id).value()),
            std::vector<std::string>{nginx_id});
  expectError(applications.getService(alice, curl_id), ErrorCode::kNotFound);
  // Its requested address is free again.
  ASSERT_TRUE(applications.createServices(
      alice,
      slaOf("clientsrvr",
            bj::array{microservice("curl", {{"addresses", bj::object{{"rr_ip", "10.30.55.55"}}}})},
            "test", app_id)));

  ASSERT_TRUE(applications.deleteApplication(alice, app_id));
  EXPECT_TRUE(all(coll::kApplications).empty());
  EXPECT_TRUE(all(coll::kServices).empty());
  EXPECT_TRUE(all(coll::kAddresses).empty());
}

TEST_F(ApplicationsTest, DeletingAnApplicationLeavesNothingBehind) {
  auto empty = snapshot();
  createClientServer();
  ASSERT_TRUE(applications.createApplications(bob, slaOf("bobs", bj::array{microservice("web")})));
  ASSERT_TRUE(applications.deleteApplication(alice, app_id));
  // Only bob's service is left, with its round-robin and closest pairs.
  EXPECT_EQ(all(coll::kServices).size(), 1u);
  std::vector<std::string> left;
  for (const auto& a : all(coll::kAddresses))
    left.push_back(json::getString(a, "address").value_or(""));
  EXPECT_EQ(left,
            (std::vector<std::string>{"10.30.0.4", "10.30.0.5", "fdff:1000::3", "fdff:2000::3"}));
  auto bobs = applications.listApplicationsOfUser(bob, bob.user_id).value();
  ASSERT_EQ(bobs.size(), 1u);
  ASSERT_TRUE(applications.deleteApplication(admin, Accounts::idOf(bobs[0].as_object())));

  // Everything but the allocation cursors is as before the first application.
  auto after = snapshot();
  after.erase(coll::kMeta);
  empty.erase(coll::kMeta);
  EXPECT_EQ(after, empty);
  expectError(applications.getApplication(alice, app_id), ErrorCode::kNotFound);
  expectError(applications.deleteApplication(alice, app_id), ErrorCode::kNotFound);
}

// ---- Instances. ----

TEST_F(ApplicationsTest, RemoveInstancesByNumber) {
  createClientServer();
  auto cluster = test::clusterDoc("edge", 8, 0, 4000, static_cast<double>(clock.nowSeconds()));
  store::WriteBatch b;
  b.put(coll::kClusters, Accounts::idOf(cluster), cluster);
  ASSERT_TRUE(memory.apply(b));
  ASSERT_TRUE(applications.requestInstance(alice, curl_id));
  EXPECT_EQ(json::getString(stored(coll::kServices, curl_id).value(), "status"), "REQUESTED");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(scheduler.placeNow(curl_id));
  auto numbers = [&] {
    std::vector<int64_t> out;
    auto service = stored(coll::kServices, curl_id).value();
    for (const auto& inst : service.at("instance_list").as_array()) {
      out.push_back(json::getInt(inst.as_object(), "instance_number").value_or(-99));
    }
    return out;
  };
  ASSERT_EQ(numbers(), (std::vector<int64_t>{0, 1, 2}));

  ASSERT_TRUE(applications.removeInstances(alice, curl_id, "1"));
  EXPECT_EQ(numbers(), (std::vector<int64_t>{0, 2}));
  expectError(applications.removeInstances(alice, curl_id, "1"), ErrorCode::kNotFound,
              "instance_number");
  for (const char* bad : {"x", "", "-2", "1x", " 1", "1.0", "+1"}) {
    expectError(applications.removeInstances(alice, curl_id, bad), ErrorCode::kInvalidArgument,
                "instance_number");
  }
  EXPECT_EQ(numbers(), (std::vector<int64_t>{0, 2}));
  ASSERT_TRUE(applications.removeInstances(admin, curl_id, "-1"));
  EXPECT_TRUE(numbers().empty());
  EXPECT_TRUE(applications.removeInstances(alice, curl_id, "-1"));
  // Numbers are never reused.
  ASSERT_TRUE(scheduler.placeNow(curl_id));
  EXPECT_EQ(numbers(), (std::vector<int64_t>{3}));
}

// ---- All or nothing. ----

class ApplicationsAtomicityTest : public ApplicationsTest {
 protected:
  // Runs `op` with failing writes: it must fail with the store's error and leave every collection
  // as it was. Then runs it again with working writes: it must succeed in exactly one write, so
  // that no store failure can leave part of it behind.
  template <class Op>
  void expectAllOrNothing(Op op) {
    auto before = snapshot();
    store.failWrites(true);
    auto failed = op();
    store.failWrites(false);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable) << failed.error().message;
    EXPECT_EQ(snapshot(), before);

    int applies = store.applies();
    auto done = op();
    ASSERT_TRUE(done) << test::errorText(done);
    EXPECT_EQ(store.applies(), applies + 1);
    EXPECT_NE(snapshot(), before);
  }
};

TEST_F(ApplicationsAtomicityTest, CreateApplications) {
  expectAllOrNothing([&] { return applications.createApplications(alice, clientServerSla()); });
  // The failed attempt consumed nothing: the retry got the first addresses.
  auto services = applications.listAllServices().value();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(json::getString(services[1].as_object(), "RR_ip"), "10.30.0.2");
  EXPECT_EQ(json::getString(services[0].as_object(), "RR_ip_v6"), "fdff:2000::1");
  EXPECT_EQ(ipEntry(services[0].as_object(), "Closest"), closestIps("10.30.0.1", "fdff:1000::1"));
}

TEST_F(ApplicationsAtomicityTest, CreateApplicationsWithExistingData) {
  createClientServer();
  bj::value sla = slaOf("more", bj::array{microservice("a"), microservice("b")});
  expectAllOrNothing([&] { return applications.createApplications(alice, sla); });
}

TEST_F(ApplicationsAtomicityTest, CreateServices) {
  createClientServer();
  bj::value sla =
      slaOf("clientsrvr", bj::array{microservice("db"), microservice("cache")}, "test", app_id);
  expectAllOrNothing([&] { return applications.createServices(alice, sla); });
  EXPECT_EQ(serviceIds(stored(coll::kApplications, app_id).value()).size(), 4u);
}

TEST_F(ApplicationsAtomicityTest, DeleteApplication) {
  createClientServer();
  expectAllOrNothing([&] { return applications.deleteApplication(alice, app_id); });
  EXPECT_TRUE(all(coll::kServices).empty());
}

TEST_F(ApplicationsAtomicityTest, DeleteService) {
  createClientServer();
  expectAllOrNothing([&] { return applications.deleteService(alice, curl_id); });
}

TEST_F(ApplicationsAtomicityTest, UpdateServiceAddresses) {
  createClientServer();
  bj::object edited = applications.getService(alice, curl_id).value();
  edited["addresses"] = bj::object{{"rr_ip", "10.30.66.66"}, {"rr_ip_v6", "fdff:2000::66"}};
  bj::value sla = slaOf("clientsrvr", bj::array{edited});
  expectAllOrNothing([&] { return applications.updateService(alice, curl_id, sla); });
}

TEST_F(ApplicationsAtomicityTest, RejectedRequestWritesNothing) {
  createClientServer();
  auto before = snapshot();
  int applies = store.applies();
  // The first application is fine; the second collides with an existing one.
  bj::value sla = slaOf("fresh", bj::array{microservice("a")});
  auto& list = sla.as_object()["applications"].as_array();
  list.push_back(
      slaOf("clientsrvr", bj::array{microservice("z")}).as_object()["applications"].as_array()[0]);
  expectError(applications.createApplications(alice, sla), ErrorCode::kConflict, "applications[1]");
  EXPECT_EQ(store.applies(), applies);
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace oak::root
