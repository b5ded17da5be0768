#pragma once
// A small JSON-over-HTTP client for black-box tests of a daemon's REST API.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

#include "http/client.h"

namespace oak::testing {

struct ApiResponse {
  int status = 0;
  boost::json::value json;  // null if the body is not JSON
  std::string body;
  std::string header(std::string_view lower_name) const;
  oak::http::HeaderList headers;
  // The "message" of an error body, or "" when there is none.
  std::string message() const;
};

class ApiClient {
 public:
  explicit ApiClient(uint16_t port, std::string host = "127.0.0.1")
      : host_(std::move(host)), port_(port) {}
  ApiResponse call(oak::http::Method m, const std::string& target, const std::string& body = "",
                   const std::string& token = "", oak::http::HeaderList extra = {}) const;
  ApiResponse get(const std::string& target, const std::string& token = "") const {
    return call(oak::http::Method::kGet, target, "", token);
  }
  ApiResponse post(const std::string& target, const boost::json::value& body,
                   const std::string& token = "") const {
    return call(oak::http::Method::kPost, target, boost::json::serialize(body), token);
  }
  // Logs in and returns the access token (fails the test on error).
  std::string login(const std::string& user, const std::string& password) const;

 private:
  std::string host_;
  uint16_t port_;
};

// Base64url-decodes the payload of a JWT.
boost::json::object jwtClaims(const std::string& token);

}  // namespace oak::testing
