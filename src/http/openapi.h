#pragma once
// Builds an OpenAPI 3 document from the router's own route table, so the document cannot drift
// from the routes that are actually served.

#include <boost/json/object.hpp>

#include <string>

#include "http/router.h"

namespace oak::http {

struct OpenApiInfo {
  std::string title;
  std::string version;
  std::string description;
  // Named schemas referenced by `RouteDoc::request_schema` / `response_schema`.
  boost::json::object schemas;
};

boost::json::object buildOpenApi(const Router& router, const OpenApiInfo& info);

}  // namespace oak::http
