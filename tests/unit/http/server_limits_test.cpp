// Requests the server refuses: too large, malformed, and the `Expect: 100-continue` handshake.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "raw_socket.h"
#include "server_fixture.h"

namespace oak::http::testing {
namespace {

namespace bj = boost::json;

constexpr size_t kLimit = 1024;

class ServerLimitsTest : public ServerFixture {
 protected:
  void SetUp() override {
    router_.add(Method::kPost, "/echo", {},
                [](const Request& req) { return textResponse(200, req.body); });
    ServerOptions o;
    o.max_body_bytes = kLimit;
    start(o);
  }

  // Checks the error JSON of a raw answer.
  static void expectError(const RawResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.head;
    EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "*") << r.head;
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(v.at("code"), status) << r.body;
    EXPECT_TRUE(v.at("message").is_string()) << r.body;
  }
};

TEST_F(ServerLimitsTest, BodyAtTheLimitIsAccepted) {
  std::string body(kLimit, 'b');
  auto r = send(Method::kPost, "/echo", body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
}

TEST_F(ServerLimitsTest, LargeBodyIs413AndTheClientReadsIt) {
  // Much larger than the socket buffers: the client is still writing when the server answers.
  auto r = send(Method::kPost, "/echo", std::string(4 << 20, 'x'));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(headerOf(*r, "access-control-allow-origin"), "*");
  auto v = bj::parse(r->body);
  EXPECT_EQ(v.at("code"), 413);
  EXPECT_EQ(v.at("status"), "Payload Too Large");
  EXPECT_NE(v.at("message").as_string().find(std::to_string(kLimit)), bj::string::npos);
  // The server still serves other connections.
  r = send(Method::kPost, "/echo", "ok");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ServerLimitsTest, ChunkedBodyOverTheLimitIs413) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  std::string chunk(800, 'c');
  ASSERT_TRUE(
      s->sendAll("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "320\r\n" +
                 chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = s->readResponse();
  expectError(r, 413);
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_TRUE(s->waitForClose(5s));
}

TEST_F(ServerLimitsTest, ChunkedBodyUnderTheLimitIsRead) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r = s->readResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcde");
}

TEST_F(ServerLimitsTest, OversizeHeadersAre431) {
  auto r = send(Method::kPost, "/echo", "x", {{"X-Big", std::string(20 * 1024, 'h')}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(headerOf(*r, "access-control-allow-origin"), "*");
  auto v = bj::parse(r->body);
  EXPECT_EQ(v.at("code"), 431);
  EXPECT_NE(v.at("message").as_string().find("too large"), bj::string::npos);
}

TEST_F(ServerLimitsTest, MalformedRequestLineIs400) {
  for (const char* garbage : {"\x01\x02 garbage\r\n\r\n", "GET /echo HTTX/1.1\r\n\r\n",
                              "GET /echo HTTP/1.1\r\nno colon here\r\n\r\n"}) {
    auto s = RawSocket::connect(port_);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->sendAll(garbage));
    auto r = s->readResponse();
    SCOPED_TRACE(garbage);
    expectError(r, 400);
    EXPECT_TRUE(s->waitForClose(5s));
  }
}

TEST_F(ServerLimitsTest, BadContentLengthIs400) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sendAll("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"));
  expectError(s->readResponse(), 400);
}

TEST_F(ServerLimitsTest, Expect100ContinueIsAnsweredBeforeTheBody) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 "Expect: 100-continue\r\n\r\n"));
  auto cont = s->readResponse();
  ASSERT_EQ(cont.status, 100) << cont.head;
  ASSERT_TRUE(s->sendAll("hello"));
  auto r = s->readResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
}

TEST_F(ServerLimitsTest, Expect100ContinueOverTheLimitIs413WithoutContinue) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                 "Expect: 100-continue\r\n\r\n"));
  // The client never sends the body it announced.
  expectError(s->readResponse(), 413);
}

TEST_F(ServerLimitsTest, ClientSkipsInterimContinue) {
  auto r = send(Method::kPost, "/echo", "data", {{"Expect", "100-continue"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "data");
}

}  // namespace
}  // namespace oak::http::testing
