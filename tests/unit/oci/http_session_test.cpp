// HttpSession against scripted servers on loopback: bodies, keep-alive, timeouts, cancellation,
// TLS verification, IPv6 and proxies.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "oci/http_session.h"
#include "process.h"
#include "scripted_server.h"
#include "temp_dir.h"
#include "test_tls.h"

namespace oak::oci {
namespace {

using testing::Exchange;
using testing::hasLine;
using testing::ScriptedServer;
using SteadyClock = std::chrono::steady_clock;

std::string answer(int status, std::string_view body, std::string_view extra_headers = "") {
  return fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\n{}\r\n{}", status, body.size(),
                     extra_headers, body);
}

std::string chunked(std::string_view body, size_t piece) {
  std::string out;
  for (size_t at = 0; at < body.size(); at += piece) {
    std::string_view part = body.substr(at, piece);
    out += fmt::format("{:x}\r\n{}\r\n", part.size(), part);
  }
  return out;
}

std::string pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return out;
}

// Writes `bytes`, then neither writes nor closes until the client leaves.
testing::Script stallingAfter(std::string bytes) {
  return [bytes = std::move(bytes)](Exchange& e) {
    e.write(bytes);
    e.stall();
  };
}
constexpr std::string_view kSomeBytes =
    "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nsome bytes";

// Sets (or clears, with "") an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value.empty()) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class HttpSessionTest : public ::testing::Test {
 protected:
  // Whatever proxies the machine uses, these tests talk to loopback directly.
  ScopedEnv no_proxies_[6] = {{"http_proxy", ""},  {"HTTP_PROXY", ""}, {"https_proxy", ""},
                              {"HTTPS_PROXY", ""}, {"no_proxy", ""},   {"NO_PROXY", ""}};

  SessionOptions options() {
    SessionOptions o;
    o.connect_timeout = std::chrono::seconds(5);
    o.low_speed_timeout = std::chrono::seconds(10);
    o.user_agent = "oak-test";
    return o;
  }

  // GET whose 2xx body lands in `body_`, piece by piece in `pieces_`.
  Result<HttpResult> get(HttpSession& session, const std::string& url,
                         const std::vector<std::string>& headers = {}) {
    body_.clear();
    pieces_.clear();
    return session.get(url, headers, [this](const HttpHead&, std::string_view chunk) -> Status {
      body_.append(chunk);
      pieces_.push_back(chunk.size());
      return {};
    });
  }

  std::string body_;
  std::vector<size_t> pieces_;
};

TEST_F(HttpSessionTest, ReadsAContentLengthBodyAndLowerCasesHeaderNames) {
  ScriptedServer server(
      [](Exchange& e) { e.write(answer(200, "hello", "X-Thing: Some Value\r\n")); });
  HttpSession session(options());
  auto r = get(session, server.url("/v2/a?n=1&last=x"), {"Accept: application/json"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->head.status, 200);
  EXPECT_EQ(r->head.header("x-thing"), "Some Value");
  EXPECT_EQ(body_, "hello");
  EXPECT_TRUE(r->body.empty());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].starts_with("GET /v2/a?n=1&last=x HTTP/1.1\r\n")) << requests[0];
  const std::string seen = requests[0];
  EXPECT_TRUE(hasLine(seen, fmt::format("Host: 127.0.0.1:{}", server.port())));
  EXPECT_TRUE(hasLine(seen, "User-Agent: oak-test"));
  EXPECT_TRUE(hasLine(seen, "Accept-Encoding: identity"));
  EXPECT_TRUE(hasLine(seen, "Accept: application/json"));
  EXPECT_FALSE(hasLine(seen, "Accept: */*"));
}

TEST_F(HttpSessionTest, StreamsAChunkedBodyPieceByPiece) {
  const std::string body = pattern(300 * 1024);
  std::mutex mutex;
  std::condition_variable seen_cv;
  size_t seen = 0;
  ScriptedServer server([&](Exchange& e) {
    e.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    e.write(chunked(std::string_view(body).substr(0, 1000), 1));
    // The rest only once the client has handed the first bytes on: nothing waits for the end.
    std::unique_lock lock(mutex);
    seen_cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen > 0; });
    lock.unlock();
    e.write(chunked(std::string_view(body).substr(1000), 70000) + "0\r\n\r\n");
  });
  HttpSession session(options());
  std::string got;
  size_t pieces = 0, largest = 0;
  auto r = session.get(server.url(), {}, [&](const HttpHead& head, std::string_view chunk) {
    EXPECT_EQ(head.status, 200);
    got.append(chunk);
    ++pieces;
    largest = std::max(largest, chunk.size());
    std::lock_guard lock(mutex);
    seen += chunk.size();
    seen_cv.notify_all();
    return Status{};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(got, body);
  EXPECT_GT(pieces, 5u);
  EXPECT_LE(largest, 64u * 1024);
}

TEST_F(HttpSessionTest, CapturesAnErrorBodyUpTo64KiBAndKeepsTheConnection) {
  const std::string big = pattern(100 * 1024);
  ScriptedServer server([&](Exchange& e) {
    e.write(e.request().starts_with("GET /missing") ? answer(404, big) : answer(200, "ok"));
  });
  HttpSession session(options());
  auto missing = get(session, server.url("/missing"));
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_EQ(missing->head.status, 404);
  EXPECT_EQ(missing->body, big.substr(0, 64 * 1024));
  EXPECT_TRUE(body_.empty());
  auto ok = get(session, server.url("/there"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(body_, "ok");
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpSessionTest, ResolvesARedirectsLocationAgainstTheRequest) {
  ScriptedServer server([](Exchange& e) {
    std::string to = e.request().starts_with("GET /a/c/d") ? "../b?x=1" : "https://cdn.example/l";
    e.write(answer(307, "moved", "Location: " + to + "\r\n"));
  });
  HttpSession session(options());
  auto relative = get(session, server.url("/a/c/d?q=2"));
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->head.status, 307);
  EXPECT_EQ(relative->location, fmt::format("http://127.0.0.1:{}/a/b?x=1", server.port()));
  EXPECT_EQ(relative->body, "moved");
  auto absolute = get(session, server.url("/z"));
  ASSERT_TRUE(absolute) << absolute.error().message;
  EXPECT_EQ(absolute->location, "https://cdn.example/l");
}

TEST_F(HttpSessionTest, KeepsOneConnectionAlive) {
  ScriptedServer server([](Exchange& e) { e.write(answer(200, "x")); });
  HttpSession session(options());
  ASSERT_TRUE(get(session, server.url("/1")));
  ASSERT_TRUE(get(session, server.url("/2")));
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(HttpSessionTest, RetriesOnceWhenTheServerClosedAKeptConnection) {
  ScriptedServer server([](Exchange& e) {
    e.write(answer(200, "x"));
    e.close();  // without saying so
  });
  HttpSession session(options());
  ASSERT_TRUE(get(session, server.url("/1")));
  auto again = get(session, server.url("/2"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(body_, "x");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(HttpSessionTest, GivesUpOnAStalledTransfer) {
  ScriptedServer server(stallingAfter(std::string(kSomeBytes)));
  SessionOptions o = options();
  o.low_speed_timeout = std::chrono::seconds(1);
  HttpSession session(o);
  auto start = SteadyClock::now();
  auto r = get(session, server.url());
  auto took = SteadyClock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message,
            fmt::format("receive from 127.0.0.1:{}: timed out: less than 1024 bytes/s for 1 s",
                        server.port()));
  EXPECT_EQ(body_, "some bytes");
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_FALSE(session.sinkFailed());
}

TEST_F(HttpSessionTest, GivesUpOnATrickle) {
  ScriptedServer server([](Exchange& e) {
    e.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    // 200 bytes/s in quick little reads, until the client leaves.
    while (e.write("0123456789")) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    e.close();
  });
  SessionOptions o = options();
  o.low_speed_timeout = std::chrono::seconds(1);
  HttpSession session(o);
  auto start = SteadyClock::now();
  auto r = get(session, server.url());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("timed out: less than 1024 bytes/s for 1 s"), std::string::npos)
      << r.error().message;
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(4));
}

TEST_F(HttpSessionTest, ConnectTimeoutCoversTheTlsHandshake) {
  ScriptedServer silent([](Exchange&) {});  // accepts, never answers a ClientHello
  SessionOptions o = options();
  o.connect_timeout = std::chrono::seconds(1);
  HttpSession session(o);
  auto start = SteadyClock::now();
  auto r = get(session, fmt::format("https://127.0.0.1:{}/", silent.port()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "TLS handshake with 127.0.0.1: timed out after 1 s");
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(3));
}

TEST_F(HttpSessionTest, CancellationStopsATransferPromptly) {
  ScriptedServer server(stallingAfter(std::string(kSomeBytes)));
  auto start = SteadyClock::now();
  SessionOptions o = options();
  o.cancelled = [&] { return SteadyClock::now() - start > std::chrono::milliseconds(300); };
  HttpSession session(o);
  auto r = get(session, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cancelled");
  EXPECT_LT(SteadyClock::now() - start, std::chrono::milliseconds(1300));
}

TEST_F(HttpSessionTest, CancellationIsCheckedBetweenPieces) {
  ScriptedServer server(
      stallingAfter("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"));
  bool cancel = false;
  SessionOptions o = options();
  o.cancelled = [&] { return cancel; };
  HttpSession session(o);
  auto r = session.get(server.url(), {}, [&](const HttpHead&, std::string_view) {
    cancel = true;
    return Status{};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cancelled");
}

TEST_F(HttpSessionTest, ASinkErrorEndsTheTransfer) {
  ScriptedServer server([](Exchange& e) { e.write(answer(200, pattern(1000))); });
  HttpSession session(options());
  auto refused = session.get(server.url(), {}, [](const HttpHead&, std::string_view) -> Status {
    return makeError(ErrorCode::kInternal, "disk full");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "disk full");
  EXPECT_TRUE(session.sinkFailed());
  ASSERT_TRUE(get(session, server.url()));
  EXPECT_FALSE(session.sinkFailed());
  EXPECT_EQ(server.connections(), 2);  // the interrupted connection was not reused
}

TEST_F(HttpSessionTest, NamesARefusedConnection) {
  uint16_t port = oak::testing::pickFreePort();
  HttpSession session(options());
  auto r = get(session, fmt::format("http://127.0.0.1:{}/v2/", port));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, fmt::format("connect 127.0.0.1:{}: Connection refused", port));
}

TEST_F(HttpSessionTest, NamesAHostThatDoesNotResolve) {
  HttpSession session(options());
  auto r = get(session, "http://registry.invalid/v2/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(r.error().message.starts_with("resolve registry.invalid: ")) << r.error().message;
}

TEST_F(HttpSessionTest, RefusesWhatItCannotSpeak) {
  HttpSession session(options());
  auto ftp = get(session, "ftp://example.com/x");
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().code, ErrorCode::kInvalidArgument);
  auto header = get(session, "http://127.0.0.1:1/", {"X: a\r\nY: b"});
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpSessionTest, SpeaksToIpv6Loopback) {
  ScriptedServer server([](Exchange& e) { e.write(answer(200, "six")); }, true);
  if (!server.listening()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  HttpSession session(options());
  auto r = get(session, server.url("/v6"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(body_, "six");
  const std::string seen = server.requests().at(0);
  EXPECT_TRUE(hasLine(seen, fmt::format("Host: [::1]:{}", server.port())));
}

class HttpSessionTlsTest : public HttpSessionTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ca_.ok());
    ASSERT_TRUE(good_);
    std::ofstream(ca_file_) << ca_.pem();
  }

  SessionOptions trusting() {
    SessionOptions o = options();
    o.ca_file = ca_file_;
    return o;
  }

  static std::string httpsUrl(const std::string& host, uint16_t port) {
    return fmt::format("https://{}:{}/v2/", host, port);
  }

  testing::TestCa ca_;
  oak::testing::TempDir dir_;
  std::string ca_file_ = dir_.file("ca.pem");
  testing::SslCtxPtr good_ = ca_.serverContext("DNS:localhost,IP:127.0.0.1");
  ScriptedServer server_{[](Exchange& e) { e.write(answer(200, "secret")); }, false, good_.get()};
};

TEST_F(HttpSessionTlsTest, VerifiesAgainstTheGivenCaByNameAndAddress) {
  HttpSession session(trusting());
  auto by_name = get(session, httpsUrl("localhost", server_.port()));
  ASSERT_TRUE(by_name) << by_name.error().message;
  EXPECT_EQ(body_, "secret");
  auto by_address = get(session, httpsUrl("127.0.0.1", server_.port()));
  ASSERT_TRUE(by_address) << by_address.error().message;
  EXPECT_EQ(body_, "secret");
}

TEST_F(HttpSessionTlsTest, RefusesAnUnknownIssuer) {
  HttpSession session(options());
  auto r = get(session, httpsUrl("localhost", server_.port()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message,
            "TLS handshake with localhost: certificate verify failed: "
            "unable to get local issuer certificate");
}

TEST_F(HttpSessionTlsTest, RefusesACertificateForAnotherName) {
  auto other = ca_.serverContext("DNS:registry.example");
  ScriptedServer wrong([](Exchange& e) { e.write(answer(200, "secret")); }, false, other.get());
  HttpSession session(trusting());
  auto r = get(session, httpsUrl("localhost", wrong.port()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "TLS handshake with localhost: certificate verify failed: hostname mismatch");
  auto by_address = get(session, httpsUrl("127.0.0.1", wrong.port()));
  ASSERT_FALSE(by_address);
  EXPECT_EQ(by_address.error().message,
            "TLS handshake with 127.0.0.1: certificate verify failed: IP address mismatch");
}

TEST_F(HttpSessionTlsTest, HonoursSslCertFile) {
  ScopedEnv cert_file("SSL_CERT_FILE", ca_file_);
  HttpSession session(options());
  auto r = get(session, httpsUrl("localhost", server_.port()));
  ASSERT_TRUE(r) << r.error().message;
}

TEST_F(HttpSessionTlsTest, NamesAMissingCaFile) {
  SessionOptions o = options();
  o.ca_file = dir_.file("absent.pem");
  HttpSession session(o);
  auto r = get(session, httpsUrl("localhost", server_.port()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("TLS: cannot load CA file " + o.ca_file))
      << r.error().message;
}

TEST_F(HttpSessionTlsTest, TunnelsThroughAnHttpsProxy) {
  ScriptedServer proxy([&](Exchange& e) {
    if (!e.request().starts_with(fmt::format("CONNECT localhost:{} HTTP/1.1", server_.port()))) {
      e.write(answer(400, "no"));
      return;
    }
    e.write("HTTP/1.1 200 Connection established\r\n\r\n");
    e.relayTo(server_.port());
  });
  ScopedEnv https_proxy("https_proxy", fmt::format("127.0.0.1:{}", proxy.port()));
  HttpSession session(trusting());
  auto r = get(session, httpsUrl("localhost", server_.port()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(body_, "secret");
  ASSERT_TRUE(get(session, httpsUrl("localhost", server_.port())));
  EXPECT_EQ(proxy.connections(), 1);  // the tunnel is kept alive like any connection
}

TEST_F(HttpSessionTest, NamesAProxyThatRefusesATunnel) {
  ScriptedServer proxy([](Exchange& e) { e.write(answer(403, "")); });
  ScopedEnv https_proxy("HTTPS_PROXY", fmt::format("http://127.0.0.1:{}", proxy.port()));
  HttpSession session(options());
  auto r = get(session, "https://registry.example/v2/");
  ASSERT_FALSE(r);
  EXPECT_EQ(
      r.error().message,
      fmt::format("proxy 127.0.0.1:{}: CONNECT registry.example:443: answered 403", proxy.port()));
}

TEST_F(HttpSessionTest, SendsPlainRequestsToAProxyInAbsoluteForm) {
  ScriptedServer proxy([](Exchange& e) { e.write(answer(200, "proxied")); });
  ScopedEnv http_proxy("http_proxy", fmt::format("http://user:pw@127.0.0.1:{}", proxy.port()));
  HttpSession session(options());
  auto r = get(session, "http://registry.example:5000/v2/x?y=1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(body_, "proxied");
  ASSERT_TRUE(get(session, "http://other.example/v2/"));
  EXPECT_EQ(proxy.connections(), 1);
  auto requests = proxy.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].starts_with("GET http://registry.example:5000/v2/x?y=1 HTTP/1.1\r\n"))
      << requests[0];
  const std::string seen = requests[0];
  EXPECT_TRUE(hasLine(seen, "Host: registry.example:5000"));
  EXPECT_TRUE(hasLine(seen, "Proxy-Authorization: Basic dXNlcjpwdw=="));
  EXPECT_TRUE(requests[1].starts_with("GET http://other.example/v2/ HTTP/1.1\r\n"));
}

TEST_F(HttpSessionTest, NoProxyGoesDirect) {
  ScriptedServer server([](Exchange& e) { e.write(answer(200, "direct")); });
  uint16_t dead = oak::testing::pickFreePort();
  ScopedEnv http_proxy("http_proxy", fmt::format("127.0.0.1:{}", dead));
  ScopedEnv no_proxy("NO_PROXY", "registry.example, 127.0.0.0/8");
  HttpSession session(options());
  auto r = get(session, server.url());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(body_, "direct");
}

}  // namespace
}  // namespace oak::oci
