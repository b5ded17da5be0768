#pragma once
// Users, organizations and roles. A user's roles are per organization (the `member` list of an
// organization document); tokens carry the roles of the organization chosen at login.
// Password hashes never leave this class: every user document it returns is stripped of them.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "root/caller.h"
#include "root/context.h"

namespace oak::root {

class Accounts {
 public:
  explicit Accounts(RootContext& ctx) : ctx_(ctx) {}

  // Creates Admin/Admin in organization "root" when they do not exist yet.
  Status bootstrap();

  static std::string idOf(const boost::json::object& doc);
  static boost::json::object withoutSecrets(boost::json::object user);

  Result<std::optional<boost::json::object>> findUser(std::string_view name);
  Result<std::optional<boost::json::object>> findOrganization(std::string_view name);
  std::vector<std::string> rolesIn(const boost::json::object& org, std::string_view user_id) const;

  // Login, split around the slow password check which the caller runs off the loop.
  struct LoginTarget {
    std::string password_hash;  // a dummy hash when the user does not exist (same timing)
    bool user_exists = false;
    std::string username;
    std::string organization_id;
    std::vector<std::string> roles;
  };
  Result<LoginTarget> prepareLogin(const boost::json::object& body);
  struct TokenPair {
    std::string access;
    std::string refresh;
  };
  Result<TokenPair> issueTokens(const std::string& username, const std::vector<std::string>& roles,
                                const std::string& organization_id);
  // A new access token for a valid refresh token.
  Result<std::string> refresh(std::string_view refresh_token);

  // Registration, split the same way: validate, hash off the loop, then create.
  struct NewUser {
    std::string name;
    std::string password;
    std::string email;
    std::vector<std::string> roles;
  };
  Result<NewUser> validateRegistration(const boost::json::object& body);
  Result<boost::json::object> createUser(const Caller& caller, const NewUser& u,
                                         const std::string& password_hash);

  Result<boost::json::object> getUser(const Caller& caller, std::string_view name);
  Result<boost::json::object> updateUser(const Caller& caller, std::string_view name,
                                         const boost::json::object& body);
  Result<boost::json::array> deleteUser(const Caller& caller, std::string_view name);
  Result<boost::json::array> listUsers();
  Result<boost::json::array> listOrganizationUsers(std::string_view org_id);
  Result<boost::json::object> permissions(const Caller& caller, std::string_view name);

  // Password change: `checkPasswordChange` validates and returns the stored hash to verify the
  // old password against (off the loop); `setPassword` stores the new hash.
  struct PasswordChange {
    std::string current_hash;
    std::string old_password;
    std::string new_password;
  };
  Result<PasswordChange> checkPasswordChange(const Caller& caller, std::string_view name,
                                             const boost::json::object& body);
  Status setPassword(std::string_view name, const std::string& new_hash);

  Result<boost::json::array> listOrganizations();
  Result<boost::json::object> createOrganization(const boost::json::object& body);
  Result<boost::json::object> updateOrganization(std::string_view id,
                                                 const boost::json::object& body);
  Status deleteOrganization(std::string_view id);

 private:
  Result<boost::json::object> requireUser(std::string_view name);
  Result<boost::json::object> requireOrganization(std::string_view id);
  Result<boost::json::array> validateMembers(const boost::json::value& members);
  std::string nowText() const;

  RootContext& ctx_;
  std::string dummy_hash_;
};

}  // namespace oak::root
