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

void addAuthed(http::Router& r, RootContext& ctx, http::Method m, std::string pattern,
               http::RouteDoc doc, Action action) {
  doc.authenticated = true;
  std::string role = doc.role;
  r.add(m, std::move(pattern), std::move(doc),
        [&ctx, role, action = std::move(action)](const http::Request& req) {
          auto caller = authenticate(ctx, req);
          if (!caller) return toResponse(caller.error());
          if (!role.empty()) {
            if (auto s = requireRole(*caller, role); !s) return toResponse(s.error());
          }
          return toResponse(action(req, *caller));
        });
}

}  // namespace oak::root::api
