#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <optional>

#include "root/api/web_routes.h"

namespace oak::root::api {
namespace {

using http::Method;
using ::testing::HasSubstr;

const WebAsset kAssets[] = {
    {"/index.html", "<!doctype html><div id=app></div>", "GZ-INDEX", "\"i1\""},
    {"/assets/index-Ab12.js", "console.log(1)", "GZ-JS", "\"j1\""},
    {"/assets/index-Cd34.css", "body{}", "", "\"c1\""},
    {"/favicon.svg", "<svg/>", "", "\"f1\""},
};

std::string headerOf(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

class WebRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Method::kGet, "/api/things", {},
                [](const http::Request&) { return http::textResponse(200, "things"); });
    router_.add(Method::kPost, "/api/auth/login", {},
                [](const http::Request&) { return http::textResponse(200, "login"); });
    addWebRoutes(router_, kAssets);
  }

  http::Response get(std::string path, http::HeaderList headers = {},
                     Method m = Method::kGet) const {
    http::Request req;
    req.method = m;
    req.path = std::move(path);
    req.headers = std::move(headers);
    std::optional<http::Response> out;
    router_.dispatch(req, http::Responder([&out](http::Response r) { out = std::move(r); }));
    EXPECT_TRUE(out.has_value());
    return out.value_or(http::Response{0, "", "", {}});
  }

  http::Router router_;
};

TEST_F(WebRoutesTest, ServesTheIndexAtTheRootWithoutCaching) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, "<!doctype html><div id=app></div>");
  EXPECT_EQ(headerOf(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(headerOf(r, "ETag"), "\"i1\"");
  EXPECT_THAT(headerOf(r, "Content-Security-Policy"), HasSubstr("default-src 'self'"));
  EXPECT_EQ(get("/index.html").body, r.body);
}

TEST_F(WebRoutesTest, HashedAssetsAreImmutableWithTheirContentType) {
  auto js = get("/assets/index-Ab12.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(headerOf(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/assets/index-Cd34.css").content_type, "text/css; charset=utf-8");
  auto icon = get("/favicon.svg");
  EXPECT_EQ(icon.content_type, "image/svg+xml");
  EXPECT_EQ(headerOf(icon, "Cache-Control"), "no-cache");
}

TEST_F(WebRoutesTest, GzipOnlyForClientsThatAcceptIt) {
  auto plain = get("/assets/index-Ab12.js");
  EXPECT_EQ(plain.body, "console.log(1)");
  EXPECT_EQ(headerOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(headerOf(plain, "Vary"), "Accept-Encoding");

  auto gz = get("/assets/index-Ab12.js", {{"accept-encoding", "br, gzip;q=0.8, deflate"}});
  EXPECT_EQ(gz.body, "GZ-JS");
  EXPECT_EQ(headerOf(gz, "Content-Encoding"), "gzip");

  EXPECT_EQ(get("/assets/index-Ab12.js", {{"accept-encoding", "gzip;q=0"}}).body, "console.log(1)");
  EXPECT_EQ(get("/assets/index-Ab12.js", {{"accept-encoding", "*"}}).body, "GZ-JS");
  // A file without a compressed twin is sent as it is.
  auto css = get("/assets/index-Cd34.css", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(css.body, "body{}");
  EXPECT_EQ(headerOf(css, "Content-Encoding"), "");
}

TEST_F(WebRoutesTest, AppRoutesFallBackToTheIndex) {
  for (const char* path : {"/apps", "/apps/65f0c0ffee/services", "/login", "/infrastructure"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "<!doctype html><div id=app></div>") << path;
  }
  EXPECT_EQ(get("/apps", {}, Method::kHead).status, 200);
}

TEST_F(WebRoutesTest, MissingFilesAre404NotTheIndex) {
  auto r = get("/assets/index-gone.js");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("/assets/index-gone.js"));
  EXPECT_EQ(get("/robots.txt").status, 404);
}

TEST_F(WebRoutesTest, RevalidationAnswers304) {
  auto r = get("/", {{"if-none-match", "\"i1\""}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(get("/", {{"if-none-match", "\"old\""}}).status, 200);
}

TEST_F(WebRoutesTest, TheApiKeepsItsAnswers) {
  EXPECT_EQ(get("/api/things").body, "things");
  auto unknown = get("/api/nothing/here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.content_type, "application/json");
  EXPECT_THAT(unknown.body, HasSubstr("no such endpoint: GET /api/nothing/here"));
  EXPECT_EQ(get("/api", {}).status, 404);
  // Other methods and known paths behave as without the dashboard.
  EXPECT_EQ(get("/api/auth/login", {}, Method::kGet).status, 405);
  EXPECT_EQ(get("/apps", {}, Method::kPost).status, 404);
  EXPECT_EQ(get("/apps", {}, Method::kDelete).content_type, "application/json");
}

TEST(WebRoutesWithoutAssets, TheRootExplainsHowToBuildThem) {
  http::Router router;
  addWebRoutes(router, {});
  http::Request req;
  req.path = "/";
  std::optional<http::Response> out;
  router.dispatch(req, http::Responder([&out](http::Response r) { out = std::move(r); }));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 404);
  EXPECT_EQ(out->content_type, "text/html; charset=utf-8");
  EXPECT_THAT(out->body, HasSubstr("make build"));
}

TEST(EmbeddedWebAssets, AreWellFormed) {
  auto assets = embeddedWebAssets();
  bool has_index = false;
  for (const auto& a : assets) {
    EXPECT_TRUE(a.path.starts_with("/")) << a.path;
    EXPECT_FALSE(a.etag.empty()) << a.path;
    has_index = has_index || a.path == "/index.html";
    // gzip's magic number
    if (!a.gzipped.empty()) {
      EXPECT_EQ(a.gzipped.substr(0, 2), "\x1f\x8b") << a.path;
    }
  }
  EXPECT_TRUE(assets.empty() || has_index);
}

}  // namespace
}  // namespace oak::root::api
