#pragma once
// A root orchestrator wired by hand around an in-memory store, for unit tests of its parts. The
// event loop is never run: tests call the parts (and `Scheduler::placeNow`) directly.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "auth/password.h"
#include "auth/tokens.h"
#include "common/clock.h"
#include "common/object_id.h"
#include "http/event_loop.h"
#include "root/accounts.h"
#include "root/applications.h"
#include "root/caller.h"
#include "root/context.h"
#include "root/scheduler.h"
#include "root/service_addresses.h"
#include "store/memory_store.h"

namespace oak::root::test {

namespace bj = boost::json;

// Forwards to another store; counts writes, remembers the collections they touch, and can be
// told to fail them (as an unreachable disk or database would).
class FaultyStore final : public store::Store {
 public:
  explicit FaultyStore(store::Store& inner) : inner_(inner) {}

  Result<std::optional<bj::object>> get(std::string_view collection, std::string_view id) override {
    return inner_.get(collection, id);
  }
  Result<std::vector<bj::object>> list(std::string_view collection) override {
    return inner_.list(collection);
  }
  Result<std::vector<bj::object>> find(std::string_view collection, std::string_view field,
                                       const bj::value& value) override {
    return inner_.find(collection, field, value);
  }
  Status apply(const store::WriteBatch& batch) override {
    ++applies_;
    for (const auto& op : batch.ops()) touched_.insert(op.collection);
    if (failing_) return makeError(ErrorCode::kUnavailable, "store: writes are failing");
    return inner_.apply(batch);
  }

  void failWrites(bool on) { failing_ = on; }
  int applies() const { return applies_; }
  const std::set<std::string>& touched() const { return touched_; }

 private:
  store::Store& inner_;
  bool failing_ = false;
  int applies_ = 0;
  std::set<std::string> touched_;
};

// Every document of every collection the root uses or that a write touched.
using Snapshot = std::map<std::string, std::vector<bj::object>>;

class RootFixture : public ::testing::Test {
 protected:
  RootFixture()
      : tokens(auth::TokenService::create(std::string(64, 'k'), clock).value()),
        ctx{store, clock, loop, *tokens, auth::PasswordCost::minimal(), std::string(64, 'c')},
        accounts(ctx),
        addresses(ctx),
        scheduler(ctx),
        applications(ctx, scheduler) {
    ctx.accounts = &accounts;
    ctx.addresses = &addresses;
    ctx.applications = &applications;
  }

  void SetUp() override {
    ASSERT_TRUE(accounts.bootstrap());
    auto admin_user = accounts.findUser("Admin");
    ASSERT_TRUE(admin_user && *admin_user);
    auto root_org = accounts.findOrganization("root");
    ASSERT_TRUE(root_org && *root_org);
    root_org_id = Accounts::idOf(**root_org);
    admin = Caller{"Admin",
                   Accounts::idOf(**admin_user),
                   {role::kAdmin, role::kOrganizationAdmin, role::kApplicationProvider,
                    role::kInfrastructureProvider},
                   root_org_id};
  }

  // Registers a user in the root organization as the Admin would, and returns their caller.
  Caller addUser(const std::string& name,
                 std::vector<std::string> roles = {role::kApplicationProvider}) {
    Accounts::NewUser u{name, "secret-" + name, name + "@example.org", roles};
    auto created =
        accounts.createUser(admin, u, auth::hashPassword(u.password, ctx.password_cost).value());
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    if (!created) return {};
    return Caller{name, Accounts::idOf(*created), std::move(roles), root_org_id};
  }

  Snapshot snapshot() {
    std::set<std::string> names{coll::kUsers,    coll::kOrganizations, coll::kApplications,
                                coll::kServices, coll::kClusters,      coll::kAddresses,
                                coll::kMeta};
    names.insert(store.touched().begin(), store.touched().end());
    Snapshot out;
    for (const auto& n : names) out[n] = memory.list(n).value();
    return out;
  }

  std::vector<bj::object> all(const char* collection) { return memory.list(collection).value(); }

  store::InMemoryStore memory;
  FaultyStore store{memory};
  SimulatedClock clock;
  EventLoop loop;
  std::unique_ptr<auth::TokenService> tokens;
  RootContext ctx;
  Accounts accounts;
  ServiceAddresses addresses;
  Scheduler scheduler;
  Applications applications;
  Caller admin;
  std::string root_org_id;
};

// The message of a failed result, for assertion output.
template <class R>
std::string errorText(const R& r) {
  return r ? std::string("(success)") : r.error().message;
}

// A valid microservice of an SLA; `extra` adds or replaces fields.
inline bj::object microservice(const std::string& name, bj::object extra = {}) {
  bj::object ms{{"microserviceID", ""},
                {"microservice_name", name},
                {"microservice_namespace", "test"},
                {"virtualization", "container"},
                {"cmd", bj::array{"sh", "-c", "sleep 1000"}},
                {"memory", 100},
                {"vcpus", 1},
                {"vgpus", 0},
                {"code", "docker.io/library/" + name + ":latest"}};
  for (auto& [k, v] : extra) ms[k] = v;
  return ms;
}

// An SLA holding one application with the given microservices.
inline bj::value slaOf(const std::string& app_name, bj::array microservices,
                       const std::string& app_ns = "test", const std::string& app_id = "") {
  return bj::object{
      {"sla_version", "v2.0"},
      {"customerID", "Admin"},
      {"applications", bj::array{bj::object{{"applicationID", app_id},
                                            {"application_name", app_name},
                                            {"application_namespace", app_ns},
                                            {"application_desc", "a test app"},
                                            {"microservices", std::move(microservices)}}}}};
}

// A cluster document as the root stores it (connected, with reported resources);
// `age_seconds` is how long ago it last reported.
inline bj::object clusterDoc(const std::string& name, double cores, double cpu_percent,
                             double memory_mb, double now_seconds, double age_seconds = 1,
                             bj::array runtimes = {"docker"}) {
  double free = cores * (1 - std::min(cpu_percent, 100.0) / 100);
  bj::object resources{
      {"cores_total", cores},
      {"cores_free", free},
      {"memory_total_mb", memory_mb},
      {"memory_free_mb", memory_mb},
      {"runtimes", std::move(runtimes)},
      {"nodes", 1},
      {"per_arch", bj::object{{"amd64", bj::object{{"cores_total", cores},
                                                   {"cores_free", free},
                                                   {"memory_total_mb", memory_mb},
                                                   {"memory_free_mb", memory_mb}}}}}};
  return bj::object{{"_id", oidJson(newObjectId())},
                    {"cluster_name", name},
                    {"cluster_location", name + "-location"},
                    {"connected", true},
                    {"resources", std::move(resources)},
                    {"last_modified_timestamp", now_seconds - age_seconds}};
}

}  // namespace oak::root::test
