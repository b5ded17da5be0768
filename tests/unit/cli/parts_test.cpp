// The CLI's parts without a root: configuration, tokens, stream parsing, tables, durations,
// progress rendering, name resolution, deployment assessment and the session's refresh rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/oak/config.h"
#include "cli/oak/deployment_watch.h"
#include "cli/oak/jwt.h"
#include "cli/oak/log_target.h"
#include "cli/oak/progress.h"
#include "cli/oak/resolve.h"
#include "cli/oak/session.h"
#include "cli/oak/stream_parsing.h"
#include "cli/oak/table.h"
#include "cli/oak/text.h"
#include "fake_root.h"
#include "temp_dir.h"

namespace oak::cli {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Environment envOf(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CliConfigTest, PathFollowsOakConfigThenXdgThenHome) {
  EXPECT_EQ(configPath(envOf({{"OAK_CONFIG", "/x/c.json"}, {"HOME", "/h"}})), "/x/c.json");
  EXPECT_EQ(configPath(envOf({{"XDG_CONFIG_HOME", "/cfg"}, {"HOME", "/h"}})),
            "/cfg/oak/config.json");
  EXPECT_EQ(configPath(envOf({{"HOME", "/h"}})), "/h/.config/oak/config.json");
}

TEST(CliConfigTest, SessionRoundTripsPrivatelyAndADamagedFileSaysSo) {
  oak::testing::TempDir dir;
  std::string path = dir.file("a/b/config.json");
  EXPECT_TRUE(loadSession(path).value().token.empty()) << "no file: no session";
  ASSERT_TRUE(saveSession(path, {"http://r:1", "Admin", "tok", "ref"}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto s = loadSession(path).value();
  EXPECT_EQ(s.url, "http://r:1");
  EXPECT_EQ(s.username, "Admin");
  EXPECT_EQ(s.token, "tok");
  EXPECT_EQ(s.refresh_token, "ref");
  std::ofstream(path) << "not json";
  auto damaged = loadSession(path);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().message, path + " is damaged (not a JSON object): run oak login");
}

TEST(CliConfigTest, EndpointPrecedenceAndTokensOnlyForTheirRoot) {
  StoredSession stored{"http://root:10000", "Admin", "tok", "ref"};
  auto e = resolveEndpoint("", envOf({}), stored);
  EXPECT_EQ(e.url, "http://root:10000");
  EXPECT_EQ(e.token, "tok");
  EXPECT_EQ(e.refresh_token, "ref");
  EXPECT_TRUE(e.token_from_file);

  // Same root written differently: still its tokens.
  EXPECT_EQ(resolveEndpoint("root:10000/", envOf({}), stored).token, "tok");
  auto other = resolveEndpoint("", envOf({{"OAK_URL", "http://elsewhere:1"}}), stored);
  EXPECT_EQ(other.url, "http://elsewhere:1");
  EXPECT_TRUE(other.token.empty());
  auto flag = resolveEndpoint("flag:2", envOf({{"OAK_URL", "env:1"}}), stored);
  EXPECT_EQ(flag.url, "http://flag:2");
  auto env_token = resolveEndpoint("", envOf({{"OAK_TOKEN", "t2"}}), stored);
  EXPECT_EQ(env_token.token, "t2");
  EXPECT_TRUE(env_token.refresh_token.empty());
  EXPECT_TRUE(env_token.token_from_env);
  EXPECT_EQ(resolveEndpoint("", envOf({}), {}).url, "http://localhost:10000");
}

TEST(CliJwtTest, ClaimsAreReadWithoutTrust) {
  SimulatedClock clock;
  testing::FakeRoot root(clock);
  auto claims = readClaims(root.issue("access", "alice", 60));
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->expires_at, clock.nowSeconds() + 60);
  EXPECT_FALSE(readClaims("nodots"));
  EXPECT_FALSE(readClaims("a.!!!.c"));
  EXPECT_FALSE(readClaims("a.bm90IGpzb24.c"));  // "not json"
  EXPECT_EQ(decodeBase64Url("aGk"), "hi");
  EXPECT_EQ(decodeBase64Url("aGk="), "hi");
  EXPECT_EQ(decodeBase64Url("-_8"), std::string("\xfb\xff"));
}

TEST(CliStreamParsingTest, ResponseHead) {
  auto h = parseResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\ntransfer-encoding: Chunked");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_TRUE(h->chunked);
  auto plain = parseResponseHead("HTTP/1.1 404 Not Found\r\nContent-Length: 12");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 404);
  EXPECT_FALSE(plain->chunked);
  EXPECT_EQ(plain->content_length, 12u);
  EXPECT_FALSE(parseResponseHead("SSH-2.0-OpenSSH"));
  EXPECT_FALSE(parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: x"));
}

TEST(CliStreamParsingTest, ChunkedBodyWhateverThePieces) {
  std::string body = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
  for (size_t piece : {1u, 2u, 3u, 7u, 100u}) {
    ChunkedDecoder d;
    std::string out;
    for (size_t at = 0; at < body.size(); at += piece) {
      ASSERT_TRUE(d.feed(std::string_view(body).substr(at, piece), out));
    }
    EXPECT_EQ(out, "hello, world") << "pieces of " << piece;
    EXPECT_TRUE(d.done());
  }
  ChunkedDecoder bad;
  std::string out;
  EXPECT_FALSE(bad.feed("zz\r\n", out));
}

TEST(CliStreamParsingTest, ServerSentEvents) {
  SseParser p;
  EXPECT_THAT(p.feed(": keepalive\n\ndata: {\"a\""), IsEmpty());
  EXPECT_THAT(p.feed(":1}\n"), IsEmpty());
  EXPECT_THAT(p.feed("\n"), ElementsAre("{\"a\":1}"));
  EXPECT_THAT(p.feed("data:x\r\ndata: y\r\nid: 3\r\n\r\ndata: z\n\n"), ElementsAre("x\ny", "z"));
}

TEST(CliTableTest, AlignsColumnsByCharactersAndMarksEmptyCells) {
  Table t({"NAME", "STATUS", "NOTE"});
  t.addRow({"größe", "RUNNING", ""});
  t.addRow({"a", "", "x"});
  EXPECT_EQ(t.render(),
            "NAME   STATUS   NOTE\n"
            "größe  RUNNING  -\n"
            "a      -        x\n");
  EXPECT_EQ(renderFields({{"Name", "web"}, {"Application", ""}}),
            "Name:         web\n"
            "Application:  -\n");
}

TEST(CliTextTest, Durations) {
  EXPECT_EQ(parseDuration("90").value(), 90s);
  EXPECT_EQ(parseDuration("90s").value(), 90s);
  EXPECT_EQ(parseDuration("5m").value(), 5min);
  EXPECT_EQ(parseDuration("1h30m").value(), 90min);
  EXPECT_EQ(parseDuration("250ms").value(), 250ms);
  for (auto bad : {"", "s", "5x", "-1s", "5m3", "1.5s"}) {
    auto r = parseDuration(bad);
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_EQ(parseDuration("5x").error().message, "'5x' is not a duration (e.g. 90s, 5m, 1h30m)");
  EXPECT_EQ(formatDuration(850ms), "850ms");
  EXPECT_EQ(formatDuration(4200ms), "4.2s");
  EXPECT_EQ(formatDuration(125s), "2m05s");
  EXPECT_EQ(formatDuration(3720s), "1h02m");
}

TEST(CliTextTest, NumbersSizesAndJson) {
  EXPECT_EQ(formatNumber(2), "2");
  EXPECT_EQ(formatNumber(1.5), "1.5");
  EXPECT_EQ(formatMegabytes(512), "512 MB");
  EXPECT_EQ(formatMegabytes(24105), "23.5 GB");
  EXPECT_EQ(prettyJson(bj::parse(R"({"a":[1,{}],"b":"x"})")),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": \"x\"\n}");
}

TEST(CliProgressTest, PlainOutputPrintsOnlyChangedRows) {
  std::ostringstream out;
  ProgressView v(out, false);
  v.update({{"a/0", "CLUSTER_SCHEDULED", ""}, {"b/0", "NODE_SCHEDULED", "sent to w1"}});
  v.update({{"a/0", "CLUSTER_SCHEDULED", ""}, {"b/0", "NODE_SCHEDULED", "sent to w1"}});
  v.update({{"a/0", "RUNNING", "on w2"}, {"b/0", "NODE_SCHEDULED", "sent to w1"}});
  EXPECT_EQ(out.str(),
            "a/0  CLUSTER_SCHEDULED\n"
            "b/0  NODE_SCHEDULED  sent to w1\n"
            "a/0  RUNNING  on w2\n");
}

TEST(CliProgressTest, TerminalRedrawsTheBlockInPlaceWithinItsWidth) {
  std::ostringstream out;
  // Lines keep the last column free: a full line would make the terminal wrap.
  ProgressView v(out, true, 22);
  v.update({{"web/0", "REQUESTED", "waiting for a placement"}});
  v.update({{"web/0", "RUNNING", "on w1"}, {"db/0", "RUNNING", ""}});
  v.update({{"web/0", "RUNNING", "on w1"}});
  v.update({{"web/0", "RUNNING", "on w1"}}, "1 of 1 ready");
  EXPECT_EQ(out.str(),
            "\rweb/0  REQUESTED  wai\x1b[K\n"
            "\x1b[1A\rweb/0  RUNNING  on w1\x1b[K\n\rdb/0   RUNNING\x1b[K\n"
            "\x1b[2A\rweb/0  RUNNING  on w1\x1b[K\n\r\x1b[K\n\x1b[1A"
            "\x1b[1A\rweb/0  RUNNING  on w1\x1b[K\n\r1 of 1 ready\x1b[K\n");
}

bj::object doc(const char* text) {
  return bj::parse(text).as_object();
}

const bj::array kServices = bj::parse(R"([
  {"_id": {"$oid": "aaaaaaaaaaaaaaaaaaaaaaaa"}, "job_name": "shop.test.web.test",
   "app_name": "shop", "microservice_name": "web"},
  {"_id": {"$oid": "bbbbbbbbbbbbbbbbbbbbbbbb"}, "job_name": "blog.test.web.test",
   "app_name": "blog", "microservice_name": "web"},
  {"_id": {"$oid": "cccccccccccccccccccccccc"}, "job_name": "blog.prod.db.test",
   "app_name": "blog", "microservice_name": "db"}
])")
                                .as_array();

TEST(CliResolveTest, ServicesByIdFullNameAppDotNameOrName) {
  EXPECT_EQ(idOf(findService(kServices, "bbbbbbbbbbbbbbbbbbbbbbbb").value()),
            "bbbbbbbbbbbbbbbbbbbbbbbb");
  EXPECT_EQ(idOf(findService(kServices, "shop.test.web.test").value()), "aaaaaaaaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(idOf(findService(kServices, "blog.web").value()), "bbbbbbbbbbbbbbbbbbbbbbbb");
  EXPECT_EQ(idOf(findService(kServices, "db").value()), "cccccccccccccccccccccccc");
  auto ambiguous = findService(kServices, "web");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().message,
            "'web' names 2 services: shop.test.web.test, blog.test.web.test; use the full name "
            "or the id");
  auto none = findService(kServices, "cache");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST(CliResolveTest, ApplicationsByIdNameOrNameDotNamespace) {
  auto apps = bj::parse(R"([
    {"applicationID": "a1", "application_name": "blog", "application_namespace": "test"},
    {"applicationID": "a2", "application_name": "blog", "application_namespace": "prod"}
  ])")
                  .as_array();
  EXPECT_EQ(idOf(findApplication(apps, "blog.prod").value()), "a2");
  EXPECT_EQ(idOf(findApplication(apps, "a1").value()), "a1");
  EXPECT_EQ(findApplication(apps, "blog").error().message,
            "'blog' names 2 applications: blog.test, blog.prod; use NAME.NAMESPACE or the id");
}

TEST(CliLogTargetTest, ServiceAndInstance) {
  auto t = parseLogTarget("shop.test.web.test/2").value();
  EXPECT_EQ(t.service, "shop.test.web.test");
  EXPECT_EQ(t.instance, 2);
  EXPECT_FALSE(parseLogTarget("web").value().instance);
  EXPECT_FALSE(parseLogTarget("web/x"));
  EXPECT_FALSE(parseLogTarget("/1"));
  auto s = doc(R"({"job_name": "a.b.c.d", "instance_list": [{"instance_number": 3},
                                                           {"instance_number": 1}]})");
  EXPECT_EQ(chooseInstance(s, std::nullopt).value(), 1);
  EXPECT_EQ(chooseInstance(s, 3).value(), 3);
  EXPECT_EQ(chooseInstance(s, 2).error().message,
            "a.b.c.d has no instance 2 (oak service inspect a.b.c.d lists them)");
  EXPECT_EQ(chooseInstance(doc(R"({"job_name": "x"})"), std::nullopt).error().message,
            "x has no instances");
}

TEST(CliDeploymentWatchTest, AssessesInstancesAgainstWhatWasAskedFor) {
  auto none = assessService(doc(R"({"job_name": "s", "status": "REQUESTED"})"), 1);
  EXPECT_FALSE(none.done);
  EXPECT_FALSE(none.failure);
  ASSERT_EQ(none.rows.size(), 1u);
  EXPECT_EQ(none.rows[0].label, "s/-");

  auto refused = assessService(doc(R"({"job_name": "s", "status": "TargetClusterNotFound",
              "status_detail": "no cluster 'x'"})"),
                               1);
  EXPECT_EQ(refused.failure, "s: no instance placed: TargetClusterNotFound: no cluster 'x'");

  auto mixed = assessService(doc(R"({"job_name": "s", "one_shot": true, "instance_list": [
      {"instance_number": 1, "status": "NODE_SCHEDULED", "status_detail": "sent to w1"},
      {"instance_number": 0, "status": "COMPLETED", "worker_name": "w2"}]})"),
                             2);
  EXPECT_FALSE(mixed.done);
  ASSERT_EQ(mixed.rows.size(), 2u);
  EXPECT_EQ(mixed.rows[0], (ProgressRow{"s/0", "COMPLETED", "on w2"}));
  EXPECT_EQ(mixed.rows[1], (ProgressRow{"s/1", "NODE_SCHEDULED", "sent to w1"}));

  auto up = assessService(doc(R"({"job_name": "s", "instance_list": [
      {"instance_number": 0, "status": "RUNNING", "worker_name": "w1", "instance_ip": "10.1.0.2",
       "status_detail": "No extra information"}]})"),
                          1);
  EXPECT_TRUE(up.done);
  EXPECT_EQ(up.rows[0].note, "on w1, 10.1.0.2");

  auto dead = assessService(doc(R"({"job_name": "s", "instance_list": [
      {"instance_number": 0, "status": "DEAD", "status_detail": "exited with code 1",
       "logs": "boom\n"}]})"),
                            1);
  EXPECT_EQ(dead.failure, "s/0 is DEAD: exited with code 1\n  its last output:\n    boom");
}

// A transport answering from a script, recording what was asked.
class ScriptedTransport final : public Transport {
 public:
  std::deque<ApiReply> replies;
  std::vector<ApiRequest> seen;
  Result<ApiReply> send(const ApiRequest& req) override {
    seen.push_back(req);
    if (replies.empty()) return makeError(ErrorCode::kUnavailable, "cannot reach x: refused");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
  Result<ApiReply> stream(const ApiRequest& req, const DataSink& sink) override {
    auto r = send(req);
    if (r && r->status == 200) sink(r->body);
    return r;
  }
};

TEST(CliSessionTest, RefusedTokenIsRefreshedOnceAndTheRequestRepeated) {
  SimulatedClock clock;
  testing::FakeRoot tokens(clock);
  ScriptedTransport t;
  t.replies = {{401, R"({"message": "invalid token: malformed or bad signature"})"},
               {200, R"({"token": "fresh"})"},
               {200, "[]"}};
  std::vector<std::string> kept;
  Endpoint e{"http://r", tokens.issue("access", "Admin", 600), "refresh-token", false, true};
  Session s(t, e, clock, [&](const std::string& token) { kept.push_back(token); });
  auto v = s.call(http::Method::kGet, "/api/clusters");
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(t.seen.size(), 3u);
  EXPECT_EQ(t.seen[1].target, "/api/auth/refresh");
  EXPECT_EQ(t.seen[1].token, "refresh-token");
  EXPECT_EQ(t.seen[2].token, "fresh");
  EXPECT_THAT(kept, ElementsAre("fresh"));
}

TEST(CliSessionTest, ExpiredTokenIsRefreshedBeforeTheRequest) {
  SimulatedClock clock;
  testing::FakeRoot tokens(clock);
  ScriptedTransport t;
  t.replies = {{200, R"({"token": "fresh"})"}, {200, "{}"}};
  Endpoint e{"http://r", tokens.issue("access", "Admin", 3), "refresh-token", false, true};
  Session s(t, e, clock);
  ASSERT_TRUE(s.call(http::Method::kGet, "/x"));
  EXPECT_EQ(t.seen[0].target, "/api/auth/refresh");
  EXPECT_EQ(t.seen[1].token, "fresh");
}

TEST(CliSessionTest, WhatARefusedSessionSays) {
  SimulatedClock clock;
  testing::FakeRoot tokens(clock);
  auto refusedWith = [&](Endpoint e, std::deque<ApiReply> replies) {
    ScriptedTransport t;
    t.replies = std::move(replies);
    Session s(t, std::move(e), clock);
    auto r = s.call(http::Method::kGet, "/x");
    return r ? std::string("ok") : r.error().message;
  };
  ApiReply refused{401, R"({"message": "token has expired"})"};
  std::string live = tokens.issue("access", "Admin", 600);
  EXPECT_EQ(refusedWith({"http://r", "", "", false, false}, {refused}),
            "not logged in to http://r: run oak login");
  EXPECT_EQ(refusedWith({"http://r", live, "ref", false, true}, {refused, refused}),
            "session expired: run oak login");
  EXPECT_EQ(refusedWith({"http://r", live, "", false, true}, {refused}),
            "session expired: run oak login");
  EXPECT_EQ(refusedWith({"http://r", live, "", false, true},
                        {{401, R"({"message": "the user 'bob' of this token no longer exists"})"}}),
            "the user 'bob' of this token no longer exists: run oak login");
  EXPECT_EQ(refusedWith({"http://r", live, "", true, false},
                        {{401, R"({"message": "invalid token: bad signature"})"}}),
            "the token in OAK_TOKEN was refused: invalid token: bad signature");
  // Other failures are the server's message, whatever the body.
  EXPECT_EQ(
      refusedWith({"http://r", live, "", false, true},
                  {{409, R"({"code": 409, "message": "a service named 'x' already exists"})"}}),
      "a service named 'x' already exists");
  EXPECT_EQ(refusedWith({"http://r", live, "", false, true}, {{502, "<html>Bad gateway</html>\n"}}),
            "<html>Bad gateway</html>");
  EXPECT_EQ(refusedWith({"http://r", live, "", false, true}, {{500, ""}}),
            "HTTP 500 Internal Server Error");
  EXPECT_EQ(refusedWith({"http://r", live, "", false, true}, {}), "cannot reach x: refused");
}

}  // namespace
}  // namespace oak::cli
