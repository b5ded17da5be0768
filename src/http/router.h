#pragma once
// Maps (method, path template) to handlers. Templates use OpenAPI syntax ("/api/service/{id}"),
// so the route table doubles as the source of the OpenAPI document (see `openapi.h`).
// Paths match with or without a trailing slash.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.h"
#include "http/websocket.h"

namespace oak::http {

// Completes an asynchronous request. Must be called on the event loop thread, exactly once;
// extra calls are ignored.
class Responder {
 public:
  explicit Responder(std::function<void(Response)> sink);
  void send(Response r) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using SyncHandler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<void(const Request&, Responder)>;

struct QueryParamDoc {
  std::string name;
  std::string type;  // JSON Schema type: string, integer, boolean
  std::string description;
};

// What the OpenAPI document says about a route.
struct RouteDoc {
  std::string summary;
  std::string tag;
  bool authenticated = true;    // needs a bearer access token
  std::string role;             // role required besides authentication, if any
  std::string request_schema;   // name of a request body schema, empty if no body
  std::string response_schema;  // name of the success response schema, empty for a generic object
  std::vector<QueryParamDoc> query = {};
  // Set when the route may answer with a streamed body of this type instead (see stream.h).
  std::string stream_content_type = {};
};

struct Route {
  Method method;
  std::string pattern;
  std::vector<std::string> segments;  // pattern split on '/'
  RouteDoc doc;
  AsyncHandler handler;
  WebSocketAccept websocket;  // set for WebSocket endpoints (GET with an upgrade)
};

// What the router did with one request (for metrics). A copy: an answer may come after the
// router is gone.
struct RequestRecord {
  std::string route;      // the route's pattern; empty for 404, 405, preflights and the fallback
  bool fallback = false;  // answered by the fallback handler
  Method method = Method::kGet;
  int status = 0;
  std::chrono::steady_clock::duration elapsed{};  // from dispatch to the answer
};
using RequestObserver = std::function<void(const RequestRecord&)>;

class Router {
 public:
  void add(Method m, std::string pattern, RouteDoc doc, SyncHandler h);
  void addAsync(Method m, std::string pattern, RouteDoc doc, AsyncHandler h);
  // A WebSocket endpoint: an upgrade request runs `accept` (see websocket.h); a plain GET is
  // answered 426.
  void addWebSocket(std::string pattern, RouteDoc doc, WebSocketAccept accept);
  // Answers GET and HEAD requests whose path no route knows (static files such as the web
  // dashboard); it is not part of the route table, so the API document does not list it.
  void setFallback(AsyncHandler h) { fallback_ = std::move(h); }
  // Hears of every answer `dispatch` passes on, on the thread that sends it (the event loop).
  // WebSocket upgrades and the server's own refusals (400, 413, 431, a 503 for a handler that
  // never answered) do not pass through the router.
  void setObserver(RequestObserver o) { observer_ = std::move(o); }

  // Finds the route, fills `req.path_params`, and runs it. Unknown paths answer 404, known paths
  // with another method 405, and OPTIONS answers a CORS preflight.
  void dispatch(Request& req, const Responder& respond) const;

  // For an upgrade request: the accept function of its route, with `req.path_params` filled, or
  // nullptr and the answer in `refusal` (404 unknown path, 405 no GET, 400 not a WebSocket route).
  const WebSocketAccept* matchWebSocket(Request& req, Response* refusal) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  // The route for the request's path and method (path parameters filled), or nullptr and the
  // methods the path allows in `allow` (empty for an unknown path).
  const Route* find(Request& req, std::string* allow) const;
  // `respond`, telling the observer about the answer first.
  Responder observed(RequestRecord record, Responder respond) const;

  std::vector<Route> routes_;
  AsyncHandler fallback_;
  RequestObserver observer_;
};

// Normalises a request path: strips one trailing slash (except for "/").
std::string normalizePath(std::string_view path);

}  // namespace oak::http
