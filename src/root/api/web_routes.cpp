#include "root/api/web_routes.h"

#include <fmt/format.h>

#include <array>
#include <map>
#include <memory>
#include <utility>

namespace oak::root::api {

namespace {

// Vite names the files under /assets/ after their content, so they never change.
constexpr std::string_view kHashedPrefix = "/assets/";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kIndex = "/index.html";
// The app talks only to its own origin and is never framed.
constexpr std::string_view kPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

constexpr std::string_view kNotBuilt = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Oakestra</title></head>
<body style="font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>The web dashboard is not part of this build</h1>
<p>This <code>oakestra</code> binary was built without the dashboard. Build it with
<code>make build</code> in the source tree (it needs Node.js 20 and npm: it runs
<code>npm ci</code> and <code>npm run build</code> in <code>web/</code>, then compiles the
result into the binary), and start <code>oakestra root</code> again.</p>
<p>The REST API works without it: <a href="/api/docs/openapi.json">/api/docs/openapi.json</a>
describes every endpoint.</p>
</body></html>
)";

std::string_view contentType(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (path.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether an Accept-Encoding header allows gzip ("gzip", "x-gzip" or "*", not with q=0).
bool acceptsGzip(std::string_view header) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? "" : header.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view name = trim(item.substr(0, semi));
    if (name != "gzip" && name != "x-gzip" && name != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view q = trim(item.substr(semi + 1));
    if (!q.starts_with("q=")) return true;
    q.remove_prefix(2);
    return q.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

bool isApiPath(std::string_view path) {
  return path == "/api" || path.starts_with("/api/");
}

// A path whose last segment has an extension names a file, not a page of the app.
bool namesFile(std::string_view path) {
  return path.substr(path.rfind('/') + 1).find('.') != std::string_view::npos;
}

http::Response serve(const WebAsset& a, const http::Request& req) {
  http::Response r{200, std::string(contentType(a.path)), "", {}};
  bool hashed = a.path.starts_with(kHashedPrefix);
  r.headers = {{"Cache-Control", std::string(hashed ? kImmutable : "no-cache")},
               {"ETag", std::string(a.etag)},
               {"Vary", "Accept-Encoding"},
               {"X-Content-Type-Options", "nosniff"}};
  if (a.path == kIndex) r.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  if (!a.etag.empty() && req.header("if-none-match") == a.etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (!a.gzipped.empty() && acceptsGzip(req.header("accept-encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = std::string(a.gzipped);
  } else {
    r.body = std::string(a.data);
  }
  return r;
}

}  // namespace

void addWebRoutes(http::Router& r, std::span<const WebAsset> assets) {
  auto by_path = std::make_shared<std::map<std::string_view, const WebAsset*>>();
  for (const auto& a : assets) (*by_path)[a.path] = &a;
  r.setFallback([by_path](const http::Request& req, http::Responder respond) {
    if (isApiPath(req.path)) {
      return respond.send(http::errorResponse(
          404, fmt::format("no such endpoint: {} {}", http::methodName(req.method), req.path)));
    }
    auto it = by_path->find(req.path == "/" ? kIndex : std::string_view(req.path));
    if (it == by_path->end() && !namesFile(req.path)) it = by_path->find(kIndex);
    if (it != by_path->end()) return respond.send(serve(*it->second, req));
    if (by_path->empty()) {
      http::Response page{404, "text/html; charset=utf-8", std::string(kNotBuilt), {}};
      page.headers = {{"Cache-Control", "no-cache"}};
      return respond.send(std::move(page));
    }
    respond.send(http::textResponse(404, fmt::format("no such file: {}\n", req.path)));
  });
}

}  // namespace oak::root::api
