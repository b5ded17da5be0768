#pragma once
// WebSocket endpoints of the HTTP server (see `Router::addWebSocket`): long-lived, message-based
// connections for peers that cannot be dialled (a cluster behind NAT keeps one open to the root).
// Messages are UTF-8 text; everything runs on the event loop thread.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/message.h"

namespace oak::http {

// Larger messages close the connection (close code 1009) instead of being buffered.
constexpr size_t kWebSocketMaxMessageBytes = 4 << 20;

// One open WebSocket. Used on the event loop thread only.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a text message; messages leave in order. Dropped once the connection is closing.
  virtual void send(std::string text) = 0;
  // Sends what is queued, then closes (code 1000 with `reason`). No-op when already closing.
  virtual void close(std::string reason) = 0;
  // True from the handshake until a close starts or the connection fails.
  virtual bool open() const = 0;
  virtual std::string remoteAddress() const = 0;
};

struct WebSocketHandlers {
  std::function<void(std::string text)> on_message;
  // Called exactly once, when the connection has ended for whatever reason (peer closed, `close`,
  // keep-alive timeout, oversized message, server stop), with a reason fit for a log line.
  std::function<void(std::string reason)> on_close;
};

// Decides about an upgrade request (headers, path parameters, remote address). An error refuses
// it: the client gets that error's HTTP status and error body instead of the upgrade. On success
// the connection may be kept to send later; messages sent from here leave after the handshake.
using WebSocketAccept =
    std::function<Result<WebSocketHandlers>(const Request&, std::shared_ptr<WebSocketConnection>)>;

}  // namespace oak::http
