#pragma once
// One HTTP/2 connection (h2c with prior knowledge) to the server's unix socket: the socket and
// an nghttp2 client session, carrying one call at a time. There is no I/O thread: every
// operation of the call runs the session itself, polling the socket until the operation is
// done, the call's deadline passes or another thread interrupts it.

#include <nghttp2/nghttp2.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "rpc/channel.h"
#include "rpc/framing.h"

namespace oak::rpc {

// When a call must have ended.
struct Deadline {
  static Deadline after(std::chrono::milliseconds budget);  // zero: none
  bool none() const { return budget.count() <= 0; }
  // For poll(): the milliseconds left, rounded up; -1 without a deadline.
  int timeoutMs() const;
  CallStatus exceeded() const;

  std::chrono::milliseconds budget{0};
  std::chrono::steady_clock::time_point at{};
};

// Lets another thread end a blocked call: it sets `flag`, then makes `fd` readable.
struct Interrupt {
  int fd = -1;
  const std::atomic<bool>* flag = nullptr;
  bool fired() const { return flag != nullptr && flag->load(); }
};

class Connection {
 public:
  // Connects to the socket at `path`. A server that is not there yet (no socket, connection
  // refused, backlog full) is tried again with a short backoff until the deadline; without a
  // deadline only once. Null on failure, with `status` saying why.
  static std::unique_ptr<Connection> open(const std::string& path, const Deadline& deadline,
                                          const Interrupt& interrupt, size_t max_message_size,
                                          CallStatus& status);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Handles what the server sent while the connection was idle (SETTINGS, PING, GOAWAY, EOF);
  // false when it can no longer carry a call.
  bool stillUsable();
  // Waits for the server's SETTINGS, i.e. an HTTP/2 server answers.
  bool handshake(const Deadline& deadline, CallStatus& status);
  // Whether the pool may keep it: no error, no GOAWAY, the last call closed cleanly.
  bool reusable() const;

  // The call. Operations return false once it has ended; finish() then says how.
  void start(std::string_view method, const Metadata& metadata, const Deadline& deadline,
             const Interrupt& interrupt);
  // Sends one message (with the end of the request stream when `last`). Returns once nghttp2
  // has copied all of it, so the caller's buffer is free again.
  bool write(std::string_view message, bool last);
  bool writesDone();
  // The next response message; false at the end of the responses or when the call failed.
  bool read(std::string& message);
  // Runs the call to its end and returns its status. With `keep_messages`, responses nobody
  // read stay readable (unary takes its one response so); otherwise they are dropped.
  CallStatus finish(bool keep_messages);
  // Ends the call from our side (RST_STREAM CANCEL); the connection is not reused.
  void abort(CallStatus status);
  size_t messagesReady() const { return received_.pending(); }
  // The call is over (the server's status is in, or it failed); finish() returns at once.
  bool ended() const;

 private:
  enum class Goal { kSettings, kWritten, kWritesDone, kMessage, kEnded };

  struct Call {
    bool active = false;
    int32_t stream_id = -1;
    Deadline deadline;
    Interrupt interrupt;
    // The message being sent: our prefix, then the caller's bytes (valid during write()).
    std::array<uint8_t, kPrefixSize> prefix{};
    size_t prefix_sent = kPrefixSize;
    std::string_view body;
    bool last = false;           // the request stream ends after `body`
    bool end_sent = false;       // END_STREAM is out
    bool deferred = false;       // the data source waits for resume
    bool remote_closed = false;  // END_STREAM received: the server's status is in
    bool closed = false;         // nghttp2 closed the stream
    uint32_t reset_code = NGHTTP2_NO_ERROR;
    int http_status = 0;
    bool has_grpc_status = false;
    std::string grpc_status;
    std::string grpc_message;
    bool drop_messages = false;
    std::optional<CallStatus> failure;  // ended on our side or with the connection
  };

  Connection(UniqueFd fd, size_t max_message_size);
  bool pump(Goal goal);
  bool reached(Goal goal) const;
  bool consumed() const { return call_.prefix_sent == kPrefixSize && call_.body.empty(); }
  void receive();
  // The connection is unusable: the call (if any) ends with `status`.
  void fail(CallStatus status);
  void resumeData();
  CallStatus resolve() const;

  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int flags,
                        void* self);
  static ssize_t onReadData(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source*, void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* self);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t length, void* self);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);

  UniqueFd fd_;
  nghttp2_session* session_ = nullptr;
  bool broken_ = false;
  bool goaway_ = false;
  bool discard_ = false;  // a call was abandoned midway
  bool settings_received_ = false;
  bool send_blocked_ = false;  // the socket refused bytes: poll for POLLOUT
  int send_errno_ = 0;
  std::optional<CallStatus> error_;  // why the connection broke
  Call call_;
  Deframer received_;
  std::vector<nghttp2_nv> headers_;  // reused between calls
  std::unique_ptr<uint8_t[]> input_;
};

}  // namespace oak::rpc
