// The Transport over HTTP: plain requests through the blocking client of oak_http; streamed
// answers (log follows) over a socket of their own, read as they arrive.

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "cli/oak/stream_parsing.h"
#include "cli/oak/transport.h"
#include "common/unique_fd.h"
#include "http/client.h"

namespace oak::cli {

namespace {

constexpr std::chrono::seconds kConnectTimeout{10};
constexpr std::chrono::seconds kRequestTimeout{60};
// A follow hears a keep-alive every 15 s; this long without a byte means the root is gone.
constexpr std::chrono::seconds kStreamIdleTimeout{60};

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(std::string url, http::Url parsed) : url_(std::move(url)), u_(std::move(parsed)) {}

  Result<ApiReply> send(const ApiRequest& req) override {
    auto conn = http::Connection::open(u_.host, u_.port, kRequestTimeout);
    if (!conn) {
      // The client says "cannot connect to HOST:PORT: Why"; users typed a URL.
      std::string why = conn.error().message;
      std::string prefix = fmt::format("cannot connect to {}:{}: ", u_.host, u_.port);
      if (why.starts_with(prefix)) why = why.substr(prefix.size());
      return unreachable(why);
    }
    http::ClientRequest r{req.method, u_.base_path + req.target, {}, req.body};
    if (!req.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + req.token);
    auto res = (*conn)->send(r);
    if (!res) {
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("{}: {}", url_, lowerFirst(res.error().message)));
    }
    return ApiReply{res->status, std::move(res->body)};
  }

  Result<ApiReply> stream(const ApiRequest& req, const DataSink& sink) override {
    OAK_ASSIGN_OR_RETURN(auto fd, connect());
    std::string text = fmt::format(
        "{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: oak\r\nAccept: text/event-stream\r\n"
        "Connection: close\r\n",
        http::methodName(req.method), u_.base_path, req.target, u_.host);
    if (!req.token.empty()) text += "Authorization: Bearer " + req.token + "\r\n";
    if (!req.body.empty()) {
      text +=
          fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", req.body.size());
    }
    text += "\r\n" + req.body;
    for (std::string_view rest = text; !rest.empty();) {
      ssize_t n = ::send(fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return lost(std::strerror(errno));
      rest.remove_prefix(static_cast<size_t>(n));
    }
    std::string raw;
    size_t head_end;
    while ((head_end = raw.find("\r\n\r\n")) == std::string::npos) {
      OAK_ASSIGN_OR_RETURN(bool more, receive(fd.get(), raw));
      if (!more) return lost("the connection closed before an answer");
    }
    OAK_ASSIGN_OR_RETURN(auto head, parseResponseHead(std::string_view(raw).substr(0, head_end)));
    raw.erase(0, head_end + 4);
    bool ok = head.status / 100 == 2;
    ApiReply reply{head.status, {}};
    ChunkedDecoder chunks;
    size_t received = 0;
    for (;;) {
      std::string data;
      if (head.chunked) {
        OAK_TRY(chunks.feed(raw, data));
      } else {
        data = std::move(raw);
      }
      raw.clear();
      received += data.size();
      if (ok) {
        if (!data.empty() && !sink(data)) return reply;
      } else {
        reply.body += data;
      }
      bool complete =
          head.chunked ? chunks.done() : head.content_length && received >= *head.content_length;
      if (complete) return reply;
      OAK_ASSIGN_OR_RETURN(bool more, receive(fd.get(), raw));
      if (!more) return reply;  // the server closed: the body ends here
    }
  }

 private:
  Error unreachable(const std::string& why) const {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("cannot reach {}: {}", url_, lowerFirst(why)));
  }
  Error lost(const std::string& why) const {
    return makeError(ErrorCode::kUnavailable, fmt::format("{}: {}", url_, why));
  }

  // A connected socket, within kConnectTimeout.
  Result<UniqueFd> connect() const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(u_.host.c_str(), std::to_string(u_.port).c_str(), &hints, &found);
    if (rc != 0) return unreachable(::gai_strerror(rc));
    std::string why = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!fd.valid()) continue;
      if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
        why = std::strerror(errno);
        continue;
      }
      pollfd p{fd.get(), POLLOUT, 0};
      int ready = ::poll(&p, 1, static_cast<int>(kConnectTimeout.count() * 1000));
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (ready == 1 && err == 0) {
        ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
        ::freeaddrinfo(found);
        return fd;
      }
      why = ready == 0 ? "connection timed out" : std::strerror(err);
    }
    ::freeaddrinfo(found);
    return unreachable(why);
  }

  // Appends what arrives to `raw`; false when the server closed the connection.
  Result<bool> receive(int fd, std::string& raw) const {
    pollfd p{fd, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(kStreamIdleTimeout.count() * 1000));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      return lost(fmt::format("no data for {} s", kStreamIdleTimeout.count()));
    }
    char buffer[16 * 1024];
    ssize_t n;
    do {
      n = ::recv(fd, buffer, sizeof(buffer), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return lost(std::strerror(errno));
    raw.append(buffer, static_cast<size_t>(n));
    return n > 0;
  }

  std::string url_;
  http::Url u_;
};

}  // namespace

Result<std::unique_ptr<Transport>> httpTransport(const std::string& url) {
  OAK_ASSIGN_OR_RETURN(auto parsed, http::Url::parse(url));
  return std::unique_ptr<Transport>(new HttpTransport(url, std::move(parsed)));
}

}  // namespace oak::cli
