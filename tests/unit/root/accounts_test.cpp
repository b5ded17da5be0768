// Users, organizations and roles: bootstrap, secrets never returned, validation of updates,
// deletion of users and organizations.

#include "root/accounts.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "common/json.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;

const std::vector<std::string> kAllRoles = {role::kAdmin, role::kOrganizationAdmin,
                                            role::kApplicationProvider,
                                            role::kInfrastructureProvider};

class AccountsTest : public test::RootFixture {
 protected:
  bj::object rootOrg() { return memory.get(coll::kOrganizations, root_org_id).value().value(); }

  std::vector<std::string> rolesInRoot(const std::string& user_id) {
    return accounts.rolesIn(rootOrg(), user_id);
  }

  // Every membership of `user_id`, in any organization.
  int memberships(const std::string& user_id) {
    int n = 0;
    for (const auto& org : all(coll::kOrganizations)) {
      for (const auto& m : org.at("member").as_array()) {
        n += json::getString(m.as_object(), "user_id") == user_id ? 1 : 0;
      }
    }
    return n;
  }

  static void expectNoPassword(const bj::array& users) {
    EXPECT_FALSE(users.empty());
    for (const auto& u : users) {
      EXPECT_FALSE(u.as_object().contains("password")) << bj::serialize(u);
    }
  }

  // Checks the error and that its message starts with the name of the field at fault.
  template <class R>
  static void expectFieldError(const R& r, ErrorCode code, const std::string& field) {
    ASSERT_FALSE(r) << "expected an error about " << field;
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(r.error().message.rfind(field + ":", 0), 0u) << r.error().message;
  }
};

// ---- Bootstrap. ----

TEST_F(AccountsTest, BootstrapIsIdempotent) {
  ASSERT_TRUE(accounts.bootstrap());
  Accounts restarted(ctx);
  ASSERT_TRUE(restarted.bootstrap());
  auto users = all(coll::kUsers);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(json::getString(users[0], "name"), "Admin");
  auto orgs = all(coll::kOrganizations);
  ASSERT_EQ(orgs.size(), 1u);
  EXPECT_EQ(json::getString(orgs[0], "name"), "root");
  EXPECT_EQ(orgs[0].at("member").as_array().size(), 1u);
}

TEST_F(AccountsTest, AdminHasEveryRoleInRoot) {
  EXPECT_EQ(rolesInRoot(admin.user_id), kAllRoles);
  auto stored = accounts.findUser("Admin").value().value();
  EXPECT_TRUE(auth::verifyPassword(json::getString(stored, "password").value_or(""), "Admin"));
  auto perms = accounts.permissions(admin, "Admin");
  ASSERT_TRUE(perms);
  EXPECT_EQ(perms->at("roles"),
            (bj::array{role::kAdmin, role::kOrganizationAdmin, role::kApplicationProvider,
                       role::kInfrastructureProvider}));
}

TEST_F(AccountsTest, BootstrapRestoresAMissingRootOrganization) {
  store::WriteBatch b;
  b.erase(coll::kOrganizations, root_org_id);
  ASSERT_TRUE(memory.apply(b));
  ASSERT_TRUE(accounts.bootstrap());
  auto org = accounts.findOrganization("root").value();
  ASSERT_TRUE(org);
  EXPECT_EQ(accounts.rolesIn(*org, admin.user_id), kAllRoles);
  EXPECT_EQ(all(coll::kUsers).size(), 1u);
}

// ---- Secrets. ----

TEST_F(AccountsTest, PasswordsNeverLeave) {
  Accounts::NewUser u{"alice", "pw", "alice@example.org", {role::kApplicationProvider}};
  auto created = accounts.createUser(admin, u, auth::hashPassword("pw", ctx.password_cost).value());
  ASSERT_TRUE(created) << test::errorText(created);
  EXPECT_FALSE(created->contains("password"));
  EXPECT_EQ(created->at("roles"), (bj::array{role::kApplicationProvider}));
  // The store does keep the hash.
  auto stored = accounts.findUser("alice").value().value();
  EXPECT_TRUE(auth::verifyPassword(json::getString(stored, "password").value_or(""), "pw"));

  for (const char* name : {"alice", "Admin"}) {
    auto got = accounts.getUser(admin, name);
    ASSERT_TRUE(got) << name;
    EXPECT_FALSE(got->contains("password")) << name;
  }
  EXPECT_EQ(accounts.getUser(admin, "alice")->at("roles"), (bj::array{role::kApplicationProvider}));
  expectNoPassword(accounts.listUsers().value());
  expectNoPassword(accounts.listOrganizationUsers(root_org_id).value());
  auto updated = accounts.updateUser(admin, "alice", bj::object{{"email", "a@example.org"}});
  ASSERT_TRUE(updated);
  EXPECT_FALSE(updated->contains("password"));
  addUser("bob");
  expectNoPassword(accounts.deleteUser(admin, "bob").value());

  EXPECT_FALSE(Accounts::withoutSecrets(stored).contains("password"));
  EXPECT_EQ(Accounts::withoutSecrets(stored).at("name"), "alice");
}

TEST_F(AccountsTest, OrganizationUsersCarryTheirRoles) {
  auto alice = addUser("alice", {role::kInfrastructureProvider});
  auto users = accounts.listOrganizationUsers(root_org_id);
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 2u);
  for (const auto& u : *users) {
    const auto& o = u.as_object();
    if (o.at("name") == "alice") {
      EXPECT_EQ(o.at("roles"), (bj::array{role::kInfrastructureProvider}));
    } else {
      EXPECT_EQ(o.at("roles").as_array().size(), 4u);
    }
  }
  expectFieldError(accounts.listOrganizationUsers(newObjectId()), ErrorCode::kNotFound,
                   "organization_id");
}

// ---- Updates. ----

TEST_F(AccountsTest, UpdateUserRejectsWhatItCannotChange) {
  addUser("alice");
  auto before = snapshot();
  struct Case {
    bj::object body;
    std::string field;
  };
  const Case cases[] = {
      {{{"password", "new"}}, "password"},
      {{{"name", "mallory"}}, "name"},
      {{{"name", 5}}, "name"},
      {{{"is_admin", true}}, "is_admin"},
      {{{"email", 5}}, "email"},
      {{{"roles", "Admin"}}, "roles"},
      {{{"roles", bj::array{role::kApplicationProvider, "King"}}}, "roles[1]"},
      {{{"roles", bj::array{7}}}, "roles[0]"},
      // Nothing is applied when a later field is wrong.
      {{{"email", "new@example.org"}, {"organization", "x"}}, "organization"},
  };
  for (const auto& c : cases) {
    expectFieldError(accounts.updateUser(admin, "alice", c.body), ErrorCode::kUnprocessable,
                     c.field);
  }
  EXPECT_EQ(snapshot(), before);
  expectFieldError(accounts.updateUser(admin, "nobody", bj::object{{"email", "x"}}),
                   ErrorCode::kNotFound, "username");
}

TEST_F(AccountsTest, UpdateUserChangesEmailAndRoles) {
  auto alice = addUser("alice");
  auto read = accounts.getUser(admin, "alice").value();
  // Clients echo what they read: id, name and creation time are accepted unchanged.
  read["email"] = "new@example.org";
  read["roles"] = bj::array{role::kInfrastructureProvider, role::kApplicationProvider};
  auto updated = accounts.updateUser(admin, "alice", read);
  ASSERT_TRUE(updated) << test::errorText(updated);
  EXPECT_EQ(updated->at("email"), "new@example.org");
  EXPECT_EQ(rolesInRoot(alice.user_id),
            (std::vector<std::string>{role::kInfrastructureProvider, role::kApplicationProvider}));
  EXPECT_EQ(memberships(alice.user_id), 1);
  EXPECT_EQ(json::getString(accounts.findUser("alice").value().value(), "email"),
            "new@example.org");
  // Taking all roles away keeps the membership, with no roles.
  ASSERT_TRUE(accounts.updateUser(admin, "alice", bj::object{{"roles", bj::array{}}}));
  EXPECT_TRUE(rolesInRoot(alice.user_id).empty());
  EXPECT_EQ(memberships(alice.user_id), 1);
}

TEST_F(AccountsTest, RegistrationIsValidated) {
  auto ok = accounts.validateRegistration(bj::object{
      {"name", "carol"}, {"password", "pw"}, {"roles", bj::array{role::kApplicationProvider}}});
  ASSERT_TRUE(ok) << test::errorText(ok);
  EXPECT_EQ(ok->roles, std::vector<std::string>{role::kApplicationProvider});
  expectFieldError(accounts.validateRegistration(bj::object{
                       {"name", "carol"}, {"password", "pw"}, {"roles", bj::array{"Boss"}}}),
                   ErrorCode::kUnprocessable, "roles[0]");
  expectFieldError(accounts.validateRegistration(bj::object{{"name", "a b"}, {"password", "pw"}}),
                   ErrorCode::kUnprocessable, "name");
  expectFieldError(accounts.validateRegistration(bj::object{{"name", "carol"}}),
                   ErrorCode::kUnprocessable, "password");
  expectFieldError(accounts.validateRegistration(bj::object{{"name", "carol"}, {"password", ""}}),
                   ErrorCode::kUnprocessable, "password");
  expectFieldError(accounts.validateRegistration(bj::object{{"name", "Admin"}, {"password", "pw"}}),
                   ErrorCode::kConflict, "name");
  // Creating checks again, for a name taken while the password was hashed.
  addUser("carol");
  expectFieldError(accounts.createUser(admin, *ok, "hash"), ErrorCode::kConflict, "name");
  EXPECT_EQ(all(coll::kUsers).size(), 2u);
}

TEST_F(AccountsTest, OnlyTheUserOrAnAdminReadsAUser) {
  auto alice = addUser("alice");
  addUser("bob");
  EXPECT_TRUE(accounts.getUser(alice, "alice"));
  EXPECT_EQ(accounts.getUser(alice, "bob").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts.permissions(alice, "bob").error().code, ErrorCode::kPermissionDenied);
  expectFieldError(accounts.getUser(admin, "nobody"), ErrorCode::kNotFound, "username");
}

// ---- Deletion. ----

TEST_F(AccountsTest, DeleteUserRemovesTheUserAndEveryMembership) {
  auto alice = addUser("alice");
  auto org = accounts.createOrganization(
      bj::object{{"name", "edge"},
                 {"member", bj::array{bj::object{{"user_id", alice.user_id},
                                                 {"roles", bj::array{role::kOrganizationAdmin}}},
                                      bj::object{{"user_id", admin.user_id}}}}});
  ASSERT_TRUE(org) << test::errorText(org);
  ASSERT_EQ(memberships(alice.user_id), 2);

  auto remaining = accounts.deleteUser(admin, "alice");
  ASSERT_TRUE(remaining) << test::errorText(remaining);
  ASSERT_EQ(remaining->size(), 1u);
  EXPECT_EQ(remaining->at(0).as_object().at("name"), "Admin");
  EXPECT_FALSE(accounts.findUser("alice").value());
  EXPECT_EQ(memberships(alice.user_id), 0);
  // Other members stay.
  EXPECT_EQ(memberships(admin.user_id), 2);
  EXPECT_EQ(rolesInRoot(admin.user_id), kAllRoles);

  expectFieldError(accounts.deleteUser(admin, "alice"), ErrorCode::kNotFound, "username");
}

TEST_F(AccountsTest, NobodyDeletesThemselves) {
  auto before = snapshot();
  expectFieldError(accounts.deleteUser(admin, "Admin"), ErrorCode::kConflict, "username");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(AccountsTest, RootOrganizationKeepsAnAdmin) {
  expectFieldError(accounts.updateOrganization(root_org_id, bj::object{{"member", bj::array{}}}),
                   ErrorCode::kConflict, "member");
  auto alice = addUser("alice");
  expectFieldError(
      accounts.updateOrganization(
          root_org_id,
          bj::object{
              {"member", bj::array{bj::object{{"user_id", admin.user_id},
                                              {"roles", bj::array{role::kApplicationProvider}}}}}}),
      ErrorCode::kConflict, "member");
  EXPECT_EQ(rolesInRoot(admin.user_id), kAllRoles);
  // Handing Admin to someone else is fine.
  EXPECT_TRUE(accounts.updateOrganization(
      root_org_id,
      bj::object{{"member", bj::array{bj::object{{"user_id", alice.user_id},
                                                 {"roles", bj::array{role::kAdmin}}}}}}));
}

TEST_F(AccountsTest, DeletedAdminIsNotRecreatedWithTheDefaultPassword) {
  auto alice = addUser("alice");
  ASSERT_TRUE(accounts.updateOrganization(
      root_org_id,
      bj::object{{"member", bj::array{bj::object{{"user_id", alice.user_id},
                                                 {"roles", bj::array{role::kAdmin}}},
                                      bj::object{{"user_id", admin.user_id},
                                                 {"roles", bj::array{role::kAdmin}}}}}}));
  Caller alice_admin = alice;
  alice_admin.roles = {role::kAdmin};
  ASSERT_TRUE(accounts.deleteUser(alice_admin, "Admin"));
  ASSERT_TRUE(accounts.bootstrap());
  EXPECT_FALSE(accounts.findUser("Admin").value());
}

// ---- Organizations. ----

TEST_F(AccountsTest, OrganizationNamesAreUnique) {
  auto edge = accounts.createOrganization(bj::object{{"name", "edge"}});
  ASSERT_TRUE(edge) << test::errorText(edge);
  EXPECT_EQ(edge->at("member"), bj::array{});
  std::string edge_id = Accounts::idOf(*edge);
  ASSERT_TRUE(accounts.createOrganization(bj::object{{"name", "fog"}}));
  auto before = snapshot();

  expectFieldError(accounts.createOrganization(bj::object{{"name", "edge"}}), ErrorCode::kConflict,
                   "name");
  expectFieldError(accounts.createOrganization(bj::object{{"name", "root"}}), ErrorCode::kConflict,
                   "name");
  expectFieldError(accounts.createOrganization(bj::object{{"name", ""}}), ErrorCode::kUnprocessable,
                   "name");
  expectFieldError(accounts.createOrganization(bj::object{}), ErrorCode::kUnprocessable, "name");
  expectFieldError(
      accounts.createOrganization(bj::object{
          {"name", "new"}, {"member", bj::array{bj::object{{"user_id", newObjectId()}}}}}),
      ErrorCode::kUnprocessable, "member[0].user_id");
  expectFieldError(accounts.createOrganization(
                       bj::object{{"name", "new"},
                                  {"member", bj::array{bj::object{{"user_id", admin.user_id},
                                                                  {"roles", bj::array{"Boss"}}}}}}),
                   ErrorCode::kUnprocessable, "member[0].roles[0]");
  expectFieldError(accounts.updateOrganization(edge_id, bj::object{{"name", "fog"}}),
                   ErrorCode::kConflict, "name");
  expectFieldError(accounts.updateOrganization(edge_id, bj::object{{"name", "root"}}),
                   ErrorCode::kConflict, "name");
  EXPECT_EQ(snapshot(), before);

  // Keeping its own name, or taking a free one, is fine.
  ASSERT_TRUE(accounts.updateOrganization(edge_id, bj::object{{"name", "edge"}}));
  auto renamed = accounts.updateOrganization(edge_id, bj::object{{"name", "cloud"}});
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->at("name"), "cloud");
  EXPECT_FALSE(accounts.findOrganization("edge").value());
  ASSERT_TRUE(accounts.createOrganization(bj::object{{"name", "edge"}}));
}

TEST_F(AccountsTest, RootOrganizationStays) {
  auto before = snapshot();
  expectFieldError(accounts.deleteOrganization(root_org_id), ErrorCode::kConflict,
                   "organization_id");
  expectFieldError(accounts.updateOrganization(root_org_id, bj::object{{"name", "main"}}),
                   ErrorCode::kConflict, "name");
  EXPECT_EQ(snapshot(), before);
  EXPECT_TRUE(accounts.updateOrganization(root_org_id, bj::object{{"name", "root"}}));
  EXPECT_EQ(rolesInRoot(admin.user_id), kAllRoles);
}

TEST_F(AccountsTest, OtherOrganizationsCanBeDeleted) {
  auto edge = accounts.createOrganization(bj::object{{"name", "edge"}});
  ASSERT_TRUE(edge);
  std::string id = Accounts::idOf(*edge);
  ASSERT_TRUE(accounts.deleteOrganization(id));
  EXPECT_FALSE(accounts.findOrganization("edge").value());
  expectFieldError(accounts.deleteOrganization(id), ErrorCode::kNotFound, "organization_id");
  expectFieldError(accounts.deleteOrganization("not-an-id"), ErrorCode::kInvalidArgument,
                   "organization_id");
  EXPECT_EQ(all(coll::kOrganizations).size(), 1u);
}

}  // namespace
}  // namespace oak::root
