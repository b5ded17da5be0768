// Requests over real sockets: routing, asynchronous handlers, keep-alive, CORS and decoding.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>

#include "raw_socket.h"
#include "server_fixture.h"

namespace oak::http::testing {
namespace {

namespace bj = boost::json;

class HttpServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    // Echoes what the handler saw.
    auto echo = [](const Request& req) {
      bj::object params;
      for (const auto& [k, v] : req.path_params) params[k] = v;
      return jsonResponse(200, bj::object{{"method", methodName(req.method)},
                                          {"path", req.path},
                                          {"query", req.query},
                                          {"body", req.body},
                                          {"remote", req.remote_address},
                                          {"x-test", req.header("x-test")},
                                          {"params", std::move(params)}});
    };
    router_.add(Method::kGet, "/echo", {}, echo);
    router_.add(Method::kPost, "/echo", {}, echo);
    router_.add(Method::kGet, "/files/{name}", {}, echo);
    router_.add(Method::kGet, "/hello world", {}, echo);
    router_.add(Method::kGet, "/search", {}, [](const Request& req) {
      return jsonResponse(200, bj::object{{"q", req.queryParam("q").value_or("<none>")},
                                          {"tag", req.queryParam("tag").value_or("<none>")}});
    });
    // Answers from a later turn of the loop.
    router_.addAsync(Method::kGet, "/later/{n}", {}, [this](const Request& req, Responder r) {
      loop_.post([r, n = std::string(req.param("n"))] { r.send(textResponse(200, "later " + n)); });
    });
    // Computes on the blocking pool, answers on the loop.
    router_.addAsync(Method::kPost, "/reverse", {}, [this](const Request& req, Responder r) {
      auto out = std::make_shared<std::string>(req.body);
      loop_.runBlocking([out] { std::reverse(out->begin(), out->end()); },
                        [r, out] { r.send(textResponse(200, *out)); });
    });
    router_.addAsync(Method::kGet, "/twice", {}, [](const Request&, Responder r) {
      r.send(textResponse(200, "first"));
      r.send(textResponse(500, "second"));
    });
    start();
  }

  bj::value json(const Result<Response>& r) {
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return nullptr;
    boost::system::error_code ec;
    auto v = bj::parse(r->body, ec);
    EXPECT_FALSE(ec) << r->body;
    return v;
  }
};

TEST_F(HttpServerTest, SyncRouteSeesTheRequest) {
  auto r = send(Method::kPost, "/echo?a=1", R"({"x":1})", {{"X-Test", "yes"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "application/json");
  auto v = json(r);
  EXPECT_EQ(v.at("method"), "POST");
  EXPECT_EQ(v.at("path"), "/echo");
  EXPECT_EQ(v.at("query"), "a=1");
  EXPECT_EQ(v.at("body"), R"({"x":1})");
  EXPECT_EQ(v.at("remote"), "127.0.0.1");
  EXPECT_EQ(v.at("x-test"), "yes") << "header names are lower-cased";
}

TEST_F(HttpServerTest, AsyncRouteAnswersFromTheLoop) {
  auto r = send(Method::kGet, "/later/5");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "later 5");
}

TEST_F(HttpServerTest, AsyncRouteAnswersAfterBlockingWork) {
  auto r = send(Method::kPost, "/reverse", "abcdef");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "fedcba");
}

TEST_F(HttpServerTest, ConcurrentClientsAreServed) {
  std::vector<std::future<Result<Response>>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [this, i] {
      return send(i % 2 ? Method::kGet : Method::kPost,
                  i % 2 ? "/later/" + std::to_string(i) : "/reverse", "ab" + std::to_string(i));
    }));
  }
  for (int i = 0; i < 8; ++i) {
    auto r = calls[i].get();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, i % 2 ? "later " + std::to_string(i) : std::to_string(i) + "ba");
  }
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto conn = Connection::open("127.0.0.1", port_, std::chrono::seconds(10));
  ASSERT_TRUE(conn) << conn.error().message;
  for (int i = 0; i < 5; ++i) {
    auto r = (*conn)->send(ClientRequest{Method::kGet, "/later/" + std::to_string(i), {}, ""});
    ASSERT_TRUE(r) << "request " << i << ": " << r.error().message;
    EXPECT_EQ(r->body, "later " + std::to_string(i));
    EXPECT_NE(headerOf(*r, "connection"), "close");
  }
  auto r = (*conn)->send(ClientRequest{Method::kPost, "/reverse", {}, "xyz"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "zyx");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("GET /later/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = s->readResponse();
  auto b = s->readResponse();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "later 1");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(bj::parse(b.body).at("query"), "n=2");
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sendAll("GET /echo HTTP/1.0\r\n\r\n"));
  auto r = s->readResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.substr(0, 8), "HTTP/1.0");
  EXPECT_TRUE(s->waitForClose(5s));
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sendAll("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = s->readResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_TRUE(s->waitForClose(5s));
}

TEST_F(HttpServerTest, TrailingSlashIsEquivalent) {
  auto r = send(Method::kGet, "/echo/");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json(r).at("path"), "/echo");
  r = send(Method::kGet, "/files/a.txt/?x=1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json(r).at("params").at("name"), "a.txt");
}

TEST_F(HttpServerTest, UnknownPathIs404Json) {
  auto r = send(Method::kGet, "/nope?x=1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 404);
  auto v = json(r);
  EXPECT_EQ(v.at("code"), 404);
  EXPECT_EQ(v.at("status"), "Not Found");
  EXPECT_TRUE(v.at("message").is_string());
}

TEST_F(HttpServerTest, OtherMethodIs405WithAllow) {
  auto r = send(Method::kDelete, "/echo");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(headerOf(*r, "allow"), "GET, POST, OPTIONS");
  EXPECT_EQ(json(r).at("code"), 405);
}

TEST_F(HttpServerTest, OptionsPreflightIs204) {
  auto r = send(Method::kOptions, "/echo", "",
                {{"Origin", "http://ui.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(headerOf(*r, "access-control-allow-methods"), "GET, POST, OPTIONS");
  EXPECT_NE(headerOf(*r, "access-control-allow-headers").find("Authorization"), std::string::npos);
  EXPECT_EQ(headerOf(*r, "access-control-allow-origin"), "*");
}

TEST_F(HttpServerTest, HeadIsServedByGetWithoutABody) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("HEAD /later/22 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /later/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = s->readResponse(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "8") << "the length of GET's body, \"later 22\"";
  // No body bytes follow: the next response starts right after the header.
  auto next = s->readResponse();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "later 2");
}

TEST_F(HttpServerTest, ClientReadsHeadAnswers) {
  auto r = send(Method::kHead, "/echo");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_NE(headerOf(*r, "content-length"), "0");
}

TEST_F(HttpServerTest, EveryAnswerCarriesCors) {
  for (auto [m, target] : {std::pair{Method::kGet, "/echo"},
                           {Method::kGet, "/later/1"},
                           {Method::kGet, "/nope"},
                           {Method::kPut, "/echo"},
                           {Method::kOptions, "/echo"},
                           {Method::kHead, "/echo"}}) {
    auto r = send(m, target);
    ASSERT_TRUE(r) << target << ": " << r.error().message;
    EXPECT_EQ(headerOf(*r, "access-control-allow-origin"), "*")
        << methodName(m) << " " << target << " -> " << r->status;
  }
}

TEST_F(HttpServerTest, QueryParametersAreDecoded) {
  auto r = send(Method::kGet, "/search?q=hello%20big+world&tag=a%2Bb");
  ASSERT_TRUE(r) << r.error().message;
  auto v = json(r);
  EXPECT_EQ(v.at("q"), "hello big world");
  EXPECT_EQ(v.at("tag"), "a+b");
  v = json(send(Method::kGet, "/search"));
  EXPECT_EQ(v.at("q"), "<none>");
}

TEST_F(HttpServerTest, PathsArePercentDecoded) {
  auto r = send(Method::kGet, "/files/my%20file%2Etxt");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json(r).at("params").at("name"), "my file.txt");
  r = send(Method::kGet, "/hello%20world");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json(r).at("path"), "/hello world");
}

TEST_F(HttpServerTest, BadPercentEncodingOrNulInPathIs400) {
  for (const char* target : {"/files/%zz", "/files/a%00b", "/files/%"}) {
    auto r = send(Method::kGet, target);
    ASSERT_TRUE(r) << target << ": " << r.error().message;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(json(r).at("code"), 400) << target;
  }
}

TEST_F(HttpServerTest, NonAbsoluteTargetIs400) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sendAll("GET * HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = s->readResponse();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(bj::parse(r.body).at("message"), "request target must be an absolute path");
}

TEST_F(HttpServerTest, HandlerAnsweringTwiceSendsOneResponse) {
  auto s = RawSocket::connect(port_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(
      s->sendAll("GET /twice HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /later/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = s->readResponse();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "first");
  auto next = s->readResponse();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "later 3") << "a second answer would have been read here";
}

}  // namespace
}  // namespace oak::http::testing
