#pragma once
// Internal to oak_http: included by its .cpp files only, since it exposes Beast. One WebSocket
// connection with an ordered send queue, shared by the server's upgraded sessions and by
// `WebSocketClient`.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "http/websocket.h"

namespace oak::http::detail {

using WebSocketStream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

// Timeouts, message limit and text mode. Keep-alive: after `idle_timeout / 2` without traffic a
// ping goes out, and the connection fails when nothing at all arrived for `idle_timeout`.
void configureWebSocket(WebSocketStream& ws, boost::beast::role_type role,
                        std::chrono::milliseconds handshake_timeout,
                        std::chrono::milliseconds idle_timeout);

// "1001 going away: server is stopping"
std::string describeClose(const boost::beast::websocket::close_reason& reason);

class WebSocketChannel final : public WebSocketConnection,
                               public std::enable_shared_from_this<WebSocketChannel> {
 public:
  explicit WebSocketChannel(std::string remote_address, WebSocketHandlers handlers = {});

  void send(std::string text) override;
  void close(std::string reason) override;
  bool open() const override;
  std::string remoteAddress() const override { return remote_; }

  void setHandlers(WebSocketHandlers handlers) { handlers_ = std::move(handlers); }
  // `close` with a code of choice (going away when a server or client stops).
  void closeWith(boost::beast::websocket::close_code code, std::string reason);
  // Takes over a stream whose handshake is done and sends what was queued meanwhile.
  void attach(WebSocketStream ws);
  // Delivers messages until the connection ends, then calls on_close; returns the reason.
  boost::asio::awaitable<std::string> run();
  // Ends a connection that never opened (failed handshake); calls on_close at most once.
  void finish(std::string reason);

 private:
  void writeNext();
  std::string endReason(boost::system::error_code ec) const;

  std::string remote_;
  WebSocketHandlers handlers_;
  std::optional<WebSocketStream> ws_;  // from attach() until the end of run()
  std::deque<std::string> queue_;      // the front is being written while `writing_`
  bool writing_ = false;
  bool closing_ = false;  // a close was asked for; it starts once the queue is empty
  bool close_started_ = false;
  bool ended_ = false;
  boost::beast::websocket::close_reason close_;
  std::string close_text_;  // the whole reason: a close frame carries 123 bytes at most
  std::string failure_;     // why a write failed, if one did
};

}  // namespace oak::http::detail
