#include "http/websocket_upgrade.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

namespace oak::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

std::shared_ptr<WebSocketChannel> acceptUpgrade(const Router& router, Request& req,
                                                Response* refusal) {
  const WebSocketAccept* accept = router.matchWebSocket(req, refusal);
  if (!accept) return nullptr;
  auto channel = std::make_shared<WebSocketChannel>(req.remote_address);
  auto handlers = (*accept)(req, channel);
  if (!handlers) {
    *refusal = errorResponse(handlers.error());
    return nullptr;
  }
  channel->setHandlers(std::move(*handlers));
  return channel;
}

asio::awaitable<void> serveUpgrade(beast::tcp_stream stream, UpgradeRequest upgrade,
                                   std::shared_ptr<WebSocketChannel> channel,
                                   std::chrono::milliseconds idle_timeout) {
  WebSocketStream ws(std::move(stream));
  configureWebSocket(ws, beast::role_type::server, std::chrono::seconds(30), idle_timeout);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "oakestra"); }));
  auto [ec] = co_await ws.async_accept(upgrade, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    channel->finish(fmt::format("WebSocket handshake failed: {}", ec.message()));
    co_return;
  }
  std::string_view target(upgrade.target());
  spdlog::debug("websocket {} opened from {}", target, channel->remoteAddress());
  channel->attach(std::move(ws));
  auto reason = co_await channel->run();
  spdlog::debug("websocket {} from {} closed: {}", target, channel->remoteAddress(), reason);
}

}  // namespace oak::http::detail
