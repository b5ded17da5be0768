// The HTTP transport against a scripted server on loopback: what it sends, how it reads streamed
// and whole answers, and what it says when nothing listens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

#include "cli/oak/transport.h"
#include "process.h"

namespace oak::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Accepts one connection, reads the request head, answers with `pieces`, then keeps the
// connection open until `release()` (or its end) or closes it at once.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> pieces, bool hold_open = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 1);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, pieces = std::move(pieces), hold_open] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[1024];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      request_.set_value(head);
      // Separate writes; the kernel may still merge them, which the reader must handle too.
      for (const auto& p : pieces) ::send(c, p.data(), p.size(), MSG_NOSIGNAL);
      if (hold_open) release_.get_future().wait();
      ::close(c);
    });
  }
  ~ScriptedServer() {
    if (!released_) release_.set_value();
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  void release() {
    released_ = true;
    release_.set_value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/base"; }
  std::string request() { return request_.get_future().get(); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::promise<std::string> request_;
  std::promise<void> release_;
  bool released_ = false;
};

TEST(CliHttpTransportTest, StreamsAChunkedBodyAsItArrives) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n",
                         "Transfer-Encoding: chunked\r\n\r\n", "6\r\ndata: ", "\r\n5\r\nhello\r\n",
                         "2\r\n\n\n\r\n", "0\r\n\r\n"});
  auto t = httpTransport(server.url()).value();
  std::string received;
  auto r =
      t->stream({http::Method::kGet, "/api/x?follow=true", "", "tok"}, [&](std::string_view d) {
        received += d;
        return true;
      });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(received, "data: hello\n\n");
  auto head = server.request();
  EXPECT_THAT(head, StartsWith("GET /base/api/x?follow=true HTTP/1.1\r\n"));
  EXPECT_THAT(head, HasSubstr("Authorization: Bearer tok\r\n"));
}

TEST(CliHttpTransportTest, AnErrorAnswerComesBackWhole) {
  std::string body = R"({"code":503,"message":"the cluster is not connected"})";
  ScriptedServer server({"HTTP/1.1 503 Service Unavailable\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 10),
                         body.substr(10)},
                        true);
  auto t = httpTransport(server.url()).value();
  bool called = false;
  auto r = t->stream({http::Method::kGet, "/logs", "", ""}, [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, body);
  EXPECT_FALSE(called);
}

TEST(CliHttpTransportTest, TheSinkEndsAStreamThatGoesOn) {
  ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\none\r\n", "3\r\ntwo\r\n"},
      true);
  auto t = httpTransport(server.url()).value();
  // The server holds the connection open: returning proves the sink's "no more" was heard.
  int calls = 0;
  auto r = t->stream({http::Method::kGet, "/logs", "", ""}, [&](std::string_view d) {
    EXPECT_THAT(std::string(d), StartsWith("one"));
    ++calls;
    return false;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(calls, 1);
  server.release();
}

TEST(CliHttpTransportTest, NobodyListening) {
  uint16_t port = oak::testing::pickFreePort();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto t = httpTransport(url).value();
  auto sent = t->send({http::Method::kGet, "/api/x", "", ""});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().message, "cannot reach " + url + ": connection refused");
  auto streamed =
      t->stream({http::Method::kGet, "/api/x", "", ""}, [](std::string_view) { return true; });
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().message, "cannot reach " + url + ": connection refused");
  EXPECT_FALSE(httpTransport("https://secure:443"));
}

}  // namespace
}  // namespace oak::cli
