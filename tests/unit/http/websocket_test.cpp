// WebSocket endpoints of the HTTP server and the reconnecting client, over real sockets on
// 127.0.0.1 with the event loop on a thread of its own.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <condition_variable>
#include <map>
#include <mutex>

#include "http/openapi.h"
#include "http/websocket.h"
#include "http/websocket_client.h"
#include "raw_socket.h"
#include "server_fixture.h"

namespace oak::http::testing {
namespace {

// What the callbacks saw, by kind ("open", "message", "close", "server-message", ...). Written on
// the loop thread, read by the test with bounded waits.
class Journal {
 public:
  void record(const std::string& kind, std::string text = {}) {
    std::lock_guard lock(mu_);
    entries_[kind].push_back(std::move(text));
    changed_.notify_all();
  }

  std::vector<std::string> of(const std::string& kind) {
    std::lock_guard lock(mu_);
    return entries_[kind];
  }

  size_t count(const std::string& kind) { return of(kind).size(); }

  ::testing::AssertionResult waitFor(const std::string& kind, size_t n,
                                     std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    auto& list = entries_[kind];
    if (changed_.wait_for(lock, timeout, [&] { return list.size() >= n; })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "waited " << timeout.count() << " ms for " << n << " '" << kind << "' entries, saw "
           << list.size() << (list.empty() ? "" : ", the last: " + list.back().substr(0, 200));
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<std::string>> entries_;
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

const RouteDoc kDoc{"test endpoint", "test", false, "", "", ""};

class WebSocketTest : public ServerFixture {
 protected:
  void TearDown() override {
    if (thread_.joinable()) {
      EXPECT_TRUE(onLoop([this] {
        clients_.clear();
        server_side_.clear();
      }));
    }
    ServerFixture::TearDown();
  }

  // An endpoint that echoes every message; it records "accept" ("<id> <remote address>"),
  // "server-message" and "server-close", and keeps its connections in `server_side_`.
  void addEchoRoute(std::string pattern = "/ws/echo") {
    router_.addWebSocket(
        std::move(pattern), kDoc,
        [this](const Request& req,
               std::shared_ptr<WebSocketConnection> conn) -> Result<WebSocketHandlers> {
          journal_.record("accept", fmt::format("{} {}", req.param("id"), conn->remoteAddress()));
          server_side_.push_back(conn);
          std::weak_ptr<WebSocketConnection> weak = conn;
          return WebSocketHandlers{
              [this, weak](std::string text) {
                journal_.record("server-message", text);
                if (auto c = weak.lock()) c->send(std::move(text));
              },
              [this](std::string reason) { journal_.record("server-close", std::move(reason)); }};
        });
  }

  WebSocketClient::Options clientOptions(const std::string& path) {
    WebSocketClient::Options o;
    o.url = fmt::format("ws://127.0.0.1:{}{}", port_, path);
    o.backoff_min = 20ms;
    o.backoff_max = 100ms;
    o.connect_timeout = 5s;
    o.on_open = [this] { journal_.record("open"); };
    o.on_message = [this](std::string text) { journal_.record("message", std::move(text)); };
    o.on_close = [this](std::string reason) { journal_.record("close", std::move(reason)); };
    return o;
  }

  // Creates and starts a client on the loop; the fixture owns it.
  WebSocketClient* startClient(WebSocketClient::Options options) {
    WebSocketClient* out = nullptr;
    EXPECT_TRUE(onLoop([&] {
      auto client = WebSocketClient::create(loop_, std::move(options));
      ASSERT_TRUE(client) << client.error().message;
      (*client)->start();
      clients_.push_back(*client);
      out = clients_.back().get();
    }));
    return out;
  }

  bool clientSend(WebSocketClient* client, std::string text) {
    bool sent = false;
    EXPECT_TRUE(onLoop([&] { sent = client->send(std::move(text)); }));
    return sent;
  }

  // Evaluates `probe` on the loop until it holds, for at most 10 s.
  ::testing::AssertionResult eventually(const std::function<bool()>& probe) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      bool holds = false;
      if (auto ran = onLoop([&] { holds = probe(); }); !ran) return ran;
      if (holds) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(5ms);
    }
    return ::testing::AssertionFailure() << "the condition did not hold within 10 s";
  }

  Journal journal_;
  std::vector<std::shared_ptr<WebSocketClient>> clients_;          // on the loop only
  std::vector<std::shared_ptr<WebSocketConnection>> server_side_;  // on the loop only
};

constexpr std::string_view kRawUpgrade =
    "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

TEST_F(WebSocketTest, EchoesAndSeesPathParametersAndRemoteAddress) {
  addEchoRoute("/ws/cluster/{id}");
  start();
  auto* client = startClient(clientOptions("/ws/cluster/c-7"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  EXPECT_TRUE(clientSend(client, "hello"));
  ASSERT_TRUE(journal_.waitFor("message", 1));
  EXPECT_EQ(journal_.of("message")[0], "hello");
  EXPECT_EQ(journal_.of("accept")[0], "c-7 127.0.0.1");
  EXPECT_EQ(journal_.count("close"), 0u);
}

TEST_F(WebSocketTest, ManyMessagesKeepTheirOrderBothWays) {
  constexpr int kCount = 300;
  auto text = [](char side, int i) {
    // Every 50th message is large, to interleave partial writes with small ones.
    return fmt::format("{}{}{}", side, i, std::string(i % 50 == 0 ? 64 * 1024 : 0, '.'));
  };
  router_.addWebSocket(
      "/ws", kDoc,
      [&](const Request&, std::shared_ptr<WebSocketConnection> conn) -> Result<WebSocketHandlers> {
        // Sent before the handshake completes: queued until it does.
        for (int i = 0; i < kCount; ++i) conn->send(text('s', i));
        server_side_.push_back(conn);
        return WebSocketHandlers{[this](std::string m) { journal_.record("server-message", m); },
                                 {}};
      });
  start();
  auto* client = startClient(clientOptions("/ws"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  EXPECT_TRUE(onLoop([&] {
    for (int i = 0; i < kCount; ++i) client->send(text('c', i));
  }));
  ASSERT_TRUE(journal_.waitFor("message", kCount));
  ASSERT_TRUE(journal_.waitFor("server-message", kCount));
  auto to_client = journal_.of("message");
  auto to_server = journal_.of("server-message");
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(to_client[i], text('s', i)) << i;
    ASSERT_EQ(to_server[i], text('c', i)) << i;
  }
}

TEST_F(WebSocketTest, RefusedUpgradeIsReportedAndRetriedWithBackoff) {
  router_.addWebSocket("/ws", kDoc,
                       [this](const Request& req,
                              std::shared_ptr<WebSocketConnection>) -> Result<WebSocketHandlers> {
                         journal_.record("attempt");
                         if (req.header("authorization") != "Bearer good") {
                           return makeError(ErrorCode::kUnauthenticated, "invalid cluster token");
                         }
                         return WebSocketHandlers{};
                       });
  start();
  auto options = clientOptions("/ws");
  options.headers = {{"Authorization", "Bearer bad"}};
  options.backoff_min = options.backoff_max = 100ms;
  auto started = std::chrono::steady_clock::now();
  startClient(options);
  ASSERT_TRUE(journal_.waitFor("close", 3));
  // Two waits of 100 ms ± 20 % lie between the first and the third attempt.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 160ms);
  for (const auto& reason : journal_.of("close")) {
    EXPECT_EQ(reason, "401 Unauthorized: invalid cluster token");
  }
  EXPECT_GE(journal_.count("attempt"), 3u);
  EXPECT_EQ(journal_.count("open"), 0u);

  options.headers = {{"Authorization", "Bearer good"}};
  startClient(options);
  EXPECT_TRUE(journal_.waitFor("open", 1));
}

TEST_F(WebSocketTest, ClientReconnectsWhenTheServerCloses) {
  addEchoRoute();
  start();
  auto* client = startClient(clientOptions("/ws/echo"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  EXPECT_TRUE(onLoop([this] { server_side_.at(0)->close("bye"); }));
  ASSERT_TRUE(journal_.waitFor("close", 1));
  EXPECT_EQ(journal_.of("close")[0], "closed by peer (1000 normal: bye)");
  ASSERT_TRUE(journal_.waitFor("server-close", 1));
  EXPECT_EQ(journal_.of("server-close")[0], "bye");

  ASSERT_TRUE(journal_.waitFor("open", 2));
  EXPECT_TRUE(clientSend(client, "again"));
  ASSERT_TRUE(journal_.waitFor("message", 1));
  EXPECT_EQ(journal_.of("message")[0], "again");
  EXPECT_EQ(journal_.count("server-close"), 1u);
  EXPECT_EQ(journal_.count("close"), 1u);
}

TEST_F(WebSocketTest, ServerStopClosesWebSockets) {
  addEchoRoute();
  start();
  startClient(clientOptions("/ws/echo"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  ASSERT_TRUE(stopServer());
  ASSERT_TRUE(journal_.waitFor("close", 1));
  EXPECT_EQ(journal_.of("close")[0], "closed by peer (1001 going away: server is stopping)");
  ASSERT_TRUE(journal_.waitFor("server-close", 1));
  EXPECT_EQ(journal_.of("server-close")[0], "server is stopping");
  // Nobody listens any more; the client keeps trying.
  ASSERT_TRUE(journal_.waitFor("close", 2));
  EXPECT_TRUE(contains(journal_.of("close")[1], "cannot connect")) << journal_.of("close")[1];
  EXPECT_EQ(journal_.count("server-close"), 1u);
}

TEST_F(WebSocketTest, OversizedMessageClosesTheConnection) {
  addEchoRoute();
  start();
  auto* client = startClient(clientOptions("/ws/echo"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  EXPECT_TRUE(clientSend(client, std::string(kWebSocketMaxMessageBytes + 1, 'x')));
  ASSERT_TRUE(journal_.waitFor("server-close", 1));
  EXPECT_EQ(journal_.of("server-close")[0],
            fmt::format("a message exceeded the limit of {} bytes", kWebSocketMaxMessageBytes));
  ASSERT_TRUE(journal_.waitFor("close", 1));
  EXPECT_EQ(journal_.of("close")[0], "closed by peer (1009 message too big)");
  EXPECT_EQ(journal_.count("server-message"), 0u);

  // A message of exactly the limit still passes, both ways.
  ASSERT_TRUE(journal_.waitFor("open", 2));
  EXPECT_TRUE(clientSend(client, std::string(kWebSocketMaxMessageBytes, 'y')));
  ASSERT_TRUE(journal_.waitFor("message", 1));
  EXPECT_EQ(journal_.of("message")[0].size(), kWebSocketMaxMessageBytes);
}

TEST_F(WebSocketTest, ClientStopEndsReconnecting) {
  start();  // no WebSocket route: every attempt is refused with 404
  auto* client = startClient(clientOptions("/ws/none"));
  ASSERT_TRUE(journal_.waitFor("close", 2));
  EXPECT_TRUE(contains(journal_.of("close")[0], "404 Not Found: no such endpoint"))
      << journal_.of("close")[0];
  EXPECT_TRUE(onLoop([&] { client->stop(); }));
  ASSERT_TRUE(eventually([&] { return !client->active(); }));
  size_t closes = journal_.count("close");
  EXPECT_TRUE(onLoop([] {}));
  EXPECT_EQ(journal_.count("close"), closes);
  EXPECT_FALSE(clientSend(client, "nobody listens"));
}

TEST_F(WebSocketTest, ClientStopClosesAnOpenConnection) {
  addEchoRoute();
  start();
  auto* client = startClient(clientOptions("/ws/echo"));
  ASSERT_TRUE(journal_.waitFor("open", 1));
  EXPECT_TRUE(onLoop([&] { client->stop(); }));
  ASSERT_TRUE(journal_.waitFor("server-close", 1));
  EXPECT_EQ(journal_.of("server-close")[0], "closed by peer (1001 going away: client stopped)");
  ASSERT_TRUE(eventually([&] { return !client->active(); }));
  EXPECT_EQ(journal_.count("close"), 0u);  // no callbacks after stop()
  EXPECT_EQ(journal_.count("open"), 1u);
}

TEST_F(WebSocketTest, PlainHttpRoutesStillWork) {
  addEchoRoute();
  router_.add(Method::kGet, "/api/ping", kDoc,
              [](const Request&) { return textResponse(200, "pong"); });
  start();
  auto* client = startClient(clientOptions("/ws/echo"));
  ASSERT_TRUE(journal_.waitFor("open", 1));

  auto ping = send(Method::kGet, "/api/ping");
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "pong");
  // A plain GET on the WebSocket endpoint asks for the upgrade.
  auto plain = send(Method::kGet, "/ws/echo");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->status, 426);
  EXPECT_EQ(headerOf(*plain, "upgrade"), "websocket");

  EXPECT_TRUE(clientSend(client, "still here"));
  ASSERT_TRUE(journal_.waitFor("message", 1));
  EXPECT_EQ(journal_.of("message")[0], "still here");
}

TEST_F(WebSocketTest, UpgradeOnPathsWithoutWebSocketIsRefused) {
  router_.add(Method::kGet, "/api/ping", kDoc,
              [](const Request&) { return textResponse(200, "pong"); });
  router_.add(Method::kPost, "/api/things", kDoc,
              [](const Request&) { return textResponse(200, "made"); });
  start();
  for (auto [path, status] : {std::pair{"/api/ping", 400}, {"/api/things", 405}, {"/nope", 404}}) {
    auto sock = RawSocket::connect(port_);
    ASSERT_TRUE(sock);
    ASSERT_TRUE(sock->sendAll(fmt::format(kRawUpgrade, path)));
    auto res = sock->readResponse();
    EXPECT_EQ(res.status, status) << path << ": " << res.head << res.body;
  }
  auto ping = send(Method::kGet, "/api/ping");
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->status, 200);
}

TEST_F(WebSocketTest, SilentPeerIsDetectedByKeepAlive) {
  addEchoRoute();
  ServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  start(options);
  auto sock = RawSocket::connect(port_);
  ASSERT_TRUE(sock);
  ASSERT_TRUE(sock->sendAll(fmt::format(kRawUpgrade, "/ws/echo")));
  EXPECT_EQ(sock->readResponse().status, 101);
  // The raw socket never answers the server's ping.
  ASSERT_TRUE(journal_.waitFor("server-close", 1));
  EXPECT_EQ(journal_.of("server-close")[0], "the peer stopped answering keep-alive pings");
}

TEST_F(WebSocketTest, UpgradeThatIsNeverAnsweredTimesOut) {
  // A listener that never accepts: the kernel completes the TCP handshake, nobody answers.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  start();
  auto options = clientOptions("/ws");
  options.url = fmt::format("ws://127.0.0.1:{}/ws", ntohs(addr.sin_port));
  options.connect_timeout = 200ms;
  startClient(options);
  EXPECT_TRUE(journal_.waitFor("close", 1));
  EXPECT_TRUE(contains(journal_.of("close").at(0), "timeout")) << journal_.of("close").at(0);
  ::close(fd);
}

TEST_F(WebSocketTest, ClientRejectsUnusableUrls) {
  for (const char* url : {"wss://root.example/ws", "ws://host:/ws", "ftp://root/ws"}) {
    WebSocketClient::Options o;
    o.url = url;
    EXPECT_FALSE(WebSocketClient::create(loop_, o)) << url;
  }
  WebSocketClient::Options o;
  o.url = "http://root.example:10000/ws";
  EXPECT_TRUE(WebSocketClient::create(loop_, o));
}

TEST_F(WebSocketTest, OpenApiListsWebSocketEndpointsAsGet) {
  addEchoRoute();
  auto doc = buildOpenApi(router_, OpenApiInfo{"t", "1", "", {}});
  const auto& op = doc.at("paths").at("/ws/echo").at("get").as_object();
  EXPECT_TRUE(contains(std::string(op.at("description").as_string()), "WebSocket upgrade"));
  EXPECT_TRUE(op.at("responses").as_object().contains("101"));
  EXPECT_FALSE(op.at("responses").as_object().contains("200"));
}

}  // namespace
}  // namespace oak::http::testing
