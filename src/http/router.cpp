#include "http/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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
  Route r{m, pattern, {}, std::move(doc), std::move(h)};
  for (auto s : split(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::dispatch(Request& req, const Responder& respond) const {
  auto segs = split(req.path);
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    if (!match(r, segs, nullptr)) continue;
    if (r.method == req.method || (req.method == Method::kHead && r.method == Method::kGet)) {
      match(r, segs, &req.path_params);
      r.handler(req, respond);
      return;
    }
    allowed.emplace_back(methodName(r.method));
  }
  if (allowed.empty()) {
    respond.send(errorResponse(
        404, fmt::format("no such endpoint: {} {}", methodName(req.method), req.path)));
    return;
  }
  std::string allow = fmt::format("{}, OPTIONS", fmt::join(allowed, ", "));
  if (req.method == Method::kOptions) {
    Response pre{204, "", "", {}};
    pre.headers = {{"Access-Control-Allow-Methods", allow},
                   {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                   {"Access-Control-Max-Age", "600"}};
    respond.send(std::move(pre));
    return;
  }
  auto r = errorResponse(405, fmt::format("{} is not allowed on {} (allowed: {})",
                                          methodName(req.method), req.path, allow));
  r.headers.emplace_back("Allow", allow);
  respond.send(std::move(r));
}

}  // namespace oak::http
