// Root⇄cluster link messages: what each side encodes is what the other decodes, and malformed
// fields are refused naming the field.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "link/messages.h"

namespace oak::link {
namespace {

namespace bj = boost::json;
using ::testing::HasSubstr;

Envelope envelope(const std::string& text) {
  auto e = decode(text);
  EXPECT_TRUE(e) << text;
  return e ? *e : Envelope{};
}

Envelope withField(std::string type, bj::object body) {
  body["type"] = type;
  return envelope(bj::serialize(body));
}

TEST(LinkMessages, WorkersRoundTripAndBadEntriesAreNamed) {
  std::vector<WorkerSummary> workers{{"id1", "w1", true}, {"id2", "w2", false}};
  auto env = decode(encodeWorkers(workers)).value();
  EXPECT_EQ(env.type, "workers");
  EXPECT_EQ(workersFrom(env).value(), workers);
  auto bad =
      decode(R"({"type":"workers","workers":[{"id":"a","name":"b","active":true},{"id":"c"}]})")
          .value();
  EXPECT_NE(workersFrom(bad).error().message.find("workers.workers[1]"), std::string::npos);
  EXPECT_FALSE(workersFrom(decode(R"({"type":"workers"})").value()));
}

TEST(LinkMessages, LogsRequestRoundTrip) {
  LogsRequest r{"17", "65f000000000000000000001", 2, "stderr", 500, true};
  auto e = envelope(encodeLogsRequest(r));
  EXPECT_EQ(e.type, "logs_request");
  auto back = logsRequestFrom(e);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->request_id, "17");
  EXPECT_EQ(back->service_id, r.service_id);
  EXPECT_EQ(back->instance_number, 2);
  EXPECT_EQ(back->stream, "stderr");
  EXPECT_EQ(back->tail, 500);
  EXPECT_TRUE(back->follow);
}

TEST(LinkMessages, LogsRequestDefaultsAndLimits) {
  bj::object base{{"request_id", "1"}, {"service_id", "s"}, {"instance_number", 0}};
  auto r = logsRequestFrom(withField("logs_request", base));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stream, "all");
  EXPECT_EQ(r->tail, 100);
  EXPECT_FALSE(r->follow);

  auto refused = [&](std::string_view key, bj::value v) {
    bj::object o = base;
    o[key] = std::move(v);
    auto bad = logsRequestFrom(withField("logs_request", o));
    EXPECT_FALSE(bad) << key;
    return bad ? std::string() : bad.error().message;
  };
  EXPECT_THAT(refused("stream", "both"), HasSubstr("logs_request.stream"));
  EXPECT_THAT(refused("tail", 0), HasSubstr("logs_request.tail"));
  EXPECT_THAT(refused("tail", kMaxLogsTail + 1), HasSubstr("logs_request.tail"));
  EXPECT_THAT(refused("follow", "yes"), HasSubstr("logs_request.follow"));
  EXPECT_THAT(refused("instance_number", -1), HasSubstr("logs_request.instance_number"));
  EXPECT_THAT(refused("request_id", ""), HasSubstr("logs_request.request_id"));
  EXPECT_THAT(refused("request_id", bj::string(129, 'x')), HasSubstr("logs_request.request_id"));
  EXPECT_TRUE(
      logsRequestFrom(withField("logs_request", bj::object{{"request_id", "1"}})).has_error());
}

TEST(LinkMessages, LogsCancelRoundTrip) {
  auto e = envelope(encodeLogsCancel("42"));
  EXPECT_EQ(e.type, "logs_cancel");
  EXPECT_EQ(logsCancelFrom(e).value(), "42");
  EXPECT_FALSE(logsCancelFrom(withField("logs_cancel", {})));
}

TEST(LinkMessages, LogsChunkRoundTrip) {
  LogsChunk c{"5",
              {{"2024-05-01T10:00:00.000000001Z", "stdout", "hello"},
               {"2024-05-01T10:00:01Z", "stderr", "wörld \"quoted\""}},
              false,
              ""};
  auto e = envelope(encodeLogsChunk(c));
  EXPECT_EQ(e.type, "logs_chunk");
  EXPECT_FALSE(e.body.contains("error")) << "only on failure";
  auto back = logsChunkFrom(e);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->request_id, "5");
  ASSERT_EQ(back->lines.size(), 2u);
  EXPECT_EQ(back->lines[0].time, "2024-05-01T10:00:00.000000001Z");
  EXPECT_EQ(back->lines[1].stream, "stderr");
  EXPECT_EQ(back->lines[1].line, "wörld \"quoted\"");
  EXPECT_FALSE(back->done);
  EXPECT_EQ(back->error, "");
}

TEST(LinkMessages, AnErrorChunkIsTheLast) {
  auto back = logsChunkFrom(withField("logs_chunk", {{"request_id", "5"}, {"error", "gone"}}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->done);
  EXPECT_EQ(back->error, "gone");
  EXPECT_TRUE(back->lines.empty());
}

TEST(LinkMessages, AChunkWithAMalformedLineIsRefused) {
  auto bad = logsChunkFrom(withField(
      "logs_chunk", {{"request_id", "5"}, {"lines", bj::array{bj::object{{"time", "t"}}}}}));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("logs_chunk.lines[0]"));
}

TEST(LinkMessages, InstanceLogsAreOptionalAndBounded) {
  InstanceState s{"s", 0, "DEAD", "exit 1", "w", "worker", "", 0, 0};
  EXPECT_FALSE(toJson(s).contains("logs")) << "absent when there are none";
  s.logs = "boom\n";
  auto back = instanceStateFromJson(toJson(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->logs, "boom\n");

  bj::object big = toJson(s);
  big["logs"] = std::string(10000, 'a') + "tail";
  back = instanceStateFromJson(big);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->logs.size(), kMaxInstanceLogsBytes);
  EXPECT_TRUE(back->logs.ends_with("atail"));
}

TEST(LinkMessages, LastBytesNeverStartsInsideACharacter) {
  EXPECT_EQ(lastBytes("short", 10), "short");
  EXPECT_EQ(lastBytes("abcdef", 3), "def");
  // "é" is two bytes; keeping the last 3 of "xé!" would start inside it.
  EXPECT_EQ(lastBytes("xx\xc3\xa9!", 3), "\xc3\xa9!");
  EXPECT_EQ(lastBytes("x\xc3\xa9!", 2), "!");
}

}  // namespace
}  // namespace oak::link
