// POST /api/auth/login, /api/auth/register, /api/auth/refresh.
// Password checks and hashing are deliberately slow (Argon2id), so they run off the event loop.

#include <boost/json.hpp>

#include "common/json.h"
#include "root/accounts.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

void addAuthRoutes(http::Router& r, RootContext& ctx) {
  r.addAsync(
      Method::kPost, "/api/auth/login",
      {"Log in; returns an access token and a refresh token", "auth", false, "", "Login", "Tokens"},
      [&ctx](const http::Request& req, http::Responder respond) {
        auto body = objectBody(req);
        if (!body) return respond.send(toResponse(body.error()));
        auto target = ctx.accounts->prepareLogin(*body);
        if (!target) return respond.send(toResponse(target.error()));
        auto password = json::getString(*body, "password").value_or("");
        auto ok = std::make_shared<bool>(false);
        std::string hash = target->password_hash;  // `target` is moved below
        ctx.loop.runBlocking(
            [ok, hash = std::move(hash), password] { *ok = auth::verifyPassword(hash, password); },
            [&ctx, ok, t = std::move(*target), respond] {
              if (!*ok || !t.user_exists) {
                return respond.send(toResponse(
                    makeError(ErrorCode::kUnauthenticated, "wrong username or password")));
              }
              auto tokens = ctx.accounts->issueTokens(t.username, t.roles, t.organization_id);
              if (!tokens) return respond.send(toResponse(tokens.error()));
              respond.send(http::jsonResponse(
                  200, bj::object{{"token", tokens->access}, {"refresh_token", tokens->refresh}}));
            });
      });

  r.addAsync(
      Method::kPost, "/api/auth/register",
      {"Create a user in the caller's organization", "auth", true, "Admin", "NewUser", "User"},
      [&ctx](const http::Request& req, http::Responder respond) {
        auto caller = authenticate(ctx, req);
        if (!caller) return respond.send(toResponse(caller.error()));
        if (auto s = requireRole(*caller, "Admin"); !s) return respond.send(toResponse(s.error()));
        auto body = objectBody(req);
        if (!body) return respond.send(toResponse(body.error()));
        auto user = ctx.accounts->validateRegistration(*body);
        if (!user) return respond.send(toResponse(user.error()));
        auto hash = std::make_shared<Result<std::string>>(std::string());
        std::string password = user->password;  // `user` is moved below
        ctx.loop.runBlocking([hash, pw = std::move(password),
                              cost = ctx.password_cost] { *hash = auth::hashPassword(pw, cost); },
                             [&ctx, hash, c = std::move(*caller), u = std::move(*user), respond] {
                               if (!*hash) return respond.send(toResponse(hash->error()));
                               auto created = ctx.accounts->createUser(c, u, **hash);
                               if (!created) return respond.send(toResponse(created.error()));
                               respond.send(http::jsonResponse(200, *created));
                             });
      });

  r.add(Method::kPost, "/api/auth/refresh",
        {"Exchange the refresh token (sent as the bearer token) for a new access token", "auth",
         true, "", "", "Tokens"},
        [&ctx](const http::Request& req) {
          auto token = http::bearerToken(req);
          if (!token) return toResponse(token.error());
          auto access = ctx.accounts->refresh(*token);
          if (!access) return toResponse(access.error());
          return http::jsonResponse(200, bj::object{{"token", *access}});
        });
}

}  // namespace oak::root::api
