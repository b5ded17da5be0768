#include "root/accounts.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/object_id.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

constexpr std::string_view kRootOrganization = "root";

Error unprocessable(std::string msg) {
  return makeError(ErrorCode::kUnprocessable, std::move(msg));
}

bool isValidUsername(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> requiredString(const bj::object& body, std::string_view key) {
  auto it = body.find(key);
  if (it == body.end()) return unprocessable(fmt::format("{}: required property is missing", key));
  if (!it->value().is_string()) {
    return unprocessable(
        fmt::format("{}: {} is not of type 'string'", key, json::preview(it->value())));
  }
  return std::string(it->value().get_string());
}

Result<std::vector<std::string>> parseRoles(const bj::value& v, std::string_view path) {
  if (!v.is_array()) {
    return unprocessable(fmt::format("{}: {} is not of type 'array'", path, json::preview(v)));
  }
  std::vector<std::string> roles;
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    const auto& r = v.get_array()[i];
    if (!r.is_string() || !role::isKnown(r.get_string())) {
      return unprocessable(fmt::format(
          "{}[{}]: {} is not a role (one of Admin, Organization_Admin, Application_Provider, "
          "Infrastructure_Provider)",
          path, i, json::preview(r)));
    }
    roles.emplace_back(r.get_string());
  }
  return roles;
}

bj::array toArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

std::string Accounts::idOf(const bj::object& doc) {
  if (const auto* id = json::findObject(doc, "_id")) {
    if (auto s = json::getString(*id, "$oid")) return *s;
  }
  return {};
}

bj::object Accounts::withoutSecrets(bj::object user) {
  user.erase("password");
  return user;
}

std::string Accounts::nowText() const {
  return fmt::format("{:%d/%m/%Y %H:%M}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(ctx_.clock.now())));
}

Result<std::optional<bj::object>> Accounts::findUser(std::string_view name) {
  OAK_ASSIGN_OR_RETURN(auto found, ctx_.store.find(coll::kUsers, "name", bj::value(name)));
  if (found.empty()) return std::optional<bj::object>();
  return std::optional<bj::object>(std::move(found.front()));
}

Result<std::optional<bj::object>> Accounts::findOrganization(std::string_view name) {
  OAK_ASSIGN_OR_RETURN(auto found, ctx_.store.find(coll::kOrganizations, "name", bj::value(name)));
  if (found.empty()) return std::optional<bj::object>();
  return std::optional<bj::object>(std::move(found.front()));
}

std::vector<std::string> Accounts::rolesIn(const bj::object& org, std::string_view user_id) const {
  std::vector<std::string> roles;
  if (const auto* members = json::findArray(org, "member")) {
    for (const auto& m : *members) {
      if (!m.is_object() || json::getString(m.get_object(), "user_id") != user_id) continue;
      if (const auto* rs = json::findArray(m.get_object(), "roles")) {
        for (const auto& r : *rs) {
          if (r.is_string()) roles.emplace_back(r.get_string());
        }
      }
    }
  }
  return roles;
}

Status Accounts::bootstrap() {
  OAK_ASSIGN_OR_RETURN(auto users, ctx_.store.list(coll::kUsers));
  OAK_ASSIGN_OR_RETURN(auto admin, findUser("Admin"));
  OAK_ASSIGN_OR_RETURN(auto root_org, findOrganization(kRootOrganization));
  dummy_hash_ = auth::hashPassword(auth::randomHex(16), ctx_.password_cost).value();
  if (!users.empty() && root_org) return {};
  store::WriteBatch batch;
  std::string admin_id;
  if (admin) {
    admin_id = idOf(*admin);
  } else if (users.empty()) {
    // Only a fresh installation gets the well-known account; an Admin that was deleted on
    // purpose must not come back with the default password.
    OAK_ASSIGN_OR_RETURN(auto hash, auth::hashPassword("Admin", ctx_.password_cost));
    admin_id = newObjectId();
    batch.put(coll::kUsers, admin_id,
              bj::object{{"_id", oidJson(admin_id)},
                         {"name", "Admin"},
                         {"email", ""},
                         {"password", hash},
                         {"created_at", nowText()}});
    spdlog::warn(
        "created the initial user Admin with the password 'Admin': change it now "
        "(POST /api/user/Admin with oldPassword/newPassword)");
  }
  if (!root_org) {
    std::string org_id = newObjectId();
    bj::array members;
    if (!admin_id.empty()) {
      members.push_back(bj::object{
          {"user_id", admin_id},
          {"roles", bj::array{role::kAdmin, role::kOrganizationAdmin, role::kApplicationProvider,
                              role::kInfrastructureProvider}}});
    }
    batch.put(
        coll::kOrganizations, org_id,
        bj::object{
            {"_id", oidJson(org_id)}, {"name", kRootOrganization}, {"member", std::move(members)}});
  }
  return ctx_.store.apply(batch);
}

Result<Accounts::LoginTarget> Accounts::prepareLogin(const bj::object& body) {
  OAK_ASSIGN_OR_RETURN(auto username, requiredString(body, "username"));
  OAK_ASSIGN_OR_RETURN(auto password, requiredString(body, "password"));
  std::string org_name(kRootOrganization);
  if (auto it = body.find("organization_name"); it != body.end() && !it->value().is_null()) {
    OAK_ASSIGN_OR_RETURN(org_name, requiredString(body, "organization_name"));
  }
  OAK_ASSIGN_OR_RETURN(auto org, findOrganization(org_name));
  if (!org) {
    return makeError(ErrorCode::kNotFound,
                     fmt::format("organization_name: no organization named '{}'", org_name));
  }
  OAK_ASSIGN_OR_RETURN(auto user, findUser(username));
  LoginTarget t;
  t.username = username;
  t.organization_id = idOf(*org);
  if (user) {
    t.user_exists = true;
    t.password_hash = json::getString(*user, "password").value_or("");
    t.roles = rolesIn(*org, idOf(*user));
  } else {
    t.password_hash = dummy_hash_;
  }
  return t;
}

Result<Accounts::TokenPair> Accounts::issueTokens(const std::string& username,
                                                  const std::vector<std::string>& roles,
                                                  const std::string& organization_id) {
  OAK_ASSIGN_OR_RETURN(
      auto access, ctx_.tokens.issue(auth::TokenType::kAccess, username, roles, organization_id));
  OAK_ASSIGN_OR_RETURN(
      auto refresh, ctx_.tokens.issue(auth::TokenType::kRefresh, username, roles, organization_id));
  return TokenPair{std::move(access), std::move(refresh)};
}

Result<std::string> Accounts::refresh(std::string_view refresh_token) {
  OAK_ASSIGN_OR_RETURN(auto claims, ctx_.tokens.verify(refresh_token, auth::TokenType::kRefresh));
  OAK_ASSIGN_OR_RETURN(auto user, findUser(claims.subject));
  if (!user) {
    return makeError(ErrorCode::kUnauthenticated,
                     fmt::format("the user '{}' of this token no longer exists", claims.subject));
  }
  return ctx_.tokens.issue(auth::TokenType::kAccess, claims.subject, claims.roles,
                           claims.organization);
}

Result<Accounts::NewUser> Accounts::validateRegistration(const bj::object& body) {
  NewUser u;
  OAK_ASSIGN_OR_RETURN(u.name, requiredString(body, "name"));
  if (!isValidUsername(u.name)) {
    return unprocessable(fmt::format(
        "name: '{}' is not a valid user name (1-64 letters, digits, '_', '-', '.', '@')", u.name));
  }
  OAK_ASSIGN_OR_RETURN(u.password, requiredString(body, "password"));
  if (u.password.empty()) return unprocessable("password: must not be empty");
  if (body.contains("email")) {
    OAK_ASSIGN_OR_RETURN(u.email, requiredString(body, "email"));
  }
  if (auto it = body.find("roles"); it != body.end()) {
    OAK_ASSIGN_OR_RETURN(u.roles, parseRoles(it->value(), "roles"));
  }
  OAK_ASSIGN_OR_RETURN(auto existing, findUser(u.name));
  if (existing)
    return makeError(ErrorCode::kConflict,
                     fmt::format("name: the user '{}' already exists", u.name));
  return u;
}

Result<bj::object> Accounts::createUser(const Caller& caller, const NewUser& u,
                                        const std::string& password_hash) {
  // Checked again: another registration may have taken the name while the hash was computed.
  OAK_ASSIGN_OR_RETURN(auto existing, findUser(u.name));
  if (existing)
    return makeError(ErrorCode::kConflict,
                     fmt::format("name: the user '{}' already exists", u.name));
  OAK_ASSIGN_OR_RETURN(auto org, requireOrganization(caller.organization));
  std::string id = newObjectId();
  bj::object user{{"_id", oidJson(id)},
                  {"name", u.name},
                  {"email", u.email},
                  {"password", password_hash},
                  {"created_at", nowText()}};
  auto& members = org["member"];
  if (!members.is_array()) members = bj::array{};
  members.as_array().push_back(bj::object{{"user_id", id}, {"roles", toArray(u.roles)}});
  store::WriteBatch batch;
  batch.put(coll::kUsers, id, user);
  batch.put(coll::kOrganizations, idOf(org), org);
  OAK_TRY(ctx_.store.apply(batch));
  auto out = withoutSecrets(std::move(user));
  out["roles"] = toArray(u.roles);
  return out;
}

Result<bj::object> Accounts::requireUser(std::string_view name) {
  OAK_ASSIGN_OR_RETURN(auto user, findUser(name));
  if (!user)
    return makeError(ErrorCode::kNotFound, fmt::format("username: no user named '{}'", name));
  return std::move(*user);
}

Result<bj::object> Accounts::requireOrganization(std::string_view id) {
  OAK_TRY(requireObjectId(id, "organization_id"));
  OAK_ASSIGN_OR_RETURN(auto org, ctx_.store.get(coll::kOrganizations, id));
  if (!org)
    return makeError(ErrorCode::kNotFound,
                     fmt::format("organization_id: no organization with id '{}'", id));
  return std::move(*org);
}

Result<bj::object> Accounts::getUser(const Caller& caller, std::string_view name) {
  OAK_TRY(requireSelfOrAdmin(caller, name));
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  auto out = withoutSecrets(user);
  if (auto org = ctx_.store.get(coll::kOrganizations, caller.organization); org && *org) {
    out["roles"] = toArray(rolesIn(**org, idOf(user)));
  }
  return out;
}

Result<bj::object> Accounts::updateUser(const Caller& caller, std::string_view name,
                                        const bj::object& body) {
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  std::optional<std::vector<std::string>> roles;
  for (const auto& [key, value] : body) {
    if (key == "_id" || key == "created_at") continue;  // read-only; clients echo them back
    if (key == "name") {
      if (!value.is_string() || value.get_string() != name) {
        return unprocessable("name: a user cannot be renamed");
      }
    } else if (key == "password") {
      return unprocessable(
          fmt::format("password: use POST /api/user/{} to change a password", name));
    } else if (key == "email") {
      if (!value.is_string())
        return unprocessable(
            fmt::format("email: {} is not of type 'string'", json::preview(value)));
      user["email"] = value;
    } else if (key == "roles") {
      OAK_ASSIGN_OR_RETURN(roles, parseRoles(value, "roles"));
    } else {
      return unprocessable(
          fmt::format("{}: unknown field (allowed: email, roles)", std::string_view(key)));
    }
  }
  store::WriteBatch batch;
  batch.put(coll::kUsers, idOf(user), user);
  if (roles) {
    OAK_ASSIGN_OR_RETURN(auto org, requireOrganization(caller.organization));
    std::string uid = idOf(user);
    bj::array members;
    if (const auto* old = json::findArray(org, "member")) {
      for (const auto& m : *old) {
        if (!(m.is_object() && json::getString(m.get_object(), "user_id") == uid))
          members.push_back(m);
      }
    }
    members.push_back(bj::object{{"user_id", uid}, {"roles", toArray(*roles)}});
    org["member"] = std::move(members);
    batch.put(coll::kOrganizations, idOf(org), org);
  }
  OAK_TRY(ctx_.store.apply(batch));
  return getUser(caller, name);
}

Result<bj::array> Accounts::deleteUser(const Caller& caller, std::string_view name) {
  if (caller.username == name) {
    return makeError(ErrorCode::kConflict, "username: you cannot delete your own account");
  }
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  // Applications belong to a user name: a later user of the same name would inherit them.
  OAK_ASSIGN_OR_RETURN(auto apps, ctx_.store.find(coll::kApplications, "userId", bj::value(name)));
  if (!apps.empty()) {
    return makeError(ErrorCode::kConflict,
                     fmt::format("username: '{}' still owns {} application(s); delete them first",
                                 name, apps.size()));
  }
  std::string uid = idOf(user);
  store::WriteBatch batch;
  batch.erase(coll::kUsers, uid);
  OAK_ASSIGN_OR_RETURN(auto orgs, ctx_.store.list(coll::kOrganizations));
  for (auto& org : orgs) {
    const auto* old = json::findArray(org, "member");
    if (!old) continue;
    bj::array kept;
    for (const auto& m : *old) {
      if (!(m.is_object() && json::getString(m.get_object(), "user_id") == uid)) kept.push_back(m);
    }
    if (kept.size() != old->size()) {
      org["member"] = std::move(kept);
      batch.put(coll::kOrganizations, idOf(org), org);
    }
  }
  OAK_TRY(ctx_.store.apply(batch));
  return listUsers();
}

Result<bj::array> Accounts::listUsers() {
  OAK_ASSIGN_OR_RETURN(auto users, ctx_.store.list(coll::kUsers));
  bj::array out;
  for (auto& u : users) out.push_back(withoutSecrets(std::move(u)));
  return out;
}

Result<bj::array> Accounts::listOrganizationUsers(std::string_view org_id) {
  OAK_ASSIGN_OR_RETURN(auto org, requireOrganization(org_id));
  OAK_ASSIGN_OR_RETURN(auto users, ctx_.store.list(coll::kUsers));
  bj::array out;
  for (auto& u : users) {
    std::string uid = idOf(u);
    bool member = false;
    if (const auto* ms = json::findArray(org, "member")) {
      for (const auto& m : *ms)
        member = member || (m.is_object() && json::getString(m.get_object(), "user_id") == uid);
    }
    if (!member) continue;
    auto pub = withoutSecrets(std::move(u));
    pub["roles"] = toArray(rolesIn(org, uid));
    out.push_back(std::move(pub));
  }
  return out;
}

Result<bj::object> Accounts::permissions(const Caller& caller, std::string_view name) {
  OAK_TRY(requireSelfOrAdmin(caller, name));
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  std::vector<std::string> roles;
  if (auto org = ctx_.store.get(coll::kOrganizations, caller.organization); org && *org) {
    roles = rolesIn(**org, idOf(user));
  }
  return bj::object{{"roles", toArray(roles)}};
}

Result<Accounts::PasswordChange> Accounts::checkPasswordChange(const Caller& caller,
                                                               std::string_view name,
                                                               const bj::object& body) {
  if (caller.username != name) {
    return makeError(ErrorCode::kPermissionDenied, "users can only change their own password");
  }
  PasswordChange pc;
  OAK_ASSIGN_OR_RETURN(pc.old_password, requiredString(body, "oldPassword"));
  OAK_ASSIGN_OR_RETURN(pc.new_password, requiredString(body, "newPassword"));
  if (pc.new_password.empty()) return unprocessable("newPassword: must not be empty");
  if (pc.new_password == pc.old_password) {
    return unprocessable("newPassword: must differ from oldPassword");
  }
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  pc.current_hash = json::getString(user, "password").value_or("");
  return pc;
}

Status Accounts::setPassword(std::string_view name, const std::string& new_hash) {
  OAK_ASSIGN_OR_RETURN(auto user, requireUser(name));
  user["password"] = new_hash;
  store::WriteBatch batch;
  std::string id = idOf(user);
  batch.put(coll::kUsers, id, std::move(user));
  return ctx_.store.apply(batch);
}

Result<bj::array> Accounts::listOrganizations() {
  OAK_ASSIGN_OR_RETURN(auto orgs, ctx_.store.list(coll::kOrganizations));
  bj::array out;
  for (auto& o : orgs) out.push_back(std::move(o));
  return out;
}

Result<bj::array> Accounts::validateMembers(const bj::value& members) {
  if (!members.is_array()) {
    return unprocessable(fmt::format("member: {} is not of type 'array'", json::preview(members)));
  }
  bj::array out;
  for (size_t i = 0; i < members.get_array().size(); ++i) {
    const auto& m = members.get_array()[i];
    std::string path = fmt::format("member[{}]", i);
    if (!m.is_object())
      return unprocessable(fmt::format("{}: {} is not of type 'object'", path, json::preview(m)));
    auto uid = json::getString(m.get_object(), "user_id");
    if (!uid) return unprocessable(path + ".user_id: required property is missing or not a string");
    OAK_ASSIGN_OR_RETURN(auto user, ctx_.store.get(coll::kUsers, *uid));
    if (!user) return unprocessable(fmt::format("{}.user_id: no user with id '{}'", path, *uid));
    std::vector<std::string> roles;
    if (auto it = m.get_object().find("roles"); it != m.get_object().end()) {
      OAK_ASSIGN_OR_RETURN(roles, parseRoles(it->value(), path + ".roles"));
    }
    out.push_back(bj::object{{"user_id", *uid}, {"roles", toArray(roles)}});
  }
  return out;
}

Result<bj::object> Accounts::createOrganization(const bj::object& body) {
  OAK_ASSIGN_OR_RETURN(auto name, requiredString(body, "name"));
  if (name.empty() || name.size() > 64) return unprocessable("name: must have 1 to 64 characters");
  OAK_ASSIGN_OR_RETURN(auto existing, findOrganization(name));
  if (existing)
    return makeError(ErrorCode::kConflict,
                     fmt::format("name: the organization '{}' already exists", name));
  bj::array members;
  if (auto it = body.find("member"); it != body.end()) {
    OAK_ASSIGN_OR_RETURN(members, validateMembers(it->value()));
  }
  std::string id = newObjectId();
  bj::object org{{"_id", oidJson(id)}, {"name", name}, {"member", std::move(members)}};
  store::WriteBatch batch;
  batch.put(coll::kOrganizations, id, org);
  OAK_TRY(ctx_.store.apply(batch));
  return org;
}

Result<bj::object> Accounts::updateOrganization(std::string_view id, const bj::object& body) {
  OAK_ASSIGN_OR_RETURN(auto org, requireOrganization(id));
  if (auto it = body.find("name"); it != body.end()) {
    OAK_ASSIGN_OR_RETURN(auto name, requiredString(body, "name"));
    if (name.empty() || name.size() > 64)
      return unprocessable("name: must have 1 to 64 characters");
    if (json::getString(org, "name") == kRootOrganization && name != kRootOrganization) {
      return makeError(ErrorCode::kConflict, "name: the organization 'root' cannot be renamed");
    }
    OAK_ASSIGN_OR_RETURN(auto other, findOrganization(name));
    if (other && idOf(*other) != id) {
      return makeError(ErrorCode::kConflict,
                       fmt::format("name: the organization '{}' already exists", name));
    }
    org["name"] = name;
  }
  if (auto it = body.find("member"); it != body.end()) {
    OAK_ASSIGN_OR_RETURN(auto members, validateMembers(it->value()));
    org["member"] = std::move(members);
    // The root organization must keep an Admin, or nobody could administer the system.
    if (json::getString(org, "name") == kRootOrganization) {
      bool has_admin = false;
      for (const auto& m : org["member"].as_array()) {
        auto uid = json::getString(m.get_object(), "user_id").value_or("");
        for (const auto& r : rolesIn(org, uid)) has_admin = has_admin || r == role::kAdmin;
      }
      if (!has_admin) {
        return makeError(ErrorCode::kConflict,
                         "member: the organization 'root' must keep at least one Admin");
      }
    }
  }
  store::WriteBatch batch;
  batch.put(coll::kOrganizations, std::string(id), org);
  OAK_TRY(ctx_.store.apply(batch));
  return org;
}

Status Accounts::deleteOrganization(std::string_view id) {
  OAK_ASSIGN_OR_RETURN(auto org, requireOrganization(id));
  if (json::getString(org, "name") == kRootOrganization) {
    return makeError(ErrorCode::kConflict,
                     "organization_id: the organization 'root' cannot be deleted");
  }
  store::WriteBatch batch;
  batch.erase(coll::kOrganizations, std::string(id));
  return ctx_.store.apply(batch);
}

}  // namespace oak::root
