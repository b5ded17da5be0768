#include "http/websocket_channel.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>

namespace oak::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string_view closeCodeName(uint16_t code) {
  switch (code) {
    case websocket::close_code::normal:
      return "normal";
    case websocket::close_code::going_away:
      return "going away";
    case websocket::close_code::protocol_error:
      return "protocol error";
    case websocket::close_code::unknown_data:
      return "unsupported data";
    case websocket::close_code::bad_payload:
      return "invalid payload";
    case websocket::close_code::policy_error:
      return "policy violation";
    case websocket::close_code::too_big:
      return "message too big";
    case websocket::close_code::internal_error:
      return "internal error";
    case websocket::close_code::service_restart:
      return "service restart";
    case websocket::close_code::try_again_later:
      return "try again later";
    default:
      return "";
  }
}

// Cuts `text` to at most `n` bytes without splitting a UTF-8 sequence (close reasons must be
// valid UTF-8, or the peer fails the connection instead of closing it).
std::string_view utf8Prefix(std::string_view text, size_t n) {
  if (text.size() <= n) return text;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

}  // namespace

void configureWebSocket(WebSocketStream& ws, beast::role_type role,
                        std::chrono::milliseconds handshake_timeout,
                        std::chrono::milliseconds idle_timeout) {
  // The WebSocket layer keeps its own timers; the TCP stream's would cut long connections.
  beast::get_lowest_layer(ws).expires_never();
  auto timeouts = websocket::stream_base::timeout::suggested(role);
  timeouts.handshake_timeout = handshake_timeout;
  timeouts.idle_timeout = idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(kWebSocketMaxMessageBytes);
  ws.text(true);
}

std::string describeClose(const websocket::close_reason& reason) {
  if (reason.code == websocket::close_code::none) return "no close code";
  std::string out = std::to_string(reason.code);
  if (auto name = closeCodeName(reason.code); !name.empty()) out += fmt::format(" {}", name);
  if (!reason.reason.empty())
    out += fmt::format(": {}", std::string_view(reason.reason.data(), reason.reason.size()));
  return out;
}

WebSocketChannel::WebSocketChannel(std::string remote_address, WebSocketHandlers handlers)
    : remote_(std::move(remote_address)), handlers_(std::move(handlers)) {}

void WebSocketChannel::send(std::string text) {
  if (closing_ || ended_) {
    spdlog::debug("websocket {}: closing; a message of {} bytes is dropped", remote_, text.size());
    return;
  }
  queue_.push_back(std::move(text));
  writeNext();
}

void WebSocketChannel::close(std::string reason) {
  closeWith(websocket::close_code::normal, std::move(reason));
}

void WebSocketChannel::closeWith(websocket::close_code code, std::string reason) {
  if (closing_ || ended_) return;
  closing_ = true;
  close_ = websocket::close_reason(code, utf8Prefix(reason, close_.reason.max_size()));
  close_text_ = std::move(reason);
  writeNext();
}

bool WebSocketChannel::open() const {
  return ws_ && !closing_ && !ended_;
}

void WebSocketChannel::attach(WebSocketStream ws) {
  ws_.emplace(std::move(ws));
  writeNext();
}

// One write at a time (Beast allows no more); the close waits for the queue to drain so that
// messages sent before `close` still arrive.
void WebSocketChannel::writeNext() {
  if (!ws_ || ended_ || writing_ || close_started_) return;
  if (queue_.empty()) {
    if (closing_) {
      close_started_ = true;
      // The pending read sees the peer's answer and ends run().
      ws_->async_close(close_, [self = shared_from_this()](beast::error_code) {});
    }
    return;
  }
  writing_ = true;
  ws_->async_write(asio::buffer(queue_.front()),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->writing_ = false;
                     if (self->ended_) return;
                     if (ec) {
                       // The read in run() may not notice a broken connection for a long time.
                       self->failure_ = fmt::format("sending failed: {}", ec.message());
                       beast::get_lowest_layer(*self->ws_).close();
                       return;
                     }
                     self->queue_.pop_front();
                     self->writeNext();
                   });
}

asio::awaitable<std::string> WebSocketChannel::run() {
  auto self = shared_from_this();  // the application may drop its reference from a callback
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    auto [read_ec, n] = co_await ws_->async_read(buffer, kAsTuple);
    if (read_ec) {
      ec = read_ec;
      break;
    }
    if (!closing_ && handlers_.on_message) {
      handlers_.on_message(beast::buffers_to_string(buffer.data()));
    }
    buffer.consume(buffer.size());
  }
  std::string reason = endReason(ec);
  // Closes the socket now, while the event loop surely still exists; pending operations end
  // with operation_aborted.
  ws_.reset();
  finish(reason);
  co_return reason;
}

std::string WebSocketChannel::endReason(beast::error_code ec) const {
  if (!failure_.empty()) return failure_;
  if (closing_) return close_text_;
  if (ec == websocket::error::closed) {
    return fmt::format("closed by peer ({})", describeClose(ws_->reason()));
  }
  if (ec == websocket::error::message_too_big) {
    return fmt::format("a message exceeded the limit of {} bytes", kWebSocketMaxMessageBytes);
  }
  if (ec == beast::error::timeout) return "the peer stopped answering keep-alive pings";
  return fmt::format("connection lost: {}", ec.message());
}

void WebSocketChannel::finish(std::string reason) {
  if (ended_) return;
  ended_ = true;
  queue_.clear();
  // Dropping the callbacks breaks the cycle of handlers that hold their own connection.
  auto on_close = std::move(handlers_.on_close);
  handlers_ = {};
  if (on_close) on_close(std::move(reason));
}

}  // namespace oak::http::detail
