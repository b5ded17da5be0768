#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "http/message.h"

namespace oak::http {
namespace {

namespace bj = boost::json;

TEST(Method, NamesRoundTrip) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kPatch, Method::kOptions}) {
    EXPECT_EQ(methodFromName(methodName(m)), m) << methodName(m);
  }
  EXPECT_EQ(methodFromName("get"), Method::kOther) << "method names are case-sensitive";
  EXPECT_EQ(methodFromName("TRACE"), Method::kOther);
}

TEST(Request, QueryParamDecodesPercentAndPlus) {
  Request r;
  r.query = "name=a%20b+c&empty=&flag&x=1&x=2&enc=%2F%26%3D";
  EXPECT_EQ(r.queryParam("name"), "a b c");
  EXPECT_EQ(r.queryParam("empty"), "");
  EXPECT_EQ(r.queryParam("flag"), "");
  EXPECT_EQ(r.queryParam("x"), "1") << "the first occurrence wins";
  EXPECT_EQ(r.queryParam("enc"), "/&=");
  EXPECT_EQ(r.queryParam("missing"), std::nullopt);
  EXPECT_EQ(r.queryParam("nam"), std::nullopt);
}

TEST(Request, QueryParamKeepsMalformedEscapesRaw) {
  Request r;
  r.query = "bad=%zz1&ok=1";
  EXPECT_EQ(r.queryParam("bad"), "%zz1");
  EXPECT_EQ(r.queryParam("ok"), "1");
}

TEST(Request, HeaderAndParamLookup) {
  Request r;
  r.headers = {{"content-type", "application/json"}, {"x-a", "1"}};
  r.path_params = {{"id", "42"}};
  EXPECT_EQ(r.header("x-a"), "1");
  EXPECT_EQ(r.header("x-b"), "");
  EXPECT_EQ(r.param("id"), "42");
  EXPECT_EQ(r.param("other"), "");
}

TEST(ErrorResponse, HasTheApiErrorShape) {
  auto r = errorResponse(Error{ErrorCode::kConflict, "name taken"});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(bj::parse(r.body),
            (bj::value{{"code", 409}, {"status", "Conflict"}, {"message", "name taken"}}));
  EXPECT_EQ(errorResponse(404, "gone").body,
            R"({"code":404,"status":"Not Found","message":"gone"})");
}

TEST(JsonResponse, SerializesTheBody) {
  auto r = jsonResponse(201, bj::object{{"a", 1}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"a":1})");
  auto t = textResponse(200, "hi");
  EXPECT_EQ(t.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "hi");
}

}  // namespace
}  // namespace oak::http
