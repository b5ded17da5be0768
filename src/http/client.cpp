#include "http/client.h"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <optional>

namespace oak::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Result<Url> Url::parse(std::string_view text) {
  Url u;
  std::string_view rest = text;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("'{}': only http:// URLs are supported", text));
  }
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.base_path = std::string(rest.substr(slash));
    while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  }
  std::optional<std::string_view> port_text;
  if (hostport.starts_with('[')) {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return makeError(ErrorCode::kInvalidArgument, fmt::format("'{}': unclosed '['", text));
    }
    u.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return makeError(ErrorCode::kInvalidArgument, fmt::format("'{}': bad port", text));
    }
    if (!after.empty()) port_text = after.substr(1);
  } else {
    size_t colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    return makeError(ErrorCode::kInvalidArgument, fmt::format("'{}': missing host", text));
  }
  // A ':' promises a port: "host:" is a typo, not port 80.
  if (port_text) {
    auto [p, ec] =
        std::from_chars(port_text->data(), port_text->data() + port_text->size(), u.port);
    if (port_text->empty() || ec != std::errc() || p != port_text->data() + port_text->size() ||
        u.port == 0) {
      return makeError(ErrorCode::kInvalidArgument, fmt::format("'{}': bad port", text));
    }
  }
  return u;
}

namespace {

// Runs one asynchronous operation to its end on the connection's own context: Beast applies the
// stream's deadline to asynchronous operations only, so blocking calls would wait forever.
template <class Start>
boost::system::error_code runOne(asio::io_context& io, Start start) {
  boost::system::error_code result;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace

struct Connection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::string host;
  std::chrono::milliseconds timeout;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() {
  boost::system::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& host, uint16_t port,
                                                     std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->host = host;
  impl->timeout = timeout;
  tcp::resolver resolver(impl->io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) {
    impl->stream.expires_after(timeout);
    ec = runOne(impl->io, [&](auto handler) { impl->stream.async_connect(results, handler); });
  }
  if (ec) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("cannot connect to {}:{}: {}", host, port, ec.message()));
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Result<Response> Connection::send(const ClientRequest& req) {
  bhttp::request<bhttp::string_body> msg{bhttp::string_to_verb(std::string(methodName(req.method))),
                                         req.target, 11};
  msg.set(bhttp::field::host, impl_->host);
  msg.set(bhttp::field::user_agent, "oak");
  for (const auto& [k, v] : req.headers) msg.set(k, v);
  if (!req.body.empty()) {
    msg.set(bhttp::field::content_type, req.content_type);
    msg.body() = req.body;
  }
  msg.prepare_payload();
  msg.keep_alive(true);
  auto& stream = impl_->stream;
  stream.expires_after(impl_->timeout);  // one deadline for the whole exchange
  auto ec = runOne(impl_->io, [&](auto handler) { bhttp::async_write(stream, msg, handler); });
  // A server may answer early (e.g. 413) and stop reading: the answer is still worth reading.
  // Interim answers (100 Continue) precede the final one.
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  boost::system::error_code read_ec;
  do {
    parser.emplace();
    parser->body_limit(256 * 1024 * 1024);
    parser->skip(req.method == Method::kHead);  // the length is that of the GET body
    read_ec = runOne(impl_->io, [&](auto handler) {
      bhttp::async_read(stream, impl_->buffer, *parser, handler);
    });
  } while (!read_ec && parser->get().result_int() / 100 == 1 &&
           parser->get().result() != bhttp::status::switching_protocols);
  if (!read_ec)
    ec = {};
  else if (!ec)
    ec = read_ec;
  if (ec) {
    return makeError(
        ErrorCode::kUnavailable,
        fmt::format("request {} {} failed: {}", methodName(req.method), req.target, ec.message()));
  }
  auto res = parser->release();
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  out.body = std::move(res.body());
  return out;
}

Result<Response> fetch(const std::string& host, uint16_t port, const ClientRequest& req,
                       std::chrono::milliseconds timeout) {
  OAK_ASSIGN_OR_RETURN(auto conn, Connection::open(host, port, timeout));
  return conn->send(req);
}

}  // namespace oak::http
