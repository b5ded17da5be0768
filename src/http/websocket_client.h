#pragma once
// Dials a WebSocket endpoint and keeps the connection up: after any failure (refused, upgrade
// rejected, closed by the peer, keep-alive timeout) it reconnects with exponential backoff. A
// cluster behind NAT holds its link to the root this way. Runs on the event loop, without threads.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/event_loop.h"
#include "http/message.h"

namespace oak::http {

class WebSocketClient {
 public:
  struct Options {
    // "ws://host:port/path" or "http://host:port/path" (no TLS).
    std::string url;
    // Sent with every upgrade request, e.g. {"Authorization", "Bearer <token>"}.
    HeaderList headers;
    // Wait before reconnecting: `backoff_min`, doubling per failed attempt up to `backoff_max`,
    // each ±20 % at random so that many clients do not reconnect in step. A connection that
    // opened resets it to `backoff_min`.
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30'000};
    // Bounds the TCP connect, and separately the upgrade handshake.
    std::chrono::milliseconds connect_timeout{10'000};
    // A ping after half of it without traffic; the connection fails after all of it.
    std::chrono::milliseconds idle_timeout{30'000};

    // Callbacks, on the loop thread. None of them runs after `stop()`.
    // The connection is up: the place to (re)send whatever state the peer needs.
    std::function<void()> on_open;
    std::function<void(std::string text)> on_message;
    // An attempt failed or the connection ended; a reconnect follows. For a rejected upgrade the
    // reason has the HTTP status and the error message, e.g. "401 Unauthorized: invalid token".
    std::function<void(std::string reason)> on_close;
  };

  // Fails only for a malformed URL. Nothing happens before `start()`.
  static Result<std::shared_ptr<WebSocketClient>> create(EventLoop& loop, Options options);
  // Stops (see `stop`); must run on the loop thread.
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // All methods on the loop thread.
  // Starts connecting; once only.
  void start();
  // Queues a message on the open connection. Without one it is dropped and the result is false:
  // the caller sends its state again from `on_open`.
  bool send(std::string text);
  bool connected() const;
  // Closes the connection (code 1001) and stops reconnecting.
  void stop();
  // True from `start()` until the reconnect loop has ended after `stop()`.
  bool active() const;

 private:
  struct Impl;
  explicit WebSocketClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace oak::http
