#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "http/router.h"
#include "metrics/http_metrics.h"
#include "promtool.h"

namespace oak::metrics {
namespace {

using http::Method;
using ::testing::HasSubstr;
using ::testing::Not;

class HttpMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Method::kGet, "/api/item/{id}", {"An item", "t", false, "", "", ""},
                [](const http::Request& req) {
                  return req.param("id") == "missing" ? http::errorResponse(404, "no such item")
                                                      : http::textResponse(200, "item");
                });
    router_.addAsync(Method::kPost, "/api/later", {"Answers later", "t", false, "", "", ""},
                     [this](const http::Request&, http::Responder respond) {
                       pending_.emplace(std::move(respond));
                     });
    router_.setFallback([](const http::Request&, http::Responder respond) {
      respond.send(http::textResponse(200, "static file"));
    });
    observeRequests(router_, registry_);
  }

  http::Response call(Method m, std::string path, std::string token = "") {
    http::Request req;
    req.method = m;
    req.path = std::move(path);
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    // Shared: an asynchronous handler answers after this call returned.
    auto out = std::make_shared<http::Response>();
    router_.dispatch(req, http::Responder([out](http::Response r) { *out = std::move(r); }));
    return *out;
  }

  Registry registry_;
  http::Router router_;
  std::optional<http::Responder> pending_;
};

TEST_F(HttpMetricsTest, CountsByRoutePatternMethodAndStatus) {
  call(Method::kGet, "/api/item/1");
  call(Method::kGet, "/api/item/2");
  call(Method::kHead, "/api/item/3");
  call(Method::kGet, "/api/item/missing");
  call(Method::kDelete, "/api/item/1");  // 405
  call(Method::kGet, "/index.html");     // the fallback
  call(Method::kPost, "/nowhere");       // 404
  std::string text = registry_.render();
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"/api/item/{id}\",method="
                              "\"GET\",code=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"/api/item/{id}\",method="
                              "\"HEAD\",code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"/api/item/{id}\",method="
                              "\"GET\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"unmatched\",method="
                              "\"DELETE\",code=\"405\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"unmatched\",method="
                              "\"POST\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_requests_total{route=\"static\",method="
                              "\"GET\",code=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("oakestra_http_request_duration_seconds_count{route="
                              "\"/api/item/{id}\",method=\"GET\"} 3\n"));
  EXPECT_TRUE(oak::testing::promtoolAccepts(text));
}

TEST_F(HttpMetricsTest, AsynchronousAnswersCountWhenTheyAreSent) {
  call(Method::kPost, "/api/later");
  ASSERT_TRUE(pending_);
  EXPECT_THAT(registry_.render(), Not(HasSubstr("/api/later")));
  pending_->send(http::textResponse(202, "done"));
  EXPECT_THAT(registry_.render(),
              HasSubstr("oakestra_http_requests_total{route=\"/api/later\",method=\"POST\","
                        "code=\"202\"} 1\n"));
}

TEST_F(HttpMetricsTest, EndpointServesTheTextFormat) {
  addMetricsEndpoint(router_, registry_);
  call(Method::kGet, "/api/item/1");
  auto r = call(Method::kGet, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("# TYPE oakestra_http_requests_total counter\n"));
  // The scrape itself is counted once it is answered.
  EXPECT_THAT(call(Method::kGet, "/metrics").body,
              HasSubstr("oakestra_http_requests_total{route=\"/metrics\",method=\"GET\","
                        "code=\"200\"} 1\n"));
}

TEST_F(HttpMetricsTest, EndpointWithATokenRefusesOthers) {
  addMetricsEndpoint(router_, registry_, {"s3cret"});
  EXPECT_EQ(call(Method::kGet, "/metrics").status, 401);
  EXPECT_EQ(call(Method::kGet, "/metrics", "s3cre").status, 401);
  EXPECT_EQ(call(Method::kGet, "/metrics", "s3cret!").status, 401);
  auto ok = call(Method::kGet, "/metrics", "s3cret");
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, HasSubstr("code=\"401\"} 3\n"));
}

}  // namespace
}  // namespace oak::metrics
