#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <optional>

#include "http/router.h"

namespace oak::http {
namespace {

namespace bj = boost::json;

std::string headerOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Method::kGet, "/api/items", {},
                [](const Request&) { return textResponse(200, "list"); });
    router_.add(Method::kPost, "/api/items", {},
                [](const Request&) { return textResponse(201, "created"); });
    router_.add(Method::kGet, "/api/items/{id}", {}, [](const Request& req) {
      return textResponse(200, "item " + std::string(req.param("id")));
    });
    router_.add(Method::kDelete, "/api/items/{id}/tags/{tag}", {}, [](const Request& req) {
      return textResponse(200, std::string(req.param("id")) + "/" + std::string(req.param("tag")));
    });
    router_.add(Method::kGet, "/", {}, [](const Request&) { return textResponse(200, "root"); });
  }

  // Dispatches a request for an already normalised path and returns the answer.
  Response dispatch(Method m, std::string path, Request* seen = nullptr) {
    Request req;
    req.method = m;
    req.path = std::move(path);
    std::optional<Response> out;
    router_.dispatch(req, Responder([&out](Response r) { out = std::move(r); }));
    EXPECT_TRUE(out.has_value()) << "no synchronous answer";
    if (seen) *seen = req;
    return out.value_or(Response{0, "", "", {}});
  }

  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRoutes) {
  auto r = dispatch(Method::kGet, "/api/items");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "list");
  EXPECT_EQ(dispatch(Method::kPost, "/api/items").status, 201);
  EXPECT_EQ(dispatch(Method::kGet, "/").body, "root");
}

TEST_F(RouterTest, ExtractsTemplateParameters) {
  Request seen;
  auto r = dispatch(Method::kGet, "/api/items/abc", &seen);
  EXPECT_EQ(r.body, "item abc");
  ASSERT_EQ(seen.path_params.size(), 1u);
  EXPECT_EQ(seen.path_params[0], (std::pair<std::string, std::string>{"id", "abc"}));

  r = dispatch(Method::kDelete, "/api/items/7/tags/red", &seen);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "7/red");
  EXPECT_EQ(seen.param("id"), "7");
  EXPECT_EQ(seen.param("tag"), "red");
  EXPECT_EQ(seen.param("missing"), "");
}

TEST_F(RouterTest, TemplatesMatchWholeSegmentsOnly) {
  EXPECT_EQ(dispatch(Method::kGet, "/api/items/abc/more").status, 404);
  EXPECT_EQ(dispatch(Method::kGet, "/api").status, 404);
  EXPECT_EQ(dispatch(Method::kGet, "/api/itemsx").status, 404);
  // An empty segment is not a parameter value.
  EXPECT_EQ(dispatch(Method::kDelete, "/api/items//tags/red").status, 404);
}

TEST_F(RouterTest, UnknownPathIs404WithTheErrorShape) {
  auto r = dispatch(Method::kGet, "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto v = bj::parse(r.body);
  ASSERT_TRUE(v.is_object()) << r.body;
  const auto& o = v.get_object();
  EXPECT_EQ(o.size(), 3u) << r.body;
  EXPECT_EQ(o.at("code"), 404);
  EXPECT_EQ(o.at("status"), "Not Found");
  ASSERT_TRUE(o.at("message").is_string());
  EXPECT_NE(o.at("message").get_string().find("/nope"), bj::string::npos) << r.body;
}

TEST_F(RouterTest, KnownPathWithOtherMethodIs405WithAllow) {
  auto r = dispatch(Method::kPut, "/api/items");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(headerOf(r, "Allow"), "GET, POST, OPTIONS");
  auto v = bj::parse(r.body);
  EXPECT_EQ(v.at("code"), 405);
  EXPECT_EQ(v.at("status"), "Method Not Allowed");

  r = dispatch(Method::kPost, "/api/items/1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(headerOf(r, "Allow"), "GET, OPTIONS");
}

TEST_F(RouterTest, OptionsAnswersAPreflight) {
  auto r = dispatch(Method::kOptions, "/api/items");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(headerOf(r, "Access-Control-Allow-Methods"), "GET, POST, OPTIONS");
  auto allowed = headerOf(r, "Access-Control-Allow-Headers");
  EXPECT_NE(allowed.find("Authorization"), std::string::npos) << allowed;
  EXPECT_NE(allowed.find("Content-Type"), std::string::npos) << allowed;
  // A preflight for a path that does not exist is still a 404.
  EXPECT_EQ(dispatch(Method::kOptions, "/nope").status, 404);
}

TEST_F(RouterTest, ExplicitOptionsRouteWins) {
  router_.add(Method::kOptions, "/special", {},
              [](const Request&) { return textResponse(200, "mine"); });
  EXPECT_EQ(dispatch(Method::kOptions, "/special").body, "mine");
}

TEST_F(RouterTest, HeadIsServedByGetRoutes) {
  Request seen;
  auto r = dispatch(Method::kHead, "/api/items/9", &seen);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(seen.method, Method::kHead);
  EXPECT_EQ(seen.param("id"), "9");
  // HEAD does not reach routes of other methods.
  EXPECT_EQ(dispatch(Method::kHead, "/api/items/9/tags/x").status, 405);
}

TEST_F(RouterTest, AsyncHandlerAnswersLater) {
  std::optional<Responder> held;
  router_.addAsync(Method::kGet, "/later", {},
                   [&held](const Request&, Responder r) { held = std::move(r); });
  Request req;
  req.path = "/later";
  std::optional<Response> out;
  router_.dispatch(req, Responder([&out](Response r) { out = std::move(r); }));
  EXPECT_FALSE(out.has_value());
  ASSERT_TRUE(held.has_value());
  held->send(textResponse(202, "done"));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 202);
}

TEST(Responder, SendsOnlyTheFirstAnswer) {
  int calls = 0;
  int last = 0;
  Responder r([&](Response res) {
    ++calls;
    last = res.status;
  });
  Responder copy = r;  // copies share the answered state
  r.send(textResponse(200, "a"));
  r.send(textResponse(500, "b"));
  copy.send(textResponse(201, "c"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(last, 200);
}

TEST(Responder, HandlerAnsweringTwiceIsSentOnce) {
  Router router;
  router.addAsync(Method::kGet, "/twice", {}, [](const Request&, Responder r) {
    r.send(textResponse(200, "first"));
    r.send(textResponse(500, "second"));
  });
  Request req;
  req.path = "/twice";
  std::vector<Response> sent;
  router.dispatch(req, Responder([&sent](Response r) { sent.push_back(std::move(r)); }));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, "first");
}

TEST(NormalizePath, StripsOneTrailingSlash) {
  EXPECT_EQ(normalizePath("/"), "/");
  EXPECT_EQ(normalizePath(""), "/");
  EXPECT_EQ(normalizePath("/a"), "/a");
  EXPECT_EQ(normalizePath("/a/"), "/a");
  EXPECT_EQ(normalizePath("/a/b/"), "/a/b");
  EXPECT_EQ(normalizePath("/a//"), "/a/");
}

TEST_F(RouterTest, NormalizedTrailingSlashMatchesTheSameRoute) {
  EXPECT_EQ(dispatch(Method::kGet, normalizePath("/api/items/")).body, "list");
  EXPECT_EQ(dispatch(Method::kGet, normalizePath("/api/items/x/")).body, "item x");
}

TEST_F(RouterTest, KeepsTheRouteTable) {
  ASSERT_EQ(router_.routes().size(), 5u);
  const auto& r = router_.routes()[3];
  EXPECT_EQ(r.method, Method::kDelete);
  EXPECT_EQ(r.pattern, "/api/items/{id}/tags/{tag}");
  EXPECT_EQ(r.segments, (std::vector<std::string>{"api", "items", "{id}", "tags", "{tag}"}));
}

}  // namespace
}  // namespace oak::http
