// The pool of connections, unary calls and streams.
#include "rpc/channel.h"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/unique_fd.h"
#include "rpc/connection.h"

namespace oak::rpc {
namespace {

class ChannelImpl final : public Channel, public std::enable_shared_from_this<ChannelImpl> {
 public:
  ChannelImpl(std::string path, Options options) : Channel(std::move(path)), options_(options) {}

  // An idle connection that still works, else a new one (waiting for the server up to the
  // deadline). The mutex guards the pool only: connecting happens outside it.
  std::unique_ptr<Connection> acquire(const Deadline& deadline, const Interrupt& interrupt,
                                      CallStatus& status) {
    for (;;) {
      std::unique_ptr<Connection> idle;
      {
        std::lock_guard lock(mu_);
        if (idle_.empty()) break;
        idle = std::move(idle_.back());
        idle_.pop_back();
      }
      if (idle->stillUsable()) return idle;
    }
    return Connection::open(path(), deadline, interrupt, options_.max_message_size, status);
  }

  // Keeps a clean connection for the next call; any other closes as `connection` goes out of
  // scope, after the lock is released.
  void release(std::unique_ptr<Connection> connection) {
    if (!connection || !connection->reusable()) return;
    std::lock_guard lock(mu_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
  }

  CallStatus unary(std::string_view method, std::string_view request, std::string& response,
                   const CallOptions& options) override {
    auto deadline = Deadline::after(options.deadline);
    CallStatus status;
    auto connection = acquire(deadline, {}, status);
    if (!connection) return status;
    connection->start(method, options.metadata, deadline, {});
    connection->write(request, /*last=*/true);
    status = connection->finish(/*keep_messages=*/true);
    if (status.ok()) {
      size_t count = connection->messagesReady();
      if (count == 1) {
        connection->read(response);
      } else if (count == 0) {
        status = {StatusCode::kUnimplemented, "expected one response message, got none"};
      } else {
        status = {StatusCode::kInternal,
                  fmt::format("expected one response message, got {}", count)};
      }
    }
    release(std::move(connection));
    return status;
  }

  std::unique_ptr<Stream> open(std::string_view method, const CallOptions& options) override;

  bool waitForConnected(std::chrono::milliseconds timeout) override {
    auto deadline = Deadline::after(timeout);
    CallStatus status;
    auto connection = acquire(deadline, {}, status);
    if (!connection) return false;
    // Connected means an HTTP/2 server answered, not merely that the socket accepted.
    if (!connection->handshake(deadline, status)) return false;
    release(std::move(connection));
    return true;
  }

 private:
  Options options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// A call that takes its connection at its first operation, so that open() never blocks and
// cancel() can end a wait for the server too.
class StreamImpl final : public Stream {
 public:
  StreamImpl(std::shared_ptr<ChannelImpl> channel, std::string_view method,
             const CallOptions& options)
      : channel_(std::move(channel)),
        method_(method),
        metadata_(options.metadata),
        deadline_(Deadline::after(options.deadline)),
        wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wake_.valid()) {
      status_ = CallStatus{StatusCode::kResourceExhausted,
                           fmt::format("eventfd: {}", std::strerror(errno))};
    }
  }

  ~StreamImpl() override {
    if (connection_) connection_->abort({StatusCode::kCancelled, "cancelled"});
  }

  bool write(std::string_view message) override {
    if (!ready()) return false;
    return settleUnless(connection_->write(message, /*last=*/false));
  }

  bool writesDone() override {
    if (!ready()) return false;
    return settleUnless(connection_->writesDone());
  }

  bool read(std::string& message) override {
    if (!ready()) return false;
    return settleUnless(connection_->read(message));
  }

  void cancel() override {
    cancelled_.store(true);
    uint64_t one = 1;
    if (wake_.valid()) {
      [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
    }
  }

  CallStatus finish() override {
    if (ready()) settle();
    return *status_;
  }

 private:
  // Whether the call can go on: started (connected, HEADERS queued) and neither ended nor
  // cancelled.
  bool ready() {
    if (status_) return false;
    if (cancelled_.load()) {
      if (connection_) connection_->abort({StatusCode::kCancelled, "cancelled"});
      connection_.reset();  // abandoned midway: never back to the pool
      status_ = CallStatus{StatusCode::kCancelled, "cancelled"};
      return false;
    }
    if (connection_) return true;
    Interrupt interrupt{wake_.get(), &cancelled_};
    CallStatus status;
    connection_ = channel_->acquire(deadline_, interrupt, status);
    if (!connection_) {
      status_ = std::move(status);
      return false;
    }
    connection_->start(method_, metadata_, deadline_, interrupt);
    return true;
  }

  // Once an operation fails because the call has ended: the status, the connection back to the
  // pool. (A write after writesDone() fails without ending the call.)
  bool settleUnless(bool ok) {
    if (!ok && connection_->ended()) settle();
    return ok;
  }

  void settle() {
    status_ = connection_->finish(/*keep_messages=*/false);
    channel_->release(std::move(connection_));
  }

  std::shared_ptr<ChannelImpl> channel_;
  std::string method_;
  Metadata metadata_;
  Deadline deadline_;
  UniqueFd wake_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Connection> connection_;
  std::optional<CallStatus> status_;  // set once the call has ended
};

std::unique_ptr<Stream> ChannelImpl::open(std::string_view method, const CallOptions& options) {
  return std::make_unique<StreamImpl>(shared_from_this(), method, options);
}

}  // namespace

std::shared_ptr<Channel> Channel::unixSocket(std::string path) {
  return unixSocket(std::move(path), Options{});
}

std::shared_ptr<Channel> Channel::unixSocket(std::string path, Options options) {
  return std::make_shared<ChannelImpl>(std::move(path), options);
}

}  // namespace oak::rpc
