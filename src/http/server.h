#pragma once
// HTTP/1.1 server on the event loop: keep-alive, body and header limits (413/431), idle timeouts,
// CORS for browser clients, and graceful stop. Routing is the `Router`'s job.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/event_loop.h"
#include "http/router.h"

namespace oak::http {

struct ServerOptions {
  // Address to bind; "0.0.0.0" for all IPv4, "::" for all IPv4 and IPv6 interfaces.
  std::string host = "0.0.0.0";
  // TCP port; 0 picks a free one (see `HttpServer::port()`).
  uint16_t port = 10000;
  // Larger request bodies are refused with 413 before they are read.
  size_t max_body_bytes = 1 << 20;
  // A connection with no complete request for this long is closed.
  std::chrono::seconds idle_timeout{30};
  // An asynchronous handler that has not answered after this long gets a 503.
  std::chrono::seconds handler_timeout{60};
};

class HttpServer {
 public:
  // Binds and starts accepting on `loop`. `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(EventLoop& loop, const ServerOptions& options,
                                                   const Router& router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting and closes idle connections; requests in flight finish.
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace oak::http
