#pragma once
// The one external system `oak` talks to: the root's HTTP API. Commands see requests and answers
// as plain values; tests replace the network with a fake.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace oak::cli {

struct ApiRequest {
  http::Method method = http::Method::kGet;
  std::string target;  // path and query, e.g. "/api/services/abc"
  std::string body;    // JSON, sent when not empty
  std::string token;   // sent as the bearer token when not empty
};

struct ApiReply {
  int status = 0;
  std::string body;
};

// Receives a streamed body piece by piece; returning false stops the stream.
using DataSink = std::function<bool(std::string_view)>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<ApiReply> send(const ApiRequest& req) = 0;
  // For a 2xx answer, hands its body to `sink` as it arrives until the body ends or `sink`
  // returns false, and returns the status with an empty body. Other answers come back whole.
  virtual Result<ApiReply> stream(const ApiRequest& req, const DataSink& sink) = 0;
};

// HTTP/1.1 to `url` ("http://host:port[/base]"). Failures to connect read
// "cannot reach <url>: <why>".
Result<std::unique_ptr<Transport>> httpTransport(const std::string& url);

}  // namespace oak::cli
