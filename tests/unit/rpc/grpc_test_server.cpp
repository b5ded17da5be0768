#include "grpc_test_server.h"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "rpc/framing.h"

namespace oak::rpc::testing {
namespace {

nghttp2_nv header(std::string_view name, std::string_view value) {
  auto bytes = [](std::string_view s) {
    return const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(s.data()));
  };
  return {bytes(name), bytes(value), name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

struct Request {
  int32_t id = 0;
  std::string method;  // after "/test.Test/"
  std::vector<std::pair<std::string, std::string>> headers;
  Deframer in{size_t{1} << 30};
  uint64_t received = 0;  // bytes of request messages
  std::string out;        // response body, framed
  size_t sent = 0;
  bool finished = false;  // `out` is complete
  bool trailers = true;   // false: END_STREAM on the last DATA frame, no status
  bool deferred = false;
};

// One connection: an nghttp2 server session on a blocking loop of its own.
class Session {
 public:
  Session(int fd, int stop_fd, GrpcTestServer& server)
      : fd_(fd), stop_fd_(stop_fd), server_(server) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, &Session::onSend);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Session::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cb, &Session::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Session::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Session::onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Session::onStreamClose);
    nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  }
  ~Session() { nghttp2_session_del(session_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run() {
    std::vector<uint8_t> buffer(64 << 10);
    for (;;) {
      blocked_ = false;
      if (nghttp2_session_send(session_) != 0 || close_) return;
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) return;
      pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (blocked_ ? POLLOUT : 0)), 0},
                       {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return;
      }
      if (nghttp2_session_mem_recv(session_, buffer.data(), static_cast<size_t>(n)) < 0) return;
      if (close_) return;
    }
  }

 private:
  Request* find(int32_t id) {
    auto it = requests_.find(id);
    return it == requests_.end() ? nullptr : it->second.get();
  }

  void respond(Request& r) {
    nghttp2_nv nva[] = {header(":status", "200"), header("content-type", "application/grpc")};
    nghttp2_data_provider provider{};
    provider.source.ptr = &r;
    provider.read_callback = &Session::onReadData;
    nghttp2_submit_response(session_, r.id, nva, 2, &provider);
  }

  void resume(Request& r) {
    if (!r.deferred) return;
    r.deferred = false;
    nghttp2_session_resume_data(session_, r.id);
  }

  void trailersOnly(Request& r, std::string_view status, std::string_view message) {
    nghttp2_nv nva[] = {header(":status", "200"), header("content-type", "application/grpc"),
                        header("grpc-status", status), header("grpc-message", message)};
    nghttp2_submit_response(session_, r.id, nva, 4, nullptr);
  }

  void onHeaders(Request& r) {
    server_.noteRequest();
    if (r.method == "Close") {
      close_ = true;
    } else if (r.method == "Http503") {
      nghttp2_nv nva[] = {header(":status", "503")};
      nghttp2_submit_response(session_, r.id, nva, 1, nullptr);
    } else if (r.method == "Bidi") {
      respond(r);
    }
  }

  // The request stream has ended.
  void onEnd(Request& r) {
    std::vector<std::string> messages;
    for (std::string m; r.in.next(m);) messages.push_back(std::move(m));
    std::string first = messages.empty() ? std::string() : messages.front();
    const std::string& m = r.method;
    if (m == "Hang" || m == "Close" || m == "Http503") return;
    if (m == "Bidi") {
      r.finished = true;
      resume(r);
      return;
    }
    if (m == "Error") {
      trailersOnly(r, "5", "no such thing: caf%C3%A9 100%25");
      return;
    }
    if (m == "Echo") {
      for (const auto& msg : messages) r.out += framed(msg);
    } else if (m == "Stream") {
      for (int i = 0, n = std::stoi(first); i < n; ++i)
        r.out += framed("message " + std::to_string(i));
    } else if (m == "Upload") {
      r.out = framed(std::to_string(r.received));
    } else if (m == "Big") {
      r.out = framed(std::string(std::stoul(first), 'x'));
    } else if (m == "Two") {
      r.out = framed("one") + framed("two");
    } else if (m == "Compressed") {
      r.out = std::string(
          "\x01\x00\x00\x00\x03"
          "abc",
          8);
    } else if (m == "NoStatus") {
      r.out = framed("x");
      r.trailers = false;
    } else if (m == "Headers") {
      std::string text;
      for (const auto& [k, v] : r.headers) text += k + ": " + v + "\n";
      r.out = framed(text);
    } else if (m != "Empty") {
      trailersOnly(r, "12", "unknown method " + m);
      return;
    }
    r.finished = true;
    respond(r);
  }

  static Session* self(void* p) { return static_cast<Session*>(p); }

  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* p) {
    ssize_t n = ::send(self(p)->fd_, data, length, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EINTR) {
      self(p)->blocked_ = true;
      return NGHTTP2_ERR_WOULDBLOCK;
    }
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto r = std::make_unique<Request>();
      r->id = frame->hd.stream_id;
      self(p)->requests_[r->id] = std::move(r);
    }
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* p) {
    Request* r = self(p)->find(frame->hd.stream_id);
    if (r == nullptr) return 0;
    std::string key(reinterpret_cast<const char*>(name), name_length);
    std::string text(reinterpret_cast<const char*>(value), value_length);
    constexpr std::string_view kService = "/test.Test/";
    if (key == ":path" && text.starts_with(kService)) r->method = text.substr(kService.size());
    r->headers.emplace_back(std::move(key), std::move(text));
    return 0;
  }

  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    Session* s = self(p);
    if (frame->hd.type == NGHTTP2_RST_STREAM) s->server_.noteReset();
    Request* r = s->find(frame->hd.stream_id);
    if (r == nullptr) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->onHeaders(*r);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      s->onEnd(*r);
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t length,
                         void* p) {
    Session* s = self(p);
    Request* r = s->find(id);
    if (r == nullptr) return 0;
    r->in.feed({reinterpret_cast<const char*>(data), length});
    if (r->method == "Upload") {
      // Counted as they come, so that megabytes are not kept.
      for (std::string m; r->in.next(m);) r->received += m.size();
    } else if (r->method == "Bidi") {
      for (std::string m; r->in.next(m);) r->out += framed(m);
      s->resume(*r);
    }
    return 0;
  }

  static ssize_t onReadData(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& r = *static_cast<Request*>(source->ptr);
    size_t n = std::min(length, r.out.size() - r.sent);
    std::memcpy(buf, r.out.data() + r.sent, n);
    r.sent += n;
    if (r.sent == r.out.size()) {
      if (r.finished) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (r.trailers) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          nghttp2_nv trailers[] = {header("grpc-status", "0")};
          nghttp2_submit_trailer(session, id, trailers, 1);
        }
        return static_cast<ssize_t>(n);
      }
      if (n == 0) {
        r.deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t, void* p) {
    self(p)->requests_.erase(id);
    return 0;
  }

  int fd_;
  int stop_fd_;
  GrpcTestServer& server_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Request>> requests_;
  bool close_ = false;
  bool blocked_ = false;
};

}  // namespace

GrpcTestServer::GrpcTestServer(std::string path)
    : path_(std::move(path)), stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (!listener_.valid() || !stop_.valid() ||
      ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener_.get(), 16) != 0) {
    throw std::runtime_error("test server at " + path_ + ": " + std::strerror(errno));
  }
  acceptor_ = std::thread([this] { acceptLoop(); });
}

GrpcTestServer::~GrpcTestServer() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_.get(), &one, sizeof(one));
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  listener_.reset();
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

bool GrpcTestServer::waitForRequests(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.load() >= n; });
}

void GrpcTestServer::noteRequest() {
  {
    std::lock_guard lock(mu_);
    ++requests_;
  }
  changed_.notify_all();
}

void GrpcTestServer::acceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(mu_);
    threads_.emplace_back([this, fd] { serve(UniqueFd(fd)); });
  }
}

void GrpcTestServer::serve(UniqueFd fd) {
  Session session(fd.get(), stop_.get(), *this);
  session.run();
  noteDisconnect();
}

}  // namespace oak::rpc::testing
