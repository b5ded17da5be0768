// Users (/api/user, /api/users) and permissions (/api/permission).

#include <boost/json.hpp>

#include "root/accounts.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

void addUserRoutes(http::Router& r, RootContext& ctx) {
  auto& acc = *ctx.accounts;
  addAuthed(r, ctx, Method::kGet, "/api/user/{username}",
            {"Get a user (yourself, or anyone as Admin)", "users", true, "", "", "User"},
            [&acc](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return acc.getUser(c, req.param("username"));
            });
  addAuthed(r, ctx, Method::kPut, "/api/user/{username}",
            {"Update a user's e-mail and roles in the caller's organization", "users", true,
             "Admin", "UserUpdate", "User"},
            [&acc](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto body, objectBody(req));
              return acc.updateUser(c, req.param("username"), body);
            });
  addAuthed(r, ctx, Method::kDelete, "/api/user/{username}",
            {"Delete a user; returns the remaining users", "users", true, "Admin", "", "UserList"},
            [&acc](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return acc.deleteUser(c, req.param("username"));
            });
  r.addAsync(
      Method::kPost, "/api/user/{username}",
      {"Change your own password", "users", true, "", "PasswordChange", ""},
      [&ctx](const http::Request& req, http::Responder respond) {
        auto caller = authenticate(ctx, req);
        if (!caller) return respond.send(toResponse(caller.error()));
        auto body = objectBody(req);
        if (!body) return respond.send(toResponse(body.error()));
        std::string name(req.param("username"));
        auto change = ctx.accounts->checkPasswordChange(*caller, name, *body);
        if (!change) return respond.send(toResponse(change.error()));
        auto result = std::make_shared<Result<std::string>>(std::string());
        ctx.loop.runBlocking(
            [result, pc = std::move(*change), cost = ctx.password_cost] {
              if (!auth::verifyPassword(pc.current_hash, pc.old_password)) {
                *result = makeError(ErrorCode::kPermissionDenied,
                                    "oldPassword: the current password is not correct");
              } else {
                *result = auth::hashPassword(pc.new_password, cost);
              }
            },
            [&ctx, result, name, respond] {
              if (!*result) return respond.send(toResponse(result->error()));
              if (auto s = ctx.accounts->setPassword(name, **result); !s) {
                return respond.send(toResponse(s.error()));
              }
              respond.send(http::jsonResponse(200, bj::object{{"message", "Password changed"}}));
            });
      });
  addAuthed(
      r, ctx, Method::kGet, "/api/users",
      {"List all users", "users", true, "Admin", "", "UserList"},
      [&acc](const http::Request&, const Caller&) -> Result<bj::value> { return acc.listUsers(); });
  addAuthed(r, ctx, Method::kGet, "/api/users/{organization_id}",
            {"List the members of an organization, with their roles", "users", true, "Admin", "",
             "UserList"},
            [&acc](const http::Request& req, const Caller&) -> Result<bj::value> {
              return acc.listOrganizationUsers(req.param("organization_id"));
            });
  addAuthed(r, ctx, Method::kGet, "/api/permission/{username}",
            {"A user's roles in the caller's organization", "users", true, "", "", "Roles"},
            [&acc](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return acc.permissions(c, req.param("username"));
            });
}

}  // namespace oak::root::api
