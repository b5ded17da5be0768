#include "root/api/routes.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace oak::root::api {

http::Response toResponse(const Error& e) {
  if (httpStatus(e.code) >= 500) {
    spdlog::error("request failed: {}", e.message);
  }
  return http::errorResponse(e);
}

http::Response toResponse(const Result<boost::json::value>& result) {
  if (!result) return toResponse(result.error());
  return http::jsonResponse(200, *result);
}

namespace {

Result<Caller> authorize(RootContext& ctx, const http::Request& req, const std::string& role) {
  OAK_ASSIGN_OR_RETURN(auto caller, authenticate(ctx, req));
  if (!role.empty()) OAK_TRY(requireRole(caller, role));
  return caller;
}

}  // namespace

void addAuthed(http::Router& r, RootContext& ctx, http::Method m, std::string pattern,
               http::RouteDoc doc, Action action) {
  doc.authenticated = true;
  std::string role = doc.role;
  r.add(m, std::move(pattern), std::move(doc),
        [&ctx, role, action = std::move(action)](const http::Request& req) {
          auto caller = authorize(ctx, req, role);
          if (!caller) return toResponse(caller.error());
          return toResponse(action(req, *caller));
        });
}

void addAuthedAsync(http::Router& r, RootContext& ctx, http::Method m, std::string pattern,
                    http::RouteDoc doc, AsyncAction action) {
  doc.authenticated = true;
  std::string role = doc.role;
  r.addAsync(
      m, std::move(pattern), std::move(doc),
      [&ctx, role, action = std::move(action)](const http::Request& req, http::Responder respond) {
        auto caller = authorize(ctx, req, role);
        if (!caller) return respond.send(toResponse(caller.error()));
        action(req, *caller, std::move(respond));
      });
}

}  // namespace oak::root::api
