#pragma once
// The web dashboard, served by the root on its API port: the files of the built single-page app
// (compiled into the binary, see cmake/EmbedWebAssets.cmake) at `/`, and `index.html` for every
// other path outside `/api` so that the app's own routes survive a reload.

#include <span>
#include <string_view>

#include "http/router.h"

namespace oak::root::api {

struct WebAsset {
  std::string_view path;     // "/index.html", "/assets/index-Bx3f9a.js"
  std::string_view data;     // the file
  std::string_view gzipped;  // the same, gzip-compressed; empty when there is no such version
  std::string_view etag;     // a quoted strong validator of `data`
};

// The dashboard compiled into this binary; empty when it was built before `web/dist` existed.
std::span<const WebAsset> embeddedWebAssets();

// Serves `assets` as the router's fallback. Without assets, `/` explains how to build them.
// `assets` must outlive the router.
void addWebRoutes(http::Router& r, std::span<const WebAsset> assets);

}  // namespace oak::root::api
