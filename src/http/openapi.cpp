#include "http/openapi.h"

#include <boost/json.hpp>

#include <cctype>

namespace oak::http {
namespace {

namespace bj = boost::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bj::object schemaRef(const std::string& name) {
  if (name.empty()) return bj::object{{"type", "object"}};
  return bj::object{{"$ref", "#/components/schemas/" + name}};
}

bj::object jsonContent(const std::string& schema) {
  return bj::object{{"application/json", bj::object{{"schema", schemaRef(schema)}}}};
}

bj::object operation(const Route& r) {
  bj::object op;
  op["summary"] = r.doc.summary;
  if (!r.doc.tag.empty()) op["tags"] = bj::array{bj::string(r.doc.tag)};
  op["operationId"] = lower(methodName(r.method)) + r.pattern;
  bj::array params;
  for (const auto& seg : r.segments) {
    if (seg.size() > 2 && seg.front() == '{') {
      params.push_back(bj::object{{"name", seg.substr(1, seg.size() - 2)},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", bj::object{{"type", "string"}}}});
    }
  }
  for (const auto& q : r.doc.query) {
    params.push_back(bj::object{{"name", q.name},
                                {"in", "query"},
                                {"required", false},
                                {"description", q.description},
                                {"schema", bj::object{{"type", q.type}}}});
  }
  if (!params.empty()) op["parameters"] = std::move(params);
  if (!r.doc.request_schema.empty()) {
    op["requestBody"] =
        bj::object{{"required", true}, {"content", jsonContent(r.doc.request_schema)}};
  }
  bj::object responses;
  auto error = [](std::string_view what) {
    return bj::object{{"description", what}, {"content", jsonContent("Error")}};
  };
  std::string description;
  if (r.websocket) {
    description = "WebSocket upgrade: the connection then carries text messages both ways.";
    responses["101"] = bj::object{{"description", "switching to the WebSocket protocol"}};
    responses["426"] = error("a plain request without the WebSocket upgrade");
  } else {
    auto content = jsonContent(r.doc.response_schema);
    if (!r.doc.stream_content_type.empty()) {
      content[r.doc.stream_content_type] = bj::object{{"schema", bj::object{{"type", "string"}}}};
    }
    responses["200"] = bj::object{{"description", "success"}, {"content", std::move(content)}};
  }
  responses["400"] = error("malformed request");
  if (r.doc.authenticated) {
    op["security"] = bj::array{bj::object{{"bearerAuth", bj::array{}}}};
    responses["401"] = error("missing, expired or invalid access token");
  }
  if (!r.doc.role.empty()) {
    responses["403"] = error("the caller lacks the role " + r.doc.role);
    if (!description.empty()) description += ' ';
    description += "Requires the role `" + r.doc.role + "`.";
  }
  if (!description.empty()) op["description"] = description;
  if (!params.empty() || r.doc.authenticated) responses["404"] = error("not found");
  if (!r.doc.request_schema.empty()) responses["422"] = error("the body breaks a rule");
  op["responses"] = std::move(responses);
  return op;
}

}  // namespace

boost::json::object buildOpenApi(const Router& router, const OpenApiInfo& info) {
  bj::object paths;
  for (const auto& r : router.routes()) {
    auto& item = paths[r.pattern];
    if (!item.is_object()) item = bj::object{};
    item.as_object()[lower(methodName(r.method))] = operation(r);
  }
  bj::object schemas = info.schemas;
  schemas["Error"] =
      bj::object{{"type", "object"},
                 {"required", bj::array{"code", "status", "message"}},
                 {"properties", bj::object{{"code", bj::object{{"type", "integer"}}},
                                           {"status", bj::object{{"type", "string"}}},
                                           {"message", bj::object{{"type", "string"}}}}}};
  return bj::object{
      {"openapi", "3.0.3"},
      {"info",
       bj::object{
           {"title", info.title}, {"version", info.version}, {"description", info.description}}},
      {"paths", std::move(paths)},
      {"components",
       bj::object{
           {"schemas", std::move(schemas)},
           {"securitySchemes", bj::object{{"bearerAuth", bj::object{{"type", "http"},
                                                                    {"scheme", "bearer"},
                                                                    {"bearerFormat", "JWT"}}}}}}}};
}

}  // namespace oak::http
