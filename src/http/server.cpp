#include "http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>

#include <ctime>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include <array>
#include <list>
#include <optional>

#include "http/stream_session.h"
#include "http/websocket_upgrade.h"

namespace oak::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);

struct HttpServer::Impl {
  asio::io_context& io;
  ServerOptions options;
  const Router& router;
  tcp::acceptor acceptor;
  std::list<beast::tcp_stream*> connections;  // for stop(); entries removed by their sessions
  std::list<std::shared_ptr<detail::WebSocketChannel>> websockets;  // likewise
  std::list<std::shared_ptr<detail::ChunkedStream>> streams;        // likewise
  bool stopping = false;

  Impl(asio::io_context& ctx, ServerOptions opts, const Router& r)
      : io(ctx), options(std::move(opts)), router(r), acceptor(ctx) {}
};

namespace {

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

// RFC 9110 asks servers with a clock for a Date header; peers use it to spot clock skew (tokens
// and leases depend on clocks). Formatted once per second per thread.
const std::string& httpDate() {
  thread_local time_t cached_second = 0;
  thread_local std::string cached;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    tm t{};
    ::gmtime_r(&now, &t);
    char buf[40];
    size_t n = ::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &t);
    cached.assign(buf, n);
  }
  return cached;
}

template <class Message>
void setHeaders(Message& out, const Response& r) {
  out.set(bhttp::field::server, "oakestra");
  out.set(bhttp::field::date, httpDate());
  out.set(bhttp::field::access_control_allow_origin, "*");
  if (!r.content_type.empty()) out.set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) out.set(k, v);
}

BeastResponse toBeast(Response r, unsigned version, bool keep_alive, bool head) {
  BeastResponse out{static_cast<bhttp::status>(r.status), version};
  setHeaders(out, r);
  out.keep_alive(keep_alive);
  size_t n = r.body.size();
  if (!head) out.body() = std::move(r.body);
  out.content_length(n);
  return out;
}

Result<std::string> decodePath(std::string_view raw) {
  auto pct = boost::urls::make_pct_string_view(raw);
  if (!pct) return makeError(ErrorCode::kInvalidArgument, "malformed percent-encoding in path");
  std::string out;
  for (char c : boost::urls::decode_view(*pct)) {
    if (c == '\0') return makeError(ErrorCode::kInvalidArgument, "NUL byte in path");
    out.push_back(c);
  }
  return out;
}

// Runs the router and waits, bounded, for the (possibly asynchronous) answer.
asio::awaitable<Response> handle(HttpServer::Impl& srv, Request& req) {
  auto answer = std::make_shared<std::optional<Response>>();
  auto timer = std::make_shared<asio::steady_timer>(srv.io);
  Responder respond([answer, weak = std::weak_ptr<asio::steady_timer>(timer)](Response r) {
    *answer = std::move(r);
    if (auto t = weak.lock()) t->cancel();
  });
  srv.router.dispatch(req, respond);
  if (!answer->has_value()) {
    timer->expires_after(srv.options.handler_timeout);
    co_await timer->async_wait(kAsTuple);
  }
  if (!answer->has_value()) {
    spdlog::error("handler for {} {} did not answer within {}s", methodName(req.method), req.path,
                  srv.options.handler_timeout.count());
    co_return errorResponse(503, "the request could not be completed in time");
  }
  co_return std::move(**answer);
}

// Answers a request that will not be read to its end, then closes gracefully: the client may
// still be sending the body, and closing at once would reset the connection before it reads
// the answer. The rest of the input is drained for a bounded time and size.
asio::awaitable<void> writeError(beast::tcp_stream& stream, int status, std::string_view msg) {
  auto res = toBeast(errorResponse(status, msg), 11, false, false);
  auto [ec, n] = co_await bhttp::async_write(stream, res, kAsTuple);
  if (ec) co_return;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16 * 1024> sink;
  for (size_t drained = 0; drained < (64u << 20);) {
    auto [rec, got] = co_await stream.async_read_some(asio::buffer(sink), kAsTuple);
    if (rec) break;
    drained += got;
  }
}

constexpr std::string_view kStopping = "server is stopping";

// Runs an accepted upgrade to its end, known to stop() meanwhile.
asio::awaitable<void> serveWebSocket(std::shared_ptr<HttpServer::Impl> srv,
                                     beast::tcp_stream stream, BeastRequest upgrade,
                                     std::shared_ptr<detail::WebSocketChannel> channel) {
  auto self = srv->websockets.insert(srv->websockets.end(), channel);
  // The request may have been read just before stop(), which then did not see this connection.
  if (srv->stopping)
    channel->closeWith(beast::websocket::close_code::going_away, std::string(kStopping));
  co_await detail::serveUpgrade(std::move(stream), std::move(upgrade), std::move(channel),
                                srv->options.idle_timeout);
  srv->websockets.erase(self);
}

// Runs a streamed response to its end, known to stop() meanwhile.
asio::awaitable<void> serveStream(std::shared_ptr<HttpServer::Impl> srv, beast::tcp_stream& stream,
                                  Response res, unsigned version, bool head_only) {
  auto body = std::move(res.stream);
  auto writer = std::make_shared<detail::ChunkedStream>(srv->io.get_executor(), body->options);
  auto self = srv->streams.insert(srv->streams.end(), writer);
  if (srv->stopping) writer->abort(std::string(kStopping));
  detail::StreamHead head{static_cast<bhttp::status>(res.status), version};
  setHeaders(head, res);
  co_await writer->run(stream, std::move(head), head_only, body->start);
  srv->streams.erase(self);
}

asio::awaitable<void> session(std::shared_ptr<HttpServer::Impl> srv, tcp::socket socket) {
  boost::system::error_code ep_ec;
  auto remote = socket.remote_endpoint(ep_ec);
  beast::tcp_stream stream(std::move(socket));
  auto self = srv->connections.insert(srv->connections.end(), &stream);
  beast::flat_buffer buffer;
  for (;;) {
    // stop() cancels pending reads only: a session between requests (its answer written, or
    // accepted just before stop) sees the flag here instead.
    if (srv->stopping) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(srv->options.max_body_bytes);
    stream.expires_after(srv->options.idle_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
    if (hec == bhttp::error::body_limit) {
      co_await writeError(
          stream, 413,
          fmt::format("request body exceeds the limit of {} bytes", srv->options.max_body_bytes));
      break;
    }
    if (hec == bhttp::error::header_limit) {
      co_await writeError(stream, 431, "request headers are too large");
      break;
    }
    if (hec) {
      if (hec != bhttp::error::end_of_stream && hec != beast::error::timeout &&
          hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
        co_await writeError(stream, 400, fmt::format("malformed HTTP request: {}", hec.message()));
      }
      break;
    }
    if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      co_await bhttp::async_write(stream, cont, kAsTuple);
    }
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
    if (ec == bhttp::error::body_limit) {
      co_await writeError(
          stream, 413,
          fmt::format("request body exceeds the limit of {} bytes", srv->options.max_body_bytes));
      break;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted) {
        co_await writeError(stream, 400, fmt::format("malformed HTTP request: {}", ec.message()));
      }
      break;
    }
    BeastRequest msg = parser.release();
    auto started = std::chrono::steady_clock::now();

    Request req;
    req.method = methodFromName(std::string_view(msg.method_string()));
    std::string_view target(msg.target());
    size_t q = target.find('?');
    req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
    auto path = decodePath(target.substr(0, q));
    req.body = std::move(msg.body());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.remote_address = ep_ec ? "" : remote.address().to_string();

    Response res;
    std::shared_ptr<detail::WebSocketChannel> upgraded;
    if (!path || path->empty() || path->front() != '/') {
      res = errorResponse(400,
                          path ? "request target must be an absolute path" : path.error().message);
    } else {
      req.path = normalizePath(*path);
      if (beast::websocket::is_upgrade(msg)) {
        upgraded = detail::acceptUpgrade(srv->router, req, &res);
      } else {
        res = co_await handle(*srv, req);
      }
    }
    if (upgraded) {
      // From here on the connection speaks WebSocket; the channel owns it.
      srv->connections.erase(self);
      co_await serveWebSocket(srv, std::move(stream), std::move(msg), std::move(upgraded));
      co_return;
    }
    if (res.stream) {
      co_await serveStream(srv, stream, std::move(res), msg.version(), req.method == Method::kHead);
      break;
    }
    bool keep_alive = msg.keep_alive() && !srv->stopping;
    spdlog::debug("{} {} {} {}us", methodName(req.method), req.path, res.status,
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    auto out = toBeast(std::move(res), msg.version(), keep_alive, req.method == Method::kHead);
    auto [wec, wn] = co_await bhttp::async_write(stream, out, kAsTuple);
    if (wec || !keep_alive) break;
  }
  srv->connections.erase(self);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> acceptLoop(std::shared_ptr<HttpServer::Impl> srv) {
  while (!srv->stopping) {
    auto [ec, sock] = co_await srv->acceptor.async_accept(kAsTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || srv->stopping) break;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(srv->io, session(srv, std::move(sock)), asio::detached);
  }
}

}  // namespace

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(EventLoop& loop, const ServerOptions& options,
                                                      const Router& router) {
  auto impl = std::make_shared<Impl>(loop.context(), options, router);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(options.host, ec);
  if (ec) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("--listen: '{}' is not an IP address", options.host));
  }
  tcp::endpoint ep(addr, options.port);
  auto& a = impl->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && addr.is_v6()) a.set_option(asio::ip::v6_only(false), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return makeError(
        ErrorCode::kUnavailable,
        fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
  }
  asio::co_spawn(impl->io, acceptLoop(impl), asio::detached);
  return std::unique_ptr<HttpServer>(new HttpServer(impl));
}

uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (impl_->stopping) return;
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  // Idle connections wait in a read; cancelling wakes them up so their sessions end.
  for (auto* s : impl_->connections) s->cancel();
  for (auto& ws : impl_->websockets) {
    ws->closeWith(beast::websocket::close_code::going_away, std::string(kStopping));
  }
  for (auto& s : impl_->streams) s->abort(std::string(kStopping));
}

}  // namespace oak::http
