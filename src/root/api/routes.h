#pragma once
// The root's REST API, one file per resource. Every route is registered with its OpenAPI
// description; `addAuthed` enforces exactly the authentication and role that the description
// states, so the published document and the behaviour cannot disagree.

#include <boost/json/value.hpp>

#include <functional>

#include "http/router.h"
#include "root/caller.h"
#include "root/context.h"

namespace oak::root::api {

using Action = std::function<Result<boost::json::value>(const http::Request&, const Caller&)>;
using AsyncAction = std::function<void(const http::Request&, const Caller&, http::Responder)>;

// Registers a route that needs an access token (and `doc.role`, if set) and answers 200 with the
// JSON the action returns, or the error's status and message.
void addAuthed(http::Router& r, RootContext& ctx, http::Method m, std::string pattern,
               http::RouteDoc doc, Action action);
// Likewise for an action that answers later (or with a streamed response).
void addAuthedAsync(http::Router& r, RootContext& ctx, http::Method m, std::string pattern,
                    http::RouteDoc doc, AsyncAction action);
http::Response toResponse(const Result<boost::json::value>& result);
http::Response toResponse(const Error& e);

void addAuthRoutes(http::Router& r, RootContext& ctx);
void addUserRoutes(http::Router& r, RootContext& ctx);
void addOrganizationRoutes(http::Router& r, RootContext& ctx);
void addApplicationRoutes(http::Router& r, RootContext& ctx);
void addServiceRoutes(http::Router& r, RootContext& ctx);
void addLogRoutes(http::Router& r, RootContext& ctx);
void addControlLogRoutes(http::Router& r, RootContext& ctx);
void addAlertRoutes(http::Router& r, RootContext& ctx);
void addClusterRoutes(http::Router& r, RootContext& ctx);
void addClusterAdminRoutes(http::Router& r, RootContext& ctx);
void addClusterLinkRoute(http::Router& r, RootContext& ctx);
void addNetRoutes(http::Router& r, RootContext& ctx);
// Must be added last: the document lists the routes registered before it.
void addDocRoutes(http::Router& r);

// Named request/response schemas referenced by the route descriptions.
boost::json::object apiSchemas();

}  // namespace oak::root::api
