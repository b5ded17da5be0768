#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <functional>
#include <set>

#include "http/openapi.h"

namespace oak::http {
namespace {

namespace bj = boost::json;

RouteDoc doc(std::string summary, std::string tag, bool authenticated, std::string role,
             std::string request_schema, std::string response_schema) {
  RouteDoc d;
  d.summary = std::move(summary);
  d.tag = std::move(tag);
  d.authenticated = authenticated;
  d.role = std::move(role);
  d.request_schema = std::move(request_schema);
  d.response_schema = std::move(response_schema);
  return d;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ok = [](const Request&) { return textResponse(200, ""); };
    router_.add(Method::kGet, "/api/items", doc("List items", "items", false, "", "", "ItemList"),
                ok);
    router_.add(Method::kPost, "/api/items",
                doc("Create an item", "items", true, "Admin", "Item", "Item"), ok);
    router_.add(Method::kGet, "/api/items/{id}", doc("Get an item", "", true, "", "", "Item"), ok);
    router_.add(Method::kDelete, "/api/items/{id}/tags/{tag}", doc("Untag", "", true, "", "", ""),
                ok);
    info_.title = "Test API";
    info_.version = "1.2.3";
    info_.schemas["Item"] = bj::object{{"type", "object"}};
    info_.schemas["ItemList"] =
        bj::object{{"type", "array"}, {"items", bj::object{{"$ref", "#/components/schemas/Item"}}}};
    doc_ = buildOpenApi(router_, info_);
  }

  const bj::object& op(std::string_view path, std::string_view method) {
    return doc_.at("paths").at(path).at(method).as_object();
  }

  Router router_;
  OpenApiInfo info_;
  bj::object doc_;
};

TEST_F(OpenApiTest, HeaderAndInfo) {
  EXPECT_EQ(doc_.at("openapi"), "3.0.3");
  EXPECT_EQ(doc_.at("info").at("title"), "Test API");
  EXPECT_EQ(doc_.at("info").at("version"), "1.2.3");
  const auto& scheme = doc_.at("components").at("securitySchemes").at("bearerAuth");
  EXPECT_EQ(scheme.at("type"), "http");
  EXPECT_EQ(scheme.at("scheme"), "bearer");
}

TEST_F(OpenApiTest, ListsEveryPathAndMethod) {
  const auto& paths = doc_.at("paths").as_object();
  std::set<std::string> got;
  for (const auto& [path, item] : paths) {
    for (const auto& [method, unused] : item.as_object()) {
      got.insert(std::string(method) + " " + std::string(path));
    }
  }
  EXPECT_EQ(got, (std::set<std::string>{"get /api/items", "post /api/items", "get /api/items/{id}",
                                        "delete /api/items/{id}/tags/{tag}"}));
  EXPECT_EQ(op("/api/items", "get").at("summary"), "List items");
  EXPECT_EQ(op("/api/items", "get").at("tags"), (bj::array{"items"}));
  EXPECT_FALSE(op("/api/items/{id}", "get").contains("tags"));
}

TEST_F(OpenApiTest, OperationIdsAreUnique) {
  std::set<std::string> ids;
  size_t n = 0;
  for (const auto& [path, item] : doc_.at("paths").as_object()) {
    for (const auto& [method, o] : item.as_object()) {
      ids.insert(std::string(o.at("operationId").as_string()));
      ++n;
    }
  }
  EXPECT_EQ(ids.size(), n);
}

TEST_F(OpenApiTest, ListsPathParameters) {
  EXPECT_FALSE(op("/api/items", "get").contains("parameters"));
  const auto& one = op("/api/items/{id}", "get").at("parameters").as_array();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].at("name"), "id");
  EXPECT_EQ(one[0].at("in"), "path");
  EXPECT_EQ(one[0].at("required"), true);
  const auto& two = op("/api/items/{id}/tags/{tag}", "delete").at("parameters").as_array();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].at("name"), "id");
  EXPECT_EQ(two[1].at("name"), "tag");
}

TEST(OpenApiQuery, ListsQueryParametersAndAStreamedAlternative) {
  Router router;
  RouteDoc d = doc("Follow", "items", true, "", "", "Item");
  d.query = {{"follow", "boolean", "stream instead"}};
  d.stream_content_type = "text/event-stream";
  router.add(Method::kGet, "/api/items/{id}/feed", d,
             [](const Request&) { return textResponse(200, ""); });
  auto o = buildOpenApi(router, {}).at("paths").at("/api/items/{id}/feed").at("get");
  const auto& params = o.at("parameters").as_array();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[1].at("name"), "follow");
  EXPECT_EQ(params[1].at("in"), "query");
  EXPECT_EQ(params[1].at("required"), false);
  EXPECT_EQ(params[1].at("schema").at("type"), "boolean");
  const auto& content = o.at("responses").at("200").at("content").as_object();
  EXPECT_TRUE(content.contains("application/json"));
  EXPECT_TRUE(content.contains("text/event-stream"));
}

TEST_F(OpenApiTest, SecurityExactlyForAuthenticatedRoutes) {
  EXPECT_FALSE(op("/api/items", "get").contains("security"));
  EXPECT_FALSE(op("/api/items", "get").at("responses").as_object().contains("401"));
  for (auto [path, method] : {std::pair{"/api/items", "post"},
                              {"/api/items/{id}", "get"},
                              {"/api/items/{id}/tags/{tag}", "delete"}}) {
    const auto& o = op(path, method);
    ASSERT_TRUE(o.contains("security")) << method << " " << path;
    EXPECT_EQ(o.at("security"), (bj::array{bj::object{{"bearerAuth", bj::array{}}}}));
    EXPECT_TRUE(o.at("responses").as_object().contains("401")) << method << " " << path;
  }
}

TEST_F(OpenApiTest, Documents403ForRoutesWithARole) {
  for (const auto& [path, item] : doc_.at("paths").as_object()) {
    for (const auto& [method, o] : item.as_object()) {
      bool has403 = o.at("responses").as_object().contains("403");
      bool admin = path == "/api/items" && method == "post";
      EXPECT_EQ(has403, admin) << method << " " << path;
    }
  }
  const auto& post = op("/api/items", "post");
  EXPECT_NE(post.at("description").as_string().find("Admin"), bj::string::npos);
}

TEST_F(OpenApiTest, ReferencesNamedSchemas) {
  const auto& post = op("/api/items", "post");
  EXPECT_EQ(post.at("requestBody").at("content").at("application/json").at("schema"),
            (bj::object{{"$ref", "#/components/schemas/Item"}}));
  EXPECT_EQ(post.at("responses").at("200").at("content").at("application/json").at("schema"),
            (bj::object{{"$ref", "#/components/schemas/Item"}}));
  EXPECT_TRUE(post.at("responses").as_object().contains("422"));
  // No response schema: a generic object, no body: no requestBody.
  const auto& del = op("/api/items/{id}/tags/{tag}", "delete");
  EXPECT_FALSE(del.contains("requestBody"));
  EXPECT_EQ(del.at("responses").at("200").at("content").at("application/json").at("schema"),
            (bj::object{{"type", "object"}}));
  EXPECT_EQ(op("/api/items", "get")
                .at("responses")
                .at("400")
                .at("content")
                .at("application/json")
                .at("schema"),
            (bj::object{{"$ref", "#/components/schemas/Error"}}));
}

TEST_F(OpenApiTest, ErrorSchemaPresentAndEveryRefResolves) {
  const auto& schemas = doc_.at("components").at("schemas").as_object();
  ASSERT_TRUE(schemas.contains("Error"));
  EXPECT_EQ(schemas.at("Error").at("required"), (bj::array{"code", "status", "message"}));
  EXPECT_TRUE(schemas.contains("Item"));
  EXPECT_TRUE(schemas.contains("ItemList"));

  const std::string prefix = "#/components/schemas/";
  size_t refs = 0;
  std::function<void(const bj::value&)> walk = [&](const bj::value& v) {
    if (v.is_array()) {
      for (const auto& e : v.as_array()) walk(e);
    } else if (v.is_object()) {
      for (const auto& [k, e] : v.as_object()) {
        if (k == "$ref") {
          ++refs;
          std::string ref(e.as_string());
          ASSERT_TRUE(ref.starts_with(prefix)) << ref;
          EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
        }
        walk(e);
      }
    }
  };
  walk(doc_);
  EXPECT_GT(refs, 0u);
}

}  // namespace
}  // namespace oak::http
