#include "oci/http_session.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "oci/http_request.h"

namespace oak::oci {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Parser = bhttp::response_parser<bhttp::buffer_body>;

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kChunkSize = 64 * 1024;
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kLowSpeedBytesPerSecond = 1024;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kDefaultConnect = std::chrono::seconds(300);  // when the options say 0

// Why an operation was stopped before it completed.
enum class Stop { kNone, kCancelled, kDeadline, kTooSlow };

struct Outcome {
  error_code ec;
  size_t bytes = 0;
  Stop stop = Stop::kNone;

  bool ok() const { return !ec && stop == Stop::kNone; }
};

// getaddrinfo cannot be interrupted, so lookups run on a thread of their own and the caller stops
// waiting at its deadline or when cancelled. The thread shares this with the caller, so an
// abandoned lookup ends harmlessly.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}

  tcp::socket socket;
  std::optional<ssl::stream<tcp::socket&>> tls;
  boost::beast::flat_buffer buffer;
  std::string peer;  // "registry.example:443", "proxy proxy.lan:3128": for messages
};

// What an exchange tells its caller besides its result.
struct Exchange {
  bool retryable = false;  // failed before any byte of an answer: a fresh connection may do
  bool reusable = false;   // the answer ended cleanly and the server keeps the connection
};

bool isSuccess(int status) {
  return status >= 200 && status < 300;
}

Error unavailable(std::string message) {
  return makeError(ErrorCode::kUnavailable, std::move(message));
}

}  // namespace

std::string_view HttpHead::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

struct HttpSession::Impl {
  explicit Impl(const SessionOptions& o) : options(o) {
    if (options.connect_timeout.count() <= 0) options.connect_timeout = kDefaultConnect;
  }

  Result<HttpResult> send(const std::string& key, const HttpTarget& t, const HttpProxy* proxy,
                          const std::string& request, const std::string& url, const BodySink& sink);
  Result<std::unique_ptr<Connection>> open(const HttpTarget& t, const HttpProxy* proxy);
  Result<std::vector<tcp::endpoint>> resolve(const std::string& host, bool ip_literal,
                                             uint16_t port);
  Status connectTcp(Connection& c, const std::string& host, bool ip_literal, uint16_t port);
  Status tunnel(Connection& c, const HttpTarget& t, const HttpProxy& proxy);
  Result<ssl::context*> tlsContext();
  Status handshake(Connection& c, const HttpTarget& t);
  template <class Stream>
  Result<HttpResult> exchange(Stream& stream, Connection& c, const std::string& request,
                              const std::string& url, const BodySink& sink, Exchange& ex);
  Status deliver(HttpResult& result, const BodySink& sink, std::string_view chunk);

  template <class Start>
  Outcome await(tcp::socket& socket, Start start);
  Stop shouldStop();
  Error failure(std::string_view what, const Outcome& o) const;
  Error receiveFailure(std::string_view what, const Outcome& o, bool answered) const;

  SessionOptions options;
  asio::io_context io{1};
  std::optional<ssl::context> tls_context;  // made for the first https request
  // One kept-alive connection per scheme, host and port (and proxy).
  std::map<std::string, std::unique_ptr<Connection>> connections;
  std::vector<char> buffer = std::vector<char>(kChunkSize);  // a piece of body
  bool sink_failed = false;

  // Limits of the operation in progress: a deadline while connecting, then the lowest speed.
  std::optional<SteadyClock::time_point> deadline;
  bool watch_speed = false;
  SteadyClock::time_point window_start, last_fast;
  size_t window_bytes = 0;
};

// Runs the operation `start` begins to its end on the session's context, checking before it and
// every 100 ms whether to stop it; stopping closes the socket, which aborts the operation.
template <class Start>
Outcome HttpSession::Impl::await(tcp::socket& socket, Start start) {
  Outcome out;
  out.stop = shouldStop();  // also catches a trickle of quick reads
  if (out.stop != Stop::kNone) return out;
  bool done = false;
  start([&](error_code ec, auto... bytes) {
    out.ec = ec;
    ((out.bytes = bytes), ...);
    done = true;
  });
  while (!done) {
    io.restart();
    io.run_for(kPollInterval);
    if (done) break;
    out.stop = shouldStop();
    if (out.stop == Stop::kNone) continue;
    error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run();
  }
  window_bytes += out.bytes;
  return out;
}

Stop HttpSession::Impl::shouldStop() {
  if (options.cancelled && options.cancelled()) return Stop::kCancelled;
  auto now = SteadyClock::now();
  if (deadline && now >= *deadline) return Stop::kDeadline;
  if (!watch_speed) return Stop::kNone;
  // Speed is judged over windows of a second or more, as an average.
  auto window = now - window_start;
  if (window >= std::chrono::seconds(1)) {
    double seconds = std::chrono::duration<double>(window).count();
    if (static_cast<double>(window_bytes) >= seconds * kLowSpeedBytesPerSecond) last_fast = now;
    window_start = now;
    window_bytes = 0;
  }
  return now - last_fast >= options.low_speed_timeout ? Stop::kTooSlow : Stop::kNone;
}

Error HttpSession::Impl::failure(std::string_view what, const Outcome& o) const {
  switch (o.stop) {
    case Stop::kCancelled:
      return unavailable("cancelled");
    case Stop::kDeadline:
      return unavailable(
          fmt::format("{}: timed out after {} s", what, options.connect_timeout.count()));
    case Stop::kTooSlow:
      return unavailable(fmt::format("{}: timed out: less than {} bytes/s for {} s", what,
                                     kLowSpeedBytesPerSecond, options.low_speed_timeout.count()));
    case Stop::kNone:
      break;
  }
  return unavailable(fmt::format("{}: {}", what, o.ec.message()));
}

Error HttpSession::Impl::receiveFailure(std::string_view what, const Outcome& o,
                                        bool answered) const {
  bool closed = o.ec == bhttp::error::end_of_stream || o.ec == bhttp::error::partial_message ||
                o.ec == ssl::error::stream_truncated || o.ec == asio::error::eof;
  if (o.stop != Stop::kNone || !closed) return failure(what, o);
  return unavailable(fmt::format("{}: connection closed {}", what,
                                 answered ? "before the end of the answer" : "without an answer"));
}

Result<std::vector<tcp::endpoint>> HttpSession::Impl::resolve(const std::string& host,
                                                              bool ip_literal, uint16_t port) {
  if (ip_literal) {
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
  }
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread([lookup, host, port] {
      asio::io_context lookup_io;
      tcp::resolver resolver(lookup_io);
      error_code ec;
      auto results = resolver.resolve(host, std::to_string(port), ec);
      std::lock_guard lock(lookup->mutex);
      for (const auto& r : results) lookup->endpoints.push_back(r.endpoint());
      lookup->ec = ec;
      lookup->done = true;
      lookup->done_cv.notify_one();
    }).detach();
  } catch (const std::system_error& e) {
    return unavailable(fmt::format("resolve {}: {}", host, e.what()));
  }
  std::unique_lock lock(lookup->mutex);
  while (!lookup->done) {
    if (Stop stop = shouldStop(); stop != Stop::kNone) {
      return failure(fmt::format("resolve {}", host), Outcome{{}, 0, stop});
    }
    lookup->done_cv.wait_for(lock, kPollInterval);
  }
  if (lookup->ec) return unavailable(fmt::format("resolve {}: {}", host, lookup->ec.message()));
  if (lookup->endpoints.empty()) return unavailable(fmt::format("resolve {}: no address", host));
  return std::move(lookup->endpoints);
}

Status HttpSession::Impl::connectTcp(Connection& c, const std::string& host, bool ip_literal,
                                     uint16_t port) {
  OAK_ASSIGN_OR_RETURN(auto endpoints, resolve(host, ip_literal, port));
  const SteadyClock::time_point overall = *deadline;
  Outcome last{{}, 0, Stop::kDeadline};
  for (size_t i = 0; i < endpoints.size(); ++i) {
    auto now = SteadyClock::now();
    if (now >= overall) break;
    // An address that does not answer leaves time for the next ones.
    deadline = i + 1 < endpoints.size() ? now + (overall - now) / 2 : overall;
    error_code ignored;
    c.socket.close(ignored);
    last = await(c.socket, [&](auto done) { c.socket.async_connect(endpoints[i], done); });
    deadline = overall;
    if (last.ok() || last.stop == Stop::kCancelled) break;
  }
  if (last.ok()) return {};
  return failure("connect " + c.peer, last);
}

Status HttpSession::Impl::tunnel(Connection& c, const HttpTarget& t, const HttpProxy& proxy) {
  std::string request = formatConnect(t, proxy, options.user_agent);
  std::string what = fmt::format("{}: CONNECT {}", c.peer, t.authority());
  Outcome o =
      await(c.socket, [&](auto done) { asio::async_write(c.socket, asio::buffer(request), done); });
  if (!o.ok()) return failure(what, o);
  Parser parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.skip(true);  // the answer to a CONNECT has no body
  o = await(c.socket,
            [&](auto done) { bhttp::async_read_header(c.socket, c.buffer, parser, done); });
  if (!o.ok()) return receiveFailure(what, o, parser.got_some());
  if (int status = parser.get().result_int(); !isSuccess(status)) {
    return unavailable(fmt::format("{}: answered {}", what, status));
  }
  return {};
}

Result<ssl::context*> HttpSession::Impl::tlsContext() {
  if (tls_context) return &*tls_context;
  try {
    tls_context.emplace(ssl::context::tls_client);
  } catch (const boost::system::system_error& e) {
    return unavailable(fmt::format("TLS: {}", e.what()));
  }
  ssl::context& ctx = *tls_context;
  auto fail = [&](std::string message) {
    tls_context.reset();
    return unavailable(std::move(message));
  };
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_verify_mode(ssl::verify_peer);
  error_code ec;
  // The system's trust store, or the one SSL_CERT_FILE and SSL_CERT_DIR name.
  ctx.set_default_verify_paths(ec);
  if (ec) return fail(fmt::format("TLS: cannot load the system's certificates: {}", ec.message()));
  if (!options.ca_file.empty()) {
    ctx.load_verify_file(options.ca_file, ec);
    if (ec) {
      return fail(fmt::format("TLS: cannot load CA file {}: {}", options.ca_file, ec.message()));
    }
  }
  return &ctx;
}

Status HttpSession::Impl::handshake(Connection& c, const HttpTarget& t) {
  OAK_ASSIGN_OR_RETURN(ssl::context * ctx, tlsContext());
  auto& stream = c.tls.emplace(c.socket, *ctx);
  SSL* native = stream.native_handle();
  std::string what = fmt::format("TLS handshake with {}", t.host);
  // The certificate must name the host: its address, or its name (also sent as SNI).
  bool named = t.ip_literal
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), t.host.c_str()) == 1
                   : SSL_set_tlsext_host_name(native, t.host.c_str()) == 1 &&
                         SSL_set1_host(native, t.host.c_str()) == 1;
  if (!named) return unavailable(what + ": cannot set the name to verify");
  Outcome o =
      await(c.socket, [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); });
  if (o.ok()) return {};
  long verify = SSL_get_verify_result(native);
  if (o.stop == Stop::kNone && verify != X509_V_OK) {
    return unavailable(fmt::format("{}: certificate verify failed: {}", what,
                                   X509_verify_cert_error_string(verify)));
  }
  return failure(what, o);
}

Result<std::unique_ptr<Connection>> HttpSession::Impl::open(const HttpTarget& t,
                                                            const HttpProxy* proxy) {
  auto c = std::make_unique<Connection>(io);
  // Name lookup, connection, tunnel and handshake share the connect timeout.
  deadline = SteadyClock::now() + options.connect_timeout;
  watch_speed = false;
  auto opened = [&]() -> Status {
    if (proxy) {
      c->peer = "proxy " + proxy->authority();
      OAK_TRY(connectTcp(*c, proxy->host, proxy->ip_literal, proxy->port));
      if (t.tls) {
        OAK_TRY(tunnel(*c, t, *proxy));
      }
    } else {
      c->peer = t.authority();
      OAK_TRY(connectTcp(*c, t.host, t.ip_literal, t.port));
    }
    if (t.tls) {
      c->peer = t.authority();
      OAK_TRY(handshake(*c, t));
    }
    return {};
  }();
  deadline.reset();
  if (!opened) return opened.error();
  return c;
}

Status HttpSession::Impl::deliver(HttpResult& result, const BodySink& sink,
                                  std::string_view chunk) {
  if (!isSuccess(result.head.status)) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, result.body.size());
    result.body.append(chunk.substr(0, room));
    return {};
  }
  if (!sink) return {};
  auto ok = sink(result.head, chunk);
  sink_failed = !ok;
  return ok;
}

template <class Stream>
Result<HttpResult> HttpSession::Impl::exchange(Stream& stream, Connection& c,
                                               const std::string& request, const std::string& url,
                                               const BodySink& sink, Exchange& ex) {
  watch_speed = options.low_speed_timeout.count() > 0;
  window_start = last_fast = SteadyClock::now();
  window_bytes = 0;
  Outcome o =
      await(c.socket, [&](auto done) { asio::async_write(stream, asio::buffer(request), done); });
  ex.retryable = o.stop == Stop::kNone;
  if (!o.ok()) return failure("send to " + c.peer, o);

  std::string what = "receive from " + c.peer;
  bool answered = false;
  std::optional<Parser> parser;
  do {  // interim answers (100 Continue) precede the final one
    parser.emplace();
    parser->header_limit(kMaxHeaderBytes);
    parser->body_limit(boost::none);
    o = await(c.socket,
              [&](auto done) { bhttp::async_read_header(stream, c.buffer, *parser, done); });
    answered = answered || parser->got_some();
    ex.retryable = !answered && o.stop == Stop::kNone;
    if (!o.ok()) return receiveFailure(what, o, answered);
  } while (parser->get().result_int() / 100 == 1);
  ex.retryable = false;

  HttpResult result;
  result.head.status = static_cast<int>(parser->get().result_int());
  for (const auto& field : parser->get()) {
    result.head.headers.emplace_back(lowerAscii(field.name_string()), std::string(field.value()));
  }
  while (!parser->is_done()) {
    auto& body = parser->get().body();
    body.data = buffer.data();
    body.size = buffer.size();
    o = await(c.socket,
              [&](auto done) { bhttp::async_read_some(stream, c.buffer, *parser, done); });
    if (o.ec == bhttp::error::need_buffer) o.ec = {};
    // Servers that end a body with the connection often skip TLS's close_notify.
    if (o.ec == ssl::error::stream_truncated && parser->need_eof()) parser->put_eof(o.ec);
    if (!o.ok()) return receiveFailure(what, o, true);
    if (size_t n = buffer.size() - body.size; n > 0) {
      OAK_TRY(deliver(result, sink, std::string_view(buffer.data(), n)));
    }
  }
  if (result.head.status >= 300 && result.head.status < 400) {
    std::string_view location = result.head.header("location");
    if (!location.empty()) result.location = resolveLocation(url, location);
  }
  ex.reusable = parser->keep_alive();
  return result;
}

Result<HttpResult> HttpSession::Impl::send(const std::string& key, const HttpTarget& t,
                                           const HttpProxy* proxy, const std::string& request,
                                           const std::string& url, const BodySink& sink) {
  for (;;) {
    std::unique_ptr<Connection>& slot = connections[key];
    bool reused = slot != nullptr;
    if (!slot) {
      auto opened = open(t, proxy);
      if (!opened) {
        connections.erase(key);
        return opened.error();
      }
      slot = std::move(*opened);
    }
    Connection& c = *slot;
    Exchange ex;
    auto r = c.tls ? exchange(*c.tls, c, request, url, sink, ex)
                   : exchange(c.socket, c, request, url, sink, ex);
    if (r && ex.reusable) return r;
    connections.erase(key);
    // A kept-alive connection the server has since closed fails before any answer: once more
    // on a fresh one.
    if (r || !reused || !ex.retryable) return r;
  }
}

HttpSession::HttpSession(const SessionOptions& options) : impl_(std::make_unique<Impl>(options)) {}

HttpSession::~HttpSession() = default;

Result<HttpResult> HttpSession::get(const std::string& url, const std::vector<std::string>& headers,
                                    const BodySink& sink) {
  Impl& s = *impl_;
  s.sink_failed = false;
  OAK_ASSIGN_OR_RETURN(HttpTarget t, parseHttpUrl(url));
  OAK_ASSIGN_OR_RETURN(std::optional<HttpProxy> proxy, proxyFor(t, processEnv));
  const HttpProxy* via = proxy ? &*proxy : nullptr;
  OAK_ASSIGN_OR_RETURN(std::string request, formatGet(t, via, headers, s.options.user_agent));
  // Plain requests through a proxy share its connection; tunnels belong to their origin.
  std::string key = via && !t.tls ? "proxy " + via->authority()
                                  : fmt::format("{}://{}", t.tls ? "https" : "http", t.authority());
  if (via && t.tls) key += " via " + via->authority();
  return s.send(key, t, via, request, url, sink);
}

bool HttpSession::sinkFailed() const {
  return impl_->sink_failed;
}

}  // namespace oak::oci
