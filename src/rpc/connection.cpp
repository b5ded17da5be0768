#include "rpc/connection.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "rpc/status.h"

namespace oak::rpc {
namespace {

using std::chrono::milliseconds;

// Our receive windows (per stream and for the connection): large enough that a big response
// (containerd's content reads, 64 MiB messages) never waits for a WINDOW_UPDATE round trip.
constexpr int32_t kWindowSize = 16 << 20;
constexpr size_t kInputBufferSize = 64 << 10;
constexpr milliseconds kFirstBackoff{10};
constexpr milliseconds kMaxBackoff{200};

std::string errnoText(int err) {
  return std::strerror(err);
}

nghttp2_nv header(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values (no NO_COPY flags), so views of temporaries are fine.
  auto bytes = [](std::string_view s) {
    return const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(s.data()));
  };
  return {bytes(name), bytes(value), name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

Deadline Deadline::after(milliseconds budget) {
  Deadline d;
  d.budget = budget;
  if (budget.count() > 0) d.at = std::chrono::steady_clock::now() + budget;
  return d;
}

int Deadline::timeoutMs() const {
  if (none()) return -1;
  auto left = at - std::chrono::steady_clock::now();
  if (left <= left.zero()) return 0;
  auto ms = std::chrono::ceil<milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

CallStatus Deadline::exceeded() const {
  return {StatusCode::kDeadlineExceeded,
          fmt::format("deadline exceeded after {} ms", budget.count())};
}

std::unique_ptr<Connection> Connection::open(const std::string& path, const Deadline& deadline,
                                             const Interrupt& interrupt, size_t max_message_size,
                                             CallStatus& status) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    status = {StatusCode::kInvalidArgument, fmt::format("connect {}: invalid socket path", path)};
    return nullptr;
  }
  path.copy(addr.sun_path, path.size());
  auto backoff = kFirstBackoff;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      status = {StatusCode::kUnavailable, fmt::format("socket: {}", errnoText(errno))};
      return nullptr;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::unique_ptr<Connection> c(new Connection(std::move(fd), max_message_size));
      if (c->session_ == nullptr) {
        status = {StatusCode::kInternal, "HTTP/2 session: out of memory"};
        return nullptr;
      }
      return c;
    }
    // A daemon that is starting has no socket yet or does not accept yet (EAGAIN: its backlog
    // is full): wait for it up to the deadline, as gRPC's wait-for-ready does.
    int err = errno;
    bool starting = err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
    int left = deadline.timeoutMs();
    if (!starting || deadline.none() || left == 0) {
      status = {StatusCode::kUnavailable, fmt::format("connect {}: {}", path, errnoText(err))};
      return nullptr;
    }
    pollfd p{interrupt.fd, POLLIN, 0};
    ::poll(&p, interrupt.fd >= 0 ? 1 : 0, std::min<int>(left, static_cast<int>(backoff.count())));
    if (interrupt.fired()) {
      status = {StatusCode::kCancelled, "cancelled"};
      return nullptr;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Connection::Connection(UniqueFd fd, size_t max_message_size)
    : fd_(std::move(fd)),
      received_(max_message_size),
      input_(std::make_unique<uint8_t[]>(kInputBufferSize)) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return;
  nghttp2_session_callbacks_set_send_callback(callbacks, &Connection::onSend);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Connection::onFrameRecv);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Connection::onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Connection::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Connection::onStreamClose);
  int rv = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    return;
  }
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindowSize}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindowSize);
}

Connection::~Connection() {
  if (session_ == nullptr) return;
  if (!broken_) {
    // Best effort, without blocking: a pending RST_STREAM, then a GOAWAY, tell the server at
    // once (after a GOAWAY nghttp2 would send nothing else).
    call_.body = {};
    nghttp2_session_send(session_);
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    nghttp2_session_send(session_);
  }
  nghttp2_session_del(session_);
}

bool Connection::stillUsable() {
  for (int i = 0; i < 16 && !broken_ && !goaway_; ++i) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    receive();
  }
  return reusable();
}

bool Connection::handshake(const Deadline& deadline, CallStatus& status) {
  call_.deadline = deadline;
  call_.interrupt = {};
  if (pump(Goal::kSettings)) return true;
  status = error_.value_or(CallStatus{StatusCode::kUnavailable, "no HTTP/2 settings"});
  return false;
}

bool Connection::reusable() const {
  return !broken_ && !goaway_ && !discard_ && (call_.stream_id < 0 || call_.closed);
}

void Connection::start(std::string_view method, const Metadata& metadata, const Deadline& deadline,
                       const Interrupt& interrupt) {
  received_.reset();
  call_ = Call{};
  call_.active = true;
  call_.deadline = deadline;
  call_.interrupt = interrupt;
  if (broken_) {
    call_.failure = error_;
    return;
  }
  std::string timeout;
  if (!deadline.none()) {
    int left = deadline.timeoutMs();
    if (left == 0) {
      call_.failure = deadline.exceeded();
      return;
    }
    timeout = grpcTimeout(milliseconds(left));
  }
  headers_.clear();
  headers_.push_back(header(":method", "POST"));
  headers_.push_back(header(":scheme", "http"));
  headers_.push_back(header(":path", method));
  headers_.push_back(header(":authority", "localhost"));
  headers_.push_back(header("content-type", "application/grpc"));
  headers_.push_back(header("te", "trailers"));
  headers_.push_back(header("user-agent", "oakestra-rpc"));
  if (!timeout.empty()) headers_.push_back(header("grpc-timeout", timeout));
  for (const auto& [key, value] : metadata) headers_.push_back(header(key, value));
  nghttp2_data_provider provider{};
  provider.read_callback = &Connection::onReadData;
  int32_t id = nghttp2_submit_request(session_, nullptr, headers_.data(), headers_.size(),
                                      &provider, nullptr);
  if (id < 0) {
    fail({StatusCode::kUnavailable, fmt::format("HTTP/2 request: {}", nghttp2_strerror(id))});
    return;
  }
  call_.stream_id = id;
}

bool Connection::write(std::string_view message, bool last) {
  if (!call_.active || ended() || call_.last) return false;
  if (message.size() > UINT32_MAX) {
    abort({StatusCode::kInvalidArgument,
           fmt::format("request message of {} bytes: larger than 4 GiB", message.size())});
    return false;
  }
  call_.prefix = messagePrefix(message.size());
  call_.prefix_sent = 0;
  call_.body = message;
  call_.last = last;
  resumeData();
  bool ok = pump(Goal::kWritten);
  // Never keep a view of the caller's buffer past this call.
  call_.body = {};
  call_.prefix_sent = kPrefixSize;
  return ok;
}

bool Connection::writesDone() {
  if (!call_.active || call_.failure) return false;
  if (call_.end_sent) return true;
  if (ended()) return false;
  call_.last = true;
  resumeData();
  return pump(Goal::kWritesDone);
}

bool Connection::read(std::string& message) {
  if (received_.next(message)) return true;
  if (!call_.active || ended()) return false;
  return pump(Goal::kMessage) && received_.next(message);
}

CallStatus Connection::finish(bool keep_messages) {
  if (!call_.active) return resolve();
  call_.drop_messages = !keep_messages;
  if (!keep_messages) received_.dropReady();
  pump(Goal::kEnded);
  if (call_.stream_id > 0 && !call_.closed && !call_.failure && !broken_) {
    // The server ended the call before our request stream ended: close our side too (as gRPC
    // does, with NO_ERROR), so that the connection can carry the next call.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call_.stream_id, NGHTTP2_NO_ERROR);
    nghttp2_session_send(session_);
  }
  call_.active = false;
  return resolve();
}

void Connection::abort(CallStatus status) {
  if (!call_.active) return;
  if (!call_.failure) call_.failure = std::move(status);
  discard_ = true;
  call_.body = {};
  call_.prefix_sent = kPrefixSize;
  if (call_.stream_id > 0 && !call_.closed && !broken_) {
    // Sent with the next nghttp2_session_send, at the latest when the connection is closed.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call_.stream_id, NGHTTP2_CANCEL);
  }
}

bool Connection::ended() const {
  return call_.active && (call_.failure || call_.remote_closed || call_.closed);
}

bool Connection::reached(Goal goal) const {
  switch (goal) {
    case Goal::kSettings:
      return settings_received_;
    case Goal::kWritten:
      return !call_.failure && consumed() && (!call_.last || call_.end_sent);
    case Goal::kWritesDone:
      return !call_.failure && call_.end_sent;
    case Goal::kMessage:
      return received_.pending() > 0;
    case Goal::kEnded:
      return ended();
  }
  return false;
}

bool Connection::pump(Goal goal) {
  for (;;) {
    if (!broken_) {
      send_blocked_ = false;
      int rv = nghttp2_session_send(session_);
      if (rv != 0) {
        fail(send_errno_ != 0 ? CallStatus{StatusCode::kUnavailable,
                                           fmt::format("send: {}", errnoText(send_errno_))}
                              : CallStatus{StatusCode::kInternal,
                                           fmt::format("HTTP/2: {}", nghttp2_strerror(rv))});
      }
    }
    if (reached(goal)) return true;
    if (broken_ || ended()) return false;
    if (call_.interrupt.fired()) {
      abort({StatusCode::kCancelled, "cancelled"});
      return false;
    }
    int timeout = call_.deadline.timeoutMs();
    if (timeout == 0) {
      if (call_.active) {
        abort(call_.deadline.exceeded());
      } else {
        fail(call_.deadline.exceeded());
      }
      return false;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      fail({StatusCode::kUnavailable, "connection closed"});
      return false;
    }
    // POLLOUT only when the socket refused bytes: nghttp2 may want to write data that flow
    // control holds back, and polling for POLLOUT then would spin.
    pollfd fds[2] = {{fd_.get(), static_cast<short>(POLLIN | (send_blocked_ ? POLLOUT : 0)), 0},
                     {call_.interrupt.fd, POLLIN, 0}};
    int n = ::poll(fds, call_.interrupt.fd >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) {
      fail({StatusCode::kInternal, fmt::format("poll: {}", errnoText(errno))});
      return false;
    }
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) receive();
  }
}

void Connection::receive() {
  ssize_t n = ::recv(fd_.get(), input_.get(), kInputBufferSize, 0);
  if (n == 0) {
    fail({StatusCode::kUnavailable, "connection closed by the server"});
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail({StatusCode::kUnavailable, fmt::format("recv: {}", errnoText(errno))});
    return;
  }
  auto rv = nghttp2_session_mem_recv(session_, input_.get(), static_cast<size_t>(n));
  if (rv < 0) {
    fail(
        {StatusCode::kInternal, fmt::format("HTTP/2: {}", nghttp2_strerror(static_cast<int>(rv)))});
  }
}

void Connection::fail(CallStatus status) {
  broken_ = true;
  if (call_.active && !call_.failure) call_.failure = status;
  if (!error_) error_ = std::move(status);
}

void Connection::resumeData() {
  if (call_.deferred && call_.stream_id > 0 && !call_.closed) {
    call_.deferred = false;
    nghttp2_session_resume_data(session_, call_.stream_id);
  }
}

CallStatus Connection::resolve() const {
  if (call_.failure) return *call_.failure;
  if (call_.http_status != 0 && call_.http_status != 200) return statusFromHttp(call_.http_status);
  if (call_.has_grpc_status) {
    CallStatus status = statusFromTrailers(call_.grpc_status, call_.grpc_message);
    if (status.ok() && received_.midMessage()) {
      return {StatusCode::kInternal, "the response ended inside a message"};
    }
    return status;
  }
  if (call_.reset_code != NGHTTP2_NO_ERROR) return statusFromReset(call_.reset_code);
  return {StatusCode::kInternal, "no status: the response ended without grpc-status"};
}

ssize_t Connection::onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* self) {
  auto* c = static_cast<Connection*>(self);
  ssize_t n = ::send(c->fd_.get(), data, length, MSG_NOSIGNAL);
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    c->send_blocked_ = true;
    return NGHTTP2_ERR_WOULDBLOCK;
  }
  c->send_errno_ = errno;
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

ssize_t Connection::onReadData(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                               uint32_t* flags, nghttp2_data_source*, void* self) {
  auto* c = static_cast<Connection*>(self);
  Call& call = c->call_;
  if (stream_id != call.stream_id) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;  // a stream of an earlier call (reset already)
    return 0;
  }
  size_t n = 0;
  if (call.prefix_sent < kPrefixSize) {
    n = std::min(kPrefixSize - call.prefix_sent, length);
    std::memcpy(buf, call.prefix.data() + call.prefix_sent, n);
    call.prefix_sent += n;
  }
  if (call.prefix_sent == kPrefixSize && !call.body.empty() && n < length) {
    size_t k = std::min(length - n, call.body.size());
    std::memcpy(buf + n, call.body.data(), k);
    call.body.remove_prefix(k);
    n += k;
  }
  if (c->consumed() && call.last) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    call.end_sent = true;
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    call.deferred = true;  // until write() or writesDone() resumes it
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

int Connection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* c = static_cast<Connection*>(self);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) c->settings_received_ = true;
      break;
    case NGHTTP2_GOAWAY:
      c->goaway_ = true;  // streams it did not take are closed with REFUSED_STREAM
      break;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if (frame->hd.stream_id == c->call_.stream_id &&
          (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
        c->call_.remote_closed = true;
      }
      break;
    default:
      break;
  }
  return 0;
}

int Connection::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                         void* self) {
  auto* c = static_cast<Connection*>(self);
  if (frame->hd.stream_id != c->call_.stream_id) return 0;
  std::string_view key(reinterpret_cast<const char*>(name), name_length);
  std::string_view text(reinterpret_cast<const char*>(value), value_length);
  // The same names serve in response headers and trailers ("trailers-only" responses).
  if (key == ":status") {
    int status = 0;
    std::from_chars(text.data(), text.data() + text.size(), status);
    c->call_.http_status = status;
  } else if (key == "grpc-status") {
    c->call_.has_grpc_status = true;
    c->call_.grpc_status.assign(text);
  } else if (key == "grpc-message") {
    c->call_.grpc_message.assign(text);
  }
  return 0;
}

int Connection::onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                            size_t length, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (stream_id != c->call_.stream_id || c->call_.failure) return 0;
  if (!c->received_.feed({reinterpret_cast<const char*>(data), length})) {
    c->abort(c->received_.error());
    return 0;
  }
  if (c->call_.drop_messages) c->received_.dropReady();
  return 0;
}

int Connection::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                              void* self) {
  auto* c = static_cast<Connection*>(self);
  if (stream_id == c->call_.stream_id) {
    c->call_.closed = true;
    c->call_.reset_code = error_code;
  }
  return 0;
}

}  // namespace oak::rpc
