#pragma once
// HTTP request and response as plain values, so that handlers never see Beast or Asio types.

#include <boost/json/fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace oak::http {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };
std::string_view methodName(Method m);
Method methodFromName(std::string_view name);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  Method method = Method::kGet;
  std::string path;    // decoded path without query, trailing slash removed (except "/")
  std::string query;   // raw query string without '?'
  HeaderList headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  HeaderList path_params;  // filled by the router from `{name}` segments

  std::string_view header(std::string_view lower_name) const;
  std::string_view param(std::string_view name) const;
  // Decoded value of a query parameter; nullopt when absent.
  std::optional<std::string> queryParam(std::string_view name) const;
};

struct StreamBody;  // http/stream.h

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
  // Set for a body written over time instead of `body` (see `streamResponse`).
  std::shared_ptr<StreamBody> stream = nullptr;
};

// The token of "Authorization: Bearer <token>"; kUnauthenticated saying what is wrong otherwise.
Result<std::string_view> bearerToken(const Request& req);

Response jsonResponse(int status, const boost::json::value& body);
Response textResponse(int status, std::string body);
// The one error shape of the API: {"code": 404, "status": "Not Found", "message": "..."}.
Response errorResponse(const Error& e);
Response errorResponse(int status, std::string_view message);

}  // namespace oak::http
