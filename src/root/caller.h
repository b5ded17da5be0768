#pragma once
// Who is calling: bearer-token authentication and role checks shared by all routes.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "common/result.h"
#include "http/message.h"
#include "root/context.h"

namespace oak::root {

namespace role {
inline constexpr const char* kAdmin = "Admin";
inline constexpr const char* kOrganizationAdmin = "Organization_Admin";
inline constexpr const char* kApplicationProvider = "Application_Provider";
inline constexpr const char* kInfrastructureProvider = "Infrastructure_Provider";
bool isKnown(std::string_view r);
}  // namespace role

struct Caller {
  std::string username;
  std::string user_id;
  std::vector<std::string> roles;
  std::string organization;
  bool hasRole(std::string_view r) const;
  bool isAdmin() const { return hasRole(role::kAdmin); }
};

// Verifies the access token and that its user still exists.
Result<Caller> authenticate(RootContext& ctx, const http::Request& req);
Status requireRole(const Caller& c, std::string_view r);
// The caller is `username` itself, or an Admin.
Status requireSelfOrAdmin(const Caller& c, std::string_view username);

// Parses the request body as a JSON object (400 when it is not JSON, 422 when not an object).
Result<boost::json::object> objectBody(const http::Request& req);
// Checks a path parameter that must be an ObjectId (400 naming the parameter otherwise).
Status requireObjectId(std::string_view value, std::string_view name);

}  // namespace oak::root
