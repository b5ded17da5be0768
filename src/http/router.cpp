#include "http/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace oak::http {

struct Responder::State {
  std::function<void(Response)> sink;
  bool sent = false;
};

Responder::Responder(std::function<void(Response)> sink)
    : state_(std::make_shared<State>(State{std::move(sink), false})) {}

void Responder::send(Response r) const {
  if (state_->sent) {
    spdlog::error("a handler answered the same request twice; the second answer is dropped");
    return;
  }
  state_->sent = true;
  state_->sink(std::move(r));
}

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // skip leading '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool isParam(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

bool match(const Route& r, const std::vector<std::string_view>& segs, HeaderList* params) {
  if (r.segments.size() != segs.size()) return false;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = r.segments[i];
    if (isParam(p)) {
      if (segs[i].empty()) return false;
      if (params) params->emplace_back(p.substr(1, p.size() - 2), segs[i]);
    } else if (p != segs[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string normalizePath(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return std::string(path.empty() ? "/" : path);
}

void Router::add(Method m, std::string pattern, RouteDoc doc, SyncHandler h) {
  addAsync(m, std::move(pattern), std::move(doc),
           [h = std::move(h)](const Request& req, Responder respond) { respond.send(h(req)); });
}

void Router::addAsync(Method m, std::string pattern, RouteDoc doc, AsyncHandler h) {
  Route r{m, pattern, {}, std::move(doc), std::move(h), {}};
  for (auto s : split(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::addWebSocket(std::string pattern, RouteDoc doc, WebSocketAccept accept) {
  add(Method::kGet, std::move(pattern), std::move(doc), [](const Request& req) {
    // Built by hand: the shared reason-phrase table does not know 426.
    boost::json::object o{{"code", 426},
                          {"status", "Upgrade Required"},
                          {"message", fmt::format("{} is a WebSocket endpoint", req.path)}};
    auto r = jsonResponse(426, o);
    r.headers.emplace_back("Upgrade", "websocket");
    return r;
  });
  routes_.back().websocket = std::move(accept);
}

const Route* Router::find(Request& req, std::string* allow) const {
  auto segs = split(req.path);
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    if (!match(r, segs, nullptr)) continue;
    if (r.method == req.method || (req.method == Method::kHead && r.method == Method::kGet)) {
      match(r, segs, &req.path_params);
      return &r;
    }
    allowed.emplace_back(methodName(r.method));
  }
  if (!allowed.empty()) *allow = fmt::format("{}, OPTIONS", fmt::join(allowed, ", "));
  return nullptr;
}

namespace {

// The answer for a request that matches no route: 404, or 405 when the path has other methods.
Response unrouted(const Request& req, const std::string& allow) {
  if (allow.empty()) {
    return errorResponse(404,
                         fmt::format("no such endpoint: {} {}", methodName(req.method), req.path));
  }
  auto r = errorResponse(405, fmt::format("{} is not allowed on {} (allowed: {})",
                                          methodName(req.method), req.path, allow));
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

Responder Router::observed(RequestRecord record, Responder respond) const {
  auto started = std::chrono::steady_clock::now();
  return Responder([observer = observer_, record = std::move(record), started,
                    respond = std::move(respond)](Response r) mutable {
    record.status = r.status;
    record.elapsed = std::chrono::steady_clock::now() - started;
    observer(record);
    respond.send(std::move(r));
  });
}

void Router::dispatch(Request& req, const Responder& respond) const {
  std::string allow;
  const Route* r = find(req, &allow);
  bool fallback = r == nullptr && fallback_ && allow.empty() &&
                  (req.method == Method::kGet || req.method == Method::kHead);
  Responder out = respond;
  if (observer_) {
    RequestRecord record;
    if (r) record.route = r->pattern;
    record.fallback = fallback;
    record.method = req.method;
    out = observed(std::move(record), respond);
  }
  if (r) {
    r->handler(req, out);
    return;
  }
  if (fallback) {
    fallback_(req, out);
    return;
  }
  if (req.method == Method::kOptions && !allow.empty()) {
    Response pre{204, "", "", {}};
    pre.headers = {{"Access-Control-Allow-Methods", allow},
                   {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                   {"Access-Control-Max-Age", "600"}};
    out.send(std::move(pre));
    return;
  }
  out.send(unrouted(req, allow));
}

const WebSocketAccept* Router::matchWebSocket(Request& req, Response* refusal) const {
  std::string allow;
  const Route* r = find(req, &allow);
  if (r && r->websocket) return &r->websocket;
  *refusal = r ? errorResponse(400, fmt::format("{} does not accept WebSocket upgrades", req.path))
               : unrouted(req, allow);
  return nullptr;
}

}  // namespace oak::http
