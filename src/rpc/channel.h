#pragma once
// A small gRPC client: unary and streaming calls over HTTP/2 (nghttp2) on a unix socket, with
// messages passed as serialized bytes so that callers choose their protobuf runtime (lite).
// It replaces the full gRPC runtime, whose shared libraries cost a daemon ~8 MB of resident
// code for the handful of local calls it makes.
//
// Each call takes a connection of its own from a small pool (a stream keeps it until it ends),
// so calls from several threads never wait on each other and no I/O thread is needed. Calls
// block their thread for at most their deadline.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oak::rpc {

// gRPC's status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

struct CallStatus {
  StatusCode code = StatusCode::kOk;
  std::string message;  // grpc-message, percent-decoded; or what went wrong locally
  bool ok() const { return code == StatusCode::kOk; }
};

using Metadata = std::vector<std::pair<std::string, std::string>>;  // lower-case keys

struct CallOptions {
  Metadata metadata;
  // Zero: no deadline (event streams). Otherwise the call fails with kDeadlineExceeded when it
  // has not finished in time, and the server is told the deadline (grpc-timeout).
  std::chrono::milliseconds deadline{0};
};

// One streaming call. read/write/writesDone/finish from one thread; cancel from any.
class Stream {
 public:
  virtual ~Stream() = default;  // cancels the call if it has not finished
  // Sends one message; false when the call has ended (finish() says why).
  virtual bool write(std::string_view message) = 0;
  // Half-closes: the server sees the end of the request stream.
  virtual bool writesDone() = 0;
  // The next message; false at the end of the responses or when the call failed.
  virtual bool read(std::string& message) = 0;
  // Ends the call now (RST_STREAM); blocked read/write return false, finish() is kCancelled.
  virtual void cancel() = 0;
  // Waits for the server's status (trailers) unless the call already ended.
  virtual CallStatus finish() = 0;
};

class Channel {
 public:
  struct Options {
    size_t max_message_size = 64 << 20;  // larger responses fail with kResourceExhausted
    size_t max_idle_connections = 4;     // kept open between calls
  };

  // Does not connect yet. Calls wait for the server up to their deadline (a daemon that is
  // starting gets its chance); without a deadline they fail with kUnavailable at once.
  static std::shared_ptr<Channel> unixSocket(std::string path);
  static std::shared_ptr<Channel> unixSocket(std::string path, Options options);
  virtual ~Channel() = default;

  // `method` is the full path, e.g. "/containerd.services.version.v1.Version/Version".
  virtual CallStatus unary(std::string_view method, std::string_view request, std::string& response,
                           const CallOptions& options) = 0;
  // Opens a streaming call (server, client or bidirectional: the caller decides). Never null:
  // a call that could not start fails at its first read/write, with finish() saying why.
  virtual std::unique_ptr<Stream> open(std::string_view method, const CallOptions& options) = 0;
  // Whether a connection to the server can be made within `timeout`.
  virtual bool waitForConnected(std::chrono::milliseconds timeout) = 0;

  const std::string& path() const { return path_; }

 protected:
  explicit Channel(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

}  // namespace oak::rpc
