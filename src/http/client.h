#pragma once
// Blocking HTTP/1.1 client for command-line tools and tests (one request per call, or several
// over one kept-alive connection with `Connection`).

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/message.h"

namespace oak::http {

struct ClientRequest {
  Method method = Method::kGet;
  std::string target;  // path and query, e.g. "/api/services/abc?x=1"
  HeaderList headers;
  std::string body;
  std::string content_type = "application/json";
};

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // without trailing slash
  // Accepts "http://host:port[/base]", "host:port" and "[v6]:port".
  static Result<Url> parse(std::string_view text);
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::string& host, uint16_t port,
                                                  std::chrono::milliseconds timeout);
  ~Connection();
  Result<Response> send(const ClientRequest& req);

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens a connection, sends one request, closes.
Result<Response> fetch(const std::string& host, uint16_t port, const ClientRequest& req,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace oak::http
