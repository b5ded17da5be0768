// Start-up failures, timeouts and graceful stop.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <optional>

#include "raw_socket.h"
#include "server_fixture.h"

namespace oak::http::testing {
namespace {

namespace bj = boost::json;

class ServerLifecycleTest : public ServerFixture {
 protected:
  void SetUp() override {
    router_.add(Method::kGet, "/ping", {},
                [](const Request&) { return textResponse(200, "pong"); });
    // Keeps the responder until the test answers through `answerHeld()`.
    router_.addAsync(Method::kGet, "/hold", {}, [this](const Request&, Responder r) {
      held_ = std::move(r);
      held_signal_.set_value();
    });
    router_.addAsync(Method::kGet, "/never", {}, [](const Request&, Responder) {});
  }

  std::optional<Responder> held_;  // touched on the loop thread only
  std::promise<void> held_signal_;
};

TEST_F(ServerLifecycleTest, StopClosesIdleKeepAliveConnections) {
  start();
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sendAll("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = s->readResponse();
  ASSERT_EQ(r.status, 200);
  ASSERT_NE(r.header("Connection"), "close");

  // A read blocked on the idle connection returns once the server stops.
  auto closed = std::async(std::launch::async, [&s] {
    std::string rest;
    bool eof = s->waitForClose(20s, &rest);
    return eof && rest.empty();
  });
  ASSERT_TRUE(stopServer());
  ASSERT_EQ(closed.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(closed.get());
}

TEST_F(ServerLifecycleTest, StopClosesTheAcceptor) {
  start();
  ASSERT_TRUE(send(Method::kGet, "/ping"));
  ASSERT_TRUE(stopServer());
  EXPECT_EQ(RawSocket::connect(port_), nullptr);
  auto c = Connection::open("127.0.0.1", port_, std::chrono::seconds(5));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(stopServer()) << "a second stop is harmless";
}

TEST_F(ServerLifecycleTest, RequestInFlightFinishesAfterStop) {
  start();
  auto call = std::async(std::launch::async, [this] { return send(Method::kGet, "/hold"); });
  ASSERT_EQ(held_signal_.get_future().wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(stopServer());
  ASSERT_TRUE(onLoop([this] { held_->send(textResponse(200, "late")); }));
  ASSERT_EQ(call.wait_for(10s), std::future_status::ready);
  auto r = call.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "late");
  EXPECT_EQ(headerOf(*r, "connection"), "close") << "a stopping server does not keep alive";
}

TEST_F(ServerLifecycleTest, PortInUseIsAnError) {
  start();
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  auto second = HttpServer::start(loop_, o, router_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find(std::to_string(port_)), std::string::npos)
      << second.error().message;
  // The first server is unaffected.
  auto r = send(Method::kGet, "/ping");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "pong");
}

TEST_F(ServerLifecycleTest, HostThatIsNotAnAddressIsAnError) {
  ServerOptions o;
  o.host = "localhost";
  o.port = 0;
  auto s = HttpServer::start(loop_, o, router_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ServerLifecycleTest, DestroyingAServerThatNeverRanIsSafe) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  auto s = HttpServer::start(loop_, o, router_);
  ASSERT_TRUE(s) << s.error().message;
  uint16_t port = (*s)->port();
  EXPECT_NE(port, 0);
  s->reset();
  EXPECT_EQ(RawSocket::connect(port), nullptr);
}

TEST_F(ServerLifecycleTest, IdleConnectionTimesOut) {
  ServerOptions o;
  o.idle_timeout = std::chrono::seconds(1);
  start(o);
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  auto begin = std::chrono::steady_clock::now();
  std::string rest;
  EXPECT_TRUE(s->waitForClose(15s, &rest));
  EXPECT_EQ(rest, "") << "an idle connection is closed without an answer";
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 500ms);
}

TEST_F(ServerLifecycleTest, HandlerThatNeverAnswersGets503) {
  ServerOptions o;
  o.handler_timeout = std::chrono::seconds(1);
  start(o);
  auto r = send(Method::kGet, "/never");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(bj::parse(r->body).at("code"), 503);
  EXPECT_EQ(headerOf(*r, "access-control-allow-origin"), "*");
}

TEST_F(ServerLifecycleTest, AnswerAfterTheHandlerTimeoutIsDropped) {
  ServerOptions o;
  o.handler_timeout = std::chrono::seconds(1);
  start(o);
  auto conn = Connection::open("127.0.0.1", port_, std::chrono::seconds(10));
  ASSERT_TRUE(conn) << conn.error().message;
  auto r = (*conn)->send(ClientRequest{Method::kGet, "/hold", {}, ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 503);
  // The late answer goes nowhere; the connection goes on with the next request.
  ASSERT_TRUE(onLoop([this] { held_->send(textResponse(200, "too late")); }));
  r = (*conn)->send(ClientRequest{Method::kGet, "/ping", {}, ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "pong");
}

}  // namespace
}  // namespace oak::http::testing
