#pragma once
// Internal to oak_http (exposes Beast): the server's side of a WebSocket upgrade, called by the
// HTTP session that received the upgrade request.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <memory>

#include "http/router.h"
#include "http/websocket_channel.h"

namespace oak::http::detail {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Finds the route of an upgrade request and runs its accept function: the channel to serve, or
// nullptr with the HTTP answer in `refusal`.
std::shared_ptr<WebSocketChannel> acceptUpgrade(const Router& router, Request& req,
                                                Response* refusal);

// Answers the upgrade on `stream` and runs the channel until the connection ends.
boost::asio::awaitable<void> serveUpgrade(boost::beast::tcp_stream stream, UpgradeRequest upgrade,
                                          std::shared_ptr<WebSocketChannel> channel,
                                          std::chrono::milliseconds idle_timeout);

}  // namespace oak::http::detail
