// Streamed responses over real sockets: Server-Sent Events in order, the end of a stream, client
// disconnects, keep-alives, and the bounded queue of a client that reads too slowly.

#include <gtest/gtest.h>

#include <charconv>
#include <future>

#include "http/stream.h"
#include "server_fixture.h"
#include "sse_client.h"

namespace oak::http::testing {
namespace {

using oak::testing::SseClient;

// What the server side saw of one stream, read from the test thread.
struct Seen {
  std::shared_ptr<StreamWriter> writer;  // touched on the loop only
  std::promise<std::string> ended;
  std::promise<uint64_t> produced;
};

StreamOptions dropNotices(size_t max_queued_bytes) {
  StreamOptions o;
  o.max_queued_bytes = max_queued_bytes;
  o.dropped_notice = [](uint64_t n) { return sseEvent("dropped " + std::to_string(n)); };
  return o;
}

// A client whose tiny receive buffer makes it a slow reader at once.
SseClient::Options slowReader() {
  SseClient::Options o;
  o.receive_buffer = 4096;
  return o;
}

class StreamTest : public ServerFixture {
 protected:
  // GET `path` streams with `options`; `start` runs on the loop with the writer.
  void route(const std::string& path, StreamOptions options,
             std::function<void(std::shared_ptr<StreamWriter>)> start) {
    router_.add(Method::kGet, path, {}, [this, options, start](const Request&) {
      return streamResponse(
          "text/event-stream", options, [this, start](std::shared_ptr<StreamWriter> w) {
            w->onEnd([this](std::string reason) { seen_.ended.set_value(std::move(reason)); });
            seen_.writer = w;
            start(w);
          });
    });
  }

  std::string endReason(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    auto f = seen_.ended.get_future();
    if (f.wait_for(timeout) != std::future_status::ready) return "<the stream did not end>";
    return f.get();
  }

  std::unique_ptr<SseClient> open(const std::string& path, SseClient::Options o = {}) {
    auto c = SseClient::open(port_, path, o);
    EXPECT_NE(c, nullptr) << "no response head";
    return c;
  }

  // A stream that sends "hello" and stays open, read up to that event.
  std::unique_ptr<SseClient> openHelloStream() {
    route("/follow", {}, [](std::shared_ptr<StreamWriter> w) { w->write(sseEvent("hello")); });
    start();
    auto c = open("/follow");
    if (c) {
      EXPECT_EQ(c->next(), "hello");
    }
    return c;
  }

  Seen seen_;
  std::unique_ptr<EventLoop::Periodic> producer_;
};

TEST_F(StreamTest, EventsArriveInOrderAndTheBodyEnds) {
  route("/events", {}, [this](std::shared_ptr<StreamWriter> w) {
    w->write(sseEvent("one"));
    // Later turns of the loop, as data trickles in.
    loop_.post([w] {
      w->write(sseEvent("two\nlines"));
      w->write("");  // ignored: an empty chunk would end the body
      w->close();
      EXPECT_FALSE(w->write(sseEvent("after close")));
    });
  });
  start();
  auto c = open("/events");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status(), 200);
  EXPECT_EQ(c->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(c->header("Cache-Control"), "no-cache");
  EXPECT_EQ(c->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(c->header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(c->next(), "one");
  EXPECT_EQ(c->next(), "two\nlines");
  EXPECT_EQ(c->next(), std::nullopt);
  EXPECT_TRUE(c->complete()) << "the terminating chunk arrived";
  EXPECT_EQ(endReason(), "the stream is complete");
}

TEST_F(StreamTest, AClientThatDisconnectsEndsTheStreamAtOnce) {
  auto c = openHelloStream();
  ASSERT_TRUE(c);
  c->close();
  EXPECT_EQ(endReason(), "the client disconnected");
  bool open_after = true;
  ASSERT_TRUE(onLoop([&] { open_after = seen_.writer->open() || seen_.writer->write("x"); }));
  EXPECT_FALSE(open_after);
}

TEST_F(StreamTest, AQuietStreamSendsKeepAlives) {
  StreamOptions o;
  o.keepalive = std::chrono::milliseconds(20);
  o.keepalive_chunk = sseComment("keepalive");
  route("/quiet", o, [](std::shared_ptr<StreamWriter>) {});
  start();
  auto c = open("/quiet");
  ASSERT_TRUE(c);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (c->comments() < 3 && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(c->next(std::chrono::milliseconds(100)), std::nullopt) << "comments are no events";
  }
  EXPECT_GE(c->comments(), 3u);
}

// The server produces far more than a client with a tiny receive buffer takes; the queue stays
// bounded, the oldest chunks go, and every chunk is either delivered or counted in a notice.
TEST_F(StreamTest, ASlowReaderLosesTheOldestChunksAndIsToldHowMany) {
  constexpr uint64_t kMinimum = 300;
  route("/flood", dropNotices(16 * 1024), [this](std::shared_ptr<StreamWriter> w) {
    auto n = std::make_shared<uint64_t>(0);
    // A steady source: less per tick than the queue holds, so only the client's slowness makes
    // it overflow.
    producer_ = loop_.every(std::chrono::milliseconds(1), [this, w, n] {
      if (!w->open()) return;
      for (int i = 0; i < 8; ++i) {
        w->write(sseEvent(std::to_string((*n)++) + std::string(1000, '.')));
      }
      if ((w->dropped() > 0 && *n >= kMinimum) || *n >= 200'000) {
        w->close();
        seen_.produced.set_value(*n);
      }
    });
  });
  start();
  auto c = open("/flood", slowReader());
  ASSERT_TRUE(c);
  auto produced_f = seen_.produced.get_future();
  ASSERT_EQ(produced_f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  uint64_t produced = produced_f.get();

  uint64_t delivered = 0, dropped = 0, notices = 0;
  int64_t last = -1;
  while (auto e = c->next()) {
    if (e->starts_with("dropped ")) {
      ++notices;
      dropped += std::stoull(e->substr(8));
      continue;
    }
    int64_t v = -1;
    std::from_chars(e->data(), e->data() + e->size(), v);
    ASSERT_GT(v, last) << "in order";
    last = v;
    ++delivered;
  }
  EXPECT_TRUE(c->complete());
  EXPECT_GE(notices, 1u);
  EXPECT_EQ(delivered + dropped, produced);
  EXPECT_EQ(last, static_cast<int64_t>(produced) - 1) << "the newest chunk is never dropped";
  EXPECT_EQ(endReason(), "the stream is complete");
}

TEST_F(StreamTest, AClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  StreamOptions o = dropNotices(1 << 20);
  o.write_timeout = std::chrono::milliseconds(200);
  route("/stuck", o, [this](std::shared_ptr<StreamWriter> w) {
    // Steady, not a busy loop (which would hold up the loop's timers): the socket's buffers fill
    // up, then a write waits for the reader.
    producer_ =
        loop_.every(std::chrono::milliseconds(1),
                    [w, chunk = sseEvent(std::string(64 * 1024, 'x'))] { w->write(chunk); });
  });
  start();
  auto c = open("/stuck", slowReader());
  ASSERT_TRUE(c);
  EXPECT_EQ(endReason(), "the client read nothing for 200 ms");
}

TEST_F(StreamTest, StoppingTheServerEndsOpenStreams) {
  auto c = openHelloStream();
  ASSERT_TRUE(c);
  ASSERT_TRUE(stopServer());
  EXPECT_EQ(endReason(), "server is stopping");
  EXPECT_TRUE(c->waitForEnd(std::chrono::seconds(5)));
}

TEST_F(StreamTest, AHeadRequestGetsTheHeadAndAnEndedWriter) {
  route("/events", {}, [](std::shared_ptr<StreamWriter> w) { EXPECT_FALSE(w->open()); });
  start();
  auto r = send(Method::kHead, "/events");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(endReason(), "a HEAD request has no body");
}

TEST(SseFormat, EventsAndComments) {
  EXPECT_EQ(sseEvent("{\"a\":1}"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sseEvent("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(sseEvent(""), "data: \n\n");
  EXPECT_EQ(sseComment("keepalive"), ": keepalive\n\n");
}

}  // namespace
}  // namespace oak::http::testing
