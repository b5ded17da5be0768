// The channel against an HTTP/2 gRPC server in the test (grpc_test_server.h) on a unix socket.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "grpc_test_server.h"
#include "rpc/channel.h"
#include "temp_dir.h"
#include "wait.h"

namespace oak::rpc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::GrpcTestServer;

std::string method(const std::string& name) {
  return "/test.Test/" + name;
}

class ChannelTest : public ::testing::Test {
 protected:
  std::string socket() const { return dir_.file("grpc.sock"); }
  void startServer() { server_.emplace(socket()); }

  CallStatus unary(const std::string& name, std::string_view request, std::string& response,
                   std::chrono::milliseconds deadline = 5s) {
    CallOptions options;
    options.deadline = deadline;
    return channel_->unary(method(name), request, response, options);
  }

  oak::testing::TempDir dir_;
  std::optional<GrpcTestServer> server_;
  std::shared_ptr<Channel> channel_ = Channel::unixSocket(socket());
};

TEST_F(ChannelTest, UnaryEchoesTheRequest) {
  startServer();
  std::string response;
  auto status = unary("Echo", "hello", response);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(response, "hello");
  // An empty message is a message too.
  status = unary("Echo", "", response);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(response, "");
}

TEST_F(ChannelTest, SequentialCallsShareOneConnection) {
  startServer();
  std::string response;
  ASSERT_TRUE(unary("Echo", "a", response).ok());
  ASSERT_TRUE(unary("Echo", "b", response).ok());
  EXPECT_EQ(response, "b");
  // A stream that ended cleanly gives its connection back too.
  auto stream = channel_->open(method("Stream"), {});
  ASSERT_TRUE(stream->write("2"));
  ASSERT_TRUE(stream->writesDone());
  std::string m;
  while (stream->read(m)) {
  }
  EXPECT_TRUE(stream->finish().ok());
  ASSERT_TRUE(unary("Echo", "c", response).ok());
  EXPECT_EQ(server_->connectionsAccepted(), 1);
}

TEST_F(ChannelTest, ConcurrentCallsFromManyThreads) {
  startServer();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        std::string request = std::to_string(t) + "/" + std::to_string(i);
        std::string response;
        auto status = unary("Echo", request, response);
        if (!status.ok() || response != request) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server_->connectionsAccepted(), 6);
}

TEST_F(ChannelTest, TrailersOnlyErrorWithDecodedMessage) {
  startServer();
  std::string response = "untouched";
  auto status = unary("Error", "x", response);
  EXPECT_EQ(status.code, StatusCode::kNotFound);
  EXPECT_EQ(status.message, "no such thing: caf\xC3\xA9 100%");
  EXPECT_EQ(response, "untouched");
  // An error status is a clean end of the call: the connection serves the next one.
  ASSERT_TRUE(unary("Echo", "y", response).ok());
  EXPECT_EQ(server_->connectionsAccepted(), 1);
}

TEST_F(ChannelTest, ServerStreamDeliversEveryMessage) {
  startServer();
  auto stream = channel_->open(method("Stream"), {});
  ASSERT_TRUE(stream->write("500"));
  ASSERT_TRUE(stream->writesDone());
  std::string m;
  int n = 0;
  while (stream->read(m)) {
    ASSERT_EQ(m, "message " + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 500);
  auto status = stream->finish();
  EXPECT_TRUE(status.ok()) << status.message;
  EXPECT_FALSE(stream->read(m));
}

TEST_F(ChannelTest, ClientStreamOfSeveralMegabytes) {
  startServer();
  CallOptions options;
  options.deadline = 30s;
  auto stream = channel_->open(method("Upload"), options);
  std::string chunk(1 << 20, 'c');
  size_t total = 0;
  for (int i = 0; i < 6; ++i) {
    chunk[i] = static_cast<char>('0' + i);
    ASSERT_TRUE(stream->write(chunk)) << stream->finish().message;
    total += chunk.size();
  }
  ASSERT_TRUE(stream->write("tail"));
  total += 4;
  ASSERT_TRUE(stream->writesDone());
  std::string answer;
  ASSERT_TRUE(stream->read(answer)) << stream->finish().message;
  EXPECT_EQ(answer, std::to_string(total));
  EXPECT_FALSE(stream->read(answer));
  EXPECT_TRUE(stream->finish().ok());
}

TEST_F(ChannelTest, LargeUnaryBothWays) {
  startServer();
  std::string request(5 << 20, '\0');
  for (size_t i = 0; i < request.size(); ++i) request[i] = static_cast<char>(i * 7 + i / 4096);
  std::string response;
  auto status = unary("Echo", request, response, 30s);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_TRUE(response == request);
  // Larger than our 16 MiB windows: WINDOW_UPDATEs keep it flowing.
  status = unary("Big", std::to_string(40 << 20), response, 30s);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(response.size(), size_t{40} << 20);
}

TEST_F(ChannelTest, BidiAnswersEachWriteBeforeTheNext) {
  startServer();
  auto stream = channel_->open(method("Bidi"), {});
  std::string m;
  for (int i = 0; i < 20; ++i) {
    std::string request(i * 10000, static_cast<char>('a' + i));
    ASSERT_TRUE(stream->write(request));
    ASSERT_TRUE(stream->read(m));
    EXPECT_TRUE(m == request) << i;
  }
  ASSERT_TRUE(stream->writesDone());
  EXPECT_FALSE(stream->read(m));
  EXPECT_TRUE(stream->finish().ok());
  EXPECT_FALSE(stream->write("late"));
}

TEST_F(ChannelTest, BidiEndedByCancel) {
  startServer();
  auto stream = channel_->open(method("Bidi"), {});
  std::string m;
  ASSERT_TRUE(stream->write("commit"));
  ASSERT_TRUE(stream->read(m));
  stream->cancel();
  EXPECT_FALSE(stream->read(m));
  EXPECT_FALSE(stream->write("more"));
  EXPECT_EQ(stream->finish().code, StatusCode::kCancelled);
  // The server hears of it, and the cancelled call's connection is not reused.
  EXPECT_TRUE(oak::testing::waitUntil("server sees the reset", 5s, [&] {
    return server_->resets() + server_->disconnects() >= 1;
  }));
  std::string response;
  ASSERT_TRUE(unary("Echo", "next", response).ok());
  EXPECT_EQ(server_->connectionsAccepted(), 2);
}

TEST_F(ChannelTest, DeadlineExceeded) {
  startServer();
  std::string response;
  auto start = Clock::now();
  auto status = unary("Hang", "x", response, 300ms);
  auto took = Clock::now() - start;
  EXPECT_EQ(status.code, StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message, "deadline exceeded after 300 ms");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s);
  // That connection is closed, the next call gets a new one.
  ASSERT_TRUE(unary("Echo", "x", response).ok());
  EXPECT_EQ(server_->connectionsAccepted(), 2);
  EXPECT_TRUE(oak::testing::waitUntil(
      "server sees the end", 5s, [&] { return server_->resets() + server_->disconnects() >= 1; }));
}

TEST_F(ChannelTest, StreamDeadlineEndsABlockedRead) {
  startServer();
  CallOptions options;
  options.deadline = 200ms;
  auto stream = channel_->open(method("Hang"), options);
  ASSERT_TRUE(stream->write("x"));
  std::string m;
  auto start = Clock::now();
  EXPECT_FALSE(stream->read(m));
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(stream->finish().code, StatusCode::kDeadlineExceeded);
}

TEST_F(ChannelTest, CancelFromAnotherThreadUnblocksRead) {
  startServer();
  auto stream = channel_->open(method("Hang"), {});  // no deadline: only cancel ends it
  ASSERT_TRUE(stream->write("x"));
  auto reader = std::async(std::launch::async, [&] {
    std::string m;
    return stream->read(m);
  });
  ASSERT_TRUE(server_->waitForRequests(1, 5s));
  EXPECT_EQ(reader.wait_for(100ms), std::future_status::timeout);  // blocked
  auto cancelled = Clock::now();
  stream->cancel();
  ASSERT_EQ(reader.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(reader.get());
  EXPECT_LT(Clock::now() - cancelled, 1s);
  auto status = stream->finish();
  EXPECT_EQ(status.code, StatusCode::kCancelled);
  EXPECT_TRUE(oak::testing::waitUntil("server sees the reset", 5s, [&] {
    return server_->resets() + server_->disconnects() >= 1;
  }));
}

TEST_F(ChannelTest, CancelWhileWaitingForTheServer) {
  // No server yet: the stream waits for it (deadline) until cancelled.
  CallOptions options;
  options.deadline = 30s;
  auto stream = channel_->open(method("Echo"), options);
  auto writer = std::async(std::launch::async, [&] { return stream->write("x"); });
  EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout);
  stream->cancel();
  ASSERT_EQ(writer.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(writer.get());
  EXPECT_EQ(stream->finish().code, StatusCode::kCancelled);
}

TEST_F(ChannelTest, CancelBeforeTheFirstOperation) {
  startServer();
  auto stream = channel_->open(method("Echo"), {});
  stream->cancel();
  EXPECT_FALSE(stream->write("x"));
  EXPECT_EQ(stream->finish().code, StatusCode::kCancelled);
  EXPECT_EQ(server_->connectionsAccepted(), 0);
}

TEST_F(ChannelTest, DestroyingAStreamMidCallCancelsIt) {
  startServer();
  {
    auto stream = channel_->open(method("Hang"), {});
    ASSERT_TRUE(stream->write("x"));
    ASSERT_TRUE(server_->waitForRequests(1, 5s));
  }
  EXPECT_TRUE(oak::testing::waitUntil(
      "server sees the end", 5s, [&] { return server_->resets() + server_->disconnects() >= 1; }));
}

TEST_F(ChannelTest, ConnectionClosedMidCallIsUnavailable) {
  startServer();
  std::string response;
  auto start = Clock::now();
  auto status = unary("Close", "x", response);
  EXPECT_EQ(status.code, StatusCode::kUnavailable) << status.message;
  EXPECT_FALSE(status.message.empty());
  EXPECT_LT(Clock::now() - start, 2s);
  ASSERT_TRUE(unary("Echo", "again", response).ok());
  EXPECT_EQ(response, "again");
}

// Answers that are not a gRPC success, and what the caller sees of them.
TEST_F(ChannelTest, FailedAnswers) {
  struct Case {
    const char* method;
    StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {"Nope", StatusCode::kUnimplemented, "Nope"},
      {"Http503", StatusCode::kUnavailable, "HTTP status 503"},
      {"Empty", StatusCode::kUnimplemented, "expected one response message, got none"},
      {"Two", StatusCode::kInternal, "expected one response message, got 2"},
      {"Compressed", StatusCode::kUnimplemented, "compressed"},
      {"NoStatus", StatusCode::kInternal, "no status"},
  };
  startServer();
  for (const auto& c : cases) {
    std::string response;
    auto status = unary(c.method, "x", response);
    EXPECT_EQ(status.code, c.code) << c.method << ": " << status.message;
    EXPECT_NE(status.message.find(c.says), std::string::npos) << c.method << ": " << status.message;
  }
}

TEST_F(ChannelTest, ResponseOverTheLimitIsResourceExhausted) {
  startServer();
  Channel::Options options;
  options.max_message_size = 1 << 20;
  auto channel = Channel::unixSocket(socket(), options);
  std::string response;
  CallOptions call;
  call.deadline = 10s;
  EXPECT_TRUE(channel->unary(method("Big"), std::to_string(1 << 20), response, call).ok());
  auto status = channel->unary(method("Big"), std::to_string((1 << 20) + 1), response, call);
  EXPECT_EQ(status.code, StatusCode::kResourceExhausted);
  EXPECT_NE(status.message.find("limit"), std::string::npos) << status.message;
}

TEST_F(ChannelTest, RequestHeaders) {
  startServer();
  CallOptions options;
  options.deadline = 5s;
  options.metadata = {{"containerd-namespace", "oakestra"}, {"x-lease", "l1"}};
  std::string headers;
  auto status = channel_->unary(method("Headers"), "", headers, options);
  ASSERT_TRUE(status.ok()) << status.message;
  for (const char* line :
       {":method: POST\n", ":scheme: http\n", ":path: /test.Test/Headers\n",
        ":authority: localhost\n", "content-type: application/grpc\n", "te: trailers\n",
        "user-agent: oakestra-rpc\n", "containerd-namespace: oakestra\n", "x-lease: l1\n"}) {
    EXPECT_NE(headers.find(line), std::string::npos) << line << " in\n" << headers;
  }
  auto at = headers.find("grpc-timeout: ");
  ASSERT_NE(at, std::string::npos) << headers;
  auto value = headers.substr(at + 14, headers.find('\n', at) - at - 14);
  ASSERT_FALSE(value.empty());
  EXPECT_EQ(value.back(), 'm');
  int ms = std::stoi(value);
  EXPECT_GT(ms, 4000);
  EXPECT_LE(ms, 5000);
  // Without a deadline, no grpc-timeout.
  status = channel_->unary(method("Headers"), "", headers, {});
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(headers.find("grpc-timeout"), std::string::npos) << headers;
}

TEST_F(ChannelTest, MissingSocketWithoutDeadlineFailsAtOnce) {
  std::string response;
  auto start = Clock::now();
  auto status = channel_->unary(method("Echo"), "x", response, {});
  EXPECT_LT(Clock::now() - start, 100ms);
  EXPECT_EQ(status.code, StatusCode::kUnavailable);
  EXPECT_EQ(status.message, "connect " + socket() + ": No such file or directory");
  // Streams are never null: they fail at their first operation.
  auto stream = channel_->open(method("Echo"), {});
  ASSERT_NE(stream, nullptr);
  EXPECT_FALSE(stream->write("x"));
  EXPECT_EQ(stream->finish().code, StatusCode::kUnavailable);
}

TEST_F(ChannelTest, MissingSocketWaitsUntilTheDeadline) {
  std::string response;
  auto start = Clock::now();
  auto status = unary("Echo", "x", response, 300ms);
  auto took = Clock::now() - start;
  EXPECT_EQ(status.code, StatusCode::kUnavailable);
  EXPECT_NE(status.message.find("No such file or directory"), std::string::npos);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ChannelTest, WaitsForAServerThatIsStarting) {
  std::mutex mu;
  std::condition_variable cv;
  bool calling = false;
  auto call = std::async(std::launch::async, [&] {
    {
      std::lock_guard lock(mu);
      calling = true;
    }
    cv.notify_all();
    std::string response;
    auto status = unary("Echo", "early", response, 10s);
    return status.ok() ? response : status.message;
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return calling; }));
  }
  startServer();
  ASSERT_EQ(call.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(call.get(), "early");
}

TEST_F(ChannelTest, WaitForConnectedKeepsTheConnection) {
  EXPECT_FALSE(channel_->waitForConnected(100ms));
  startServer();
  EXPECT_TRUE(channel_->waitForConnected(2s));
  std::string response;
  ASSERT_TRUE(unary("Echo", "x", response).ok());
  EXPECT_EQ(server_->connectionsAccepted(), 1);
}

TEST_F(ChannelTest, IdleConnectionToAServerThatRestartedIsReplaced) {
  startServer();
  std::string response;
  ASSERT_TRUE(unary("Echo", "before", response).ok());
  server_.reset();
  startServer();
  auto status = unary("Echo", "after", response);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(response, "after");
}

}  // namespace
}  // namespace oak::rpc
