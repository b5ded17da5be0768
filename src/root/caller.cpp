#include "root/caller.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/object_id.h"
#include "root/accounts.h"

namespace oak::root {

bool role::isKnown(std::string_view r) {
  return r == kAdmin || r == kOrganizationAdmin || r == kApplicationProvider ||
         r == kInfrastructureProvider;
}

bool Caller::hasRole(std::string_view r) const {
  for (const auto& x : roles) {
    if (x == r) return true;
  }
  return false;
}

Result<Caller> authenticate(RootContext& ctx, const http::Request& req) {
  OAK_ASSIGN_OR_RETURN(auto token, http::bearerToken(req));
  OAK_ASSIGN_OR_RETURN(auto claims, ctx.tokens.verify(token, auth::TokenType::kAccess));
  OAK_ASSIGN_OR_RETURN(auto user, ctx.accounts->findUser(claims.subject));
  if (!user) {
    return makeError(ErrorCode::kUnauthenticated,
                     fmt::format("the user '{}' of this token no longer exists", claims.subject));
  }
  return Caller{claims.subject, Accounts::idOf(*user), std::move(claims.roles),
                std::move(claims.organization)};
}

Status requireRole(const Caller& c, std::string_view r) {
  if (c.hasRole(r)) return {};
  return makeError(ErrorCode::kPermissionDenied,
                   fmt::format("this endpoint requires the role '{}'", r));
}

Status requireSelfOrAdmin(const Caller& c, std::string_view username) {
  if (c.username == username || c.isAdmin()) return {};
  return makeError(ErrorCode::kPermissionDenied,
                   fmt::format("only '{}' or an Admin may do this", username));
}

Result<boost::json::object> objectBody(const http::Request& req) {
  if (req.body.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "the request needs a JSON object body");
  }
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(req.body));
  if (!v.is_object()) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("the body must be a JSON object, not {}", json::typeName(v)));
  }
  return std::move(v.get_object());
}

Status requireObjectId(std::string_view value, std::string_view name) {
  if (isObjectId(value)) return {};
  return makeError(ErrorCode::kInvalidArgument,
                   fmt::format("{}: '{}' is not a valid id (expected 24 hex digits)", name,
                               value.substr(0, 64)));
}

}  // namespace oak::root
