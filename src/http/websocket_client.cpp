#include "http/websocket_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <random>

#include "common/json.h"
#include "http/client.h"
#include "http/websocket_channel.h"

namespace oak::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

Result<Url> parseWebSocketUrl(std::string_view text) {
  if (text.starts_with("ws://")) return Url::parse(fmt::format("http://{}", text.substr(5)));
  if (text.starts_with("wss://") || text.starts_with("https://")) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("'{}': TLS is not supported, use ws:// or http://", text));
  }
  return Url::parse(text);
}

// "401 Unauthorized: invalid cluster token": the status line plus the message of an error body.
std::string describeRefusal(const websocket::response_type& res) {
  std::string detail = res.body();
  if (auto parsed = json::parse(detail); parsed && parsed->is_object()) {
    if (auto message = json::getString(parsed->as_object(), "message")) detail = *message;
  }
  constexpr size_t kMaxDetail = 300;
  if (detail.size() > kMaxDetail) detail = detail.substr(0, kMaxDetail) + "...";
  std::string out = fmt::format("{} {}", res.result_int(), std::string_view(res.reason()));
  if (!detail.empty()) out += fmt::format(": {}", detail);
  return out;
}

}  // namespace

struct WebSocketClient::Impl {
  Impl(asio::io_context& ctx, Options opts, Url u)
      : io(ctx),
        options(std::move(opts)),
        url(std::move(u)),
        host_port(url.host.find(':') == std::string::npos
                      ? fmt::format("{}:{}", url.host, url.port)
                      : fmt::format("[{}]:{}", url.host, url.port)),
        resolver(ctx),
        timer(ctx),
        backoff(options.backoff_min),
        rng(std::random_device{}()) {}

  // Connects, serves and reconnects until stop(); the argument keeps this object alive.
  asio::awaitable<void> loop(std::shared_ptr<Impl> keep_alive);
  // One connection from dialling to its end; returns why it failed or ended.
  asio::awaitable<std::string> attempt(bool& opened);
  // Resolves, connects and upgrades; returns "" on success, else what failed.
  asio::awaitable<std::string> dial(detail::WebSocketStream& ws, tcp::endpoint& peer);
  std::chrono::milliseconds nextDelay();
  void stop();

  asio::io_context& io;
  Options options;
  Url url;
  std::string host_port;
  tcp::resolver resolver;
  asio::steady_timer timer;
  detail::WebSocketStream* dialling = nullptr;        // for stop()
  std::shared_ptr<detail::WebSocketChannel> channel;  // while connected
  std::chrono::milliseconds backoff;
  std::minstd_rand rng;
  bool started = false;
  bool stopping = false;
  bool active = false;
};

asio::awaitable<void> WebSocketClient::Impl::loop(std::shared_ptr<Impl>) {
  while (!stopping) {
    bool opened = false;
    std::string reason = co_await attempt(opened);
    if (stopping) break;
    if (opened) backoff = options.backoff_min;
    spdlog::debug("websocket {}: {}", options.url, reason);
    if (options.on_close) options.on_close(std::move(reason));
    if (stopping) break;
    timer.expires_after(nextDelay());
    co_await timer.async_wait(kAsTuple);
  }
  active = false;
}

asio::awaitable<std::string> WebSocketClient::Impl::attempt(bool& opened) {
  detail::WebSocketStream ws(io);
  tcp::endpoint peer;
  dialling = &ws;
  std::string failure = co_await dial(ws, peer);
  dialling = nullptr;
  if (!failure.empty()) co_return failure;
  // The channel's callbacks run only while run() below is awaited, so `this` is alive.
  WebSocketHandlers handlers{[this](std::string text) {
                               if (options.on_message) options.on_message(std::move(text));
                             },
                             {}};
  channel =
      std::make_shared<detail::WebSocketChannel>(peer.address().to_string(), std::move(handlers));
  channel->attach(std::move(ws));
  opened = true;
  if (options.on_open) options.on_open();
  std::string reason = co_await channel->run();
  channel.reset();
  co_return reason;
}

asio::awaitable<std::string> WebSocketClient::Impl::dial(detail::WebSocketStream& ws,
                                                         tcp::endpoint& peer) {
  constexpr std::string_view kStopped = "stopped";
  auto [rec, endpoints] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), kAsTuple);
  if (stopping) co_return std::string(kStopped);
  if (rec) co_return fmt::format("cannot resolve {}: {}", url.host, rec.message());

  auto& socket = beast::get_lowest_layer(ws);
  socket.expires_after(options.connect_timeout);
  auto [cec, endpoint] = co_await socket.async_connect(endpoints, kAsTuple);
  if (stopping) co_return std::string(kStopped);
  if (cec) co_return fmt::format("cannot connect to {}: {}", host_port, cec.message());
  peer = endpoint;

  detail::configureWebSocket(ws, beast::role_type::client, options.connect_timeout,
                             options.idle_timeout);
  ws.set_option(
      websocket::stream_base::decorator([headers = options.headers](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "oak");
        for (const auto& [name, value] : headers) req.set(name, value);
      }));
  websocket::response_type res;
  std::string target = url.base_path.empty() ? "/" : url.base_path;
  auto [hec] = co_await ws.async_handshake(res, host_port, target, kAsTuple);
  if (stopping) co_return std::string(kStopped);
  if (hec == websocket::error::upgrade_declined) co_return describeRefusal(res);
  if (hec) co_return fmt::format("upgrade at {} failed: {}", host_port, hec.message());
  co_return std::string();
}

std::chrono::milliseconds WebSocketClient::Impl::nextDelay() {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(backoff.count() * jitter(rng)));
  backoff = std::min(backoff * 2, options.backoff_max);
  return delay;
}

void WebSocketClient::Impl::stop() {
  if (stopping) return;
  stopping = true;
  resolver.cancel();
  timer.cancel();
  if (dialling) beast::get_lowest_layer(*dialling).close();
  if (channel) channel->closeWith(websocket::close_code::going_away, "client stopped");
}

Result<std::shared_ptr<WebSocketClient>> WebSocketClient::create(EventLoop& loop, Options options) {
  OAK_ASSIGN_OR_RETURN(auto url, parseWebSocketUrl(options.url));
  if (options.backoff_min.count() <= 0 || options.backoff_max < options.backoff_min) {
    return makeError(ErrorCode::kInvalidArgument, "backoff: need 0 < backoff_min <= backoff_max");
  }
  auto impl = std::make_shared<Impl>(loop.context(), std::move(options), std::move(url));
  return std::shared_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
}

WebSocketClient::WebSocketClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebSocketClient::~WebSocketClient() {
  impl_->stop();
}

void WebSocketClient::start() {
  if (impl_->started || impl_->stopping) return;
  impl_->started = impl_->active = true;
  asio::co_spawn(impl_->io, impl_->loop(impl_), asio::detached);
}

bool WebSocketClient::send(std::string text) {
  if (!connected()) {
    spdlog::debug("websocket {}: not connected; a message of {} bytes is dropped",
                  impl_->options.url, text.size());
    return false;
  }
  impl_->channel->send(std::move(text));
  return true;
}

bool WebSocketClient::connected() const {
  return impl_->channel && impl_->channel->open();
}

void WebSocketClient::stop() {
  impl_->stop();
}

bool WebSocketClient::active() const {
  return impl_->active;
}

}  // namespace oak::http
