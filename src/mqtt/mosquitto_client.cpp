#include "mqtt/mosquitto_client.h"

#include <fcntl.h>
#include <mosquitto.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "http/event_loop.h"

namespace oak::mqtt {
namespace asio = boost::asio;

namespace {

constexpr size_t kMaxPayload = 268'435'455;  // MQTT remaining-length limit
constexpr int kReadBurst = 64;               // packets read before yielding to other handlers
constexpr auto kTick = std::chrono::seconds(1);
constexpr uint64_t kDropWarnEvery = 100;

void initLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    mosquitto_lib_init();
    // libmosquitto writes with write(2): a peer reset must be an error, not a fatal signal.
    std::signal(SIGPIPE, SIG_IGN);
  });
}

std::string_view connackReason(int rc) {
  switch (rc) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client id rejected";
    case 3:
      return "broker unavailable";
    case 4:
      return "bad username or password";
    case 5:
      return "not authorized";
    default:
      return "refused";
  }
}

bool readableNow(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

std::string errorText(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(saved_errno);
  if (rc == MOSQ_ERR_CONN_LOST) return "closed by the broker";
  return mosquitto_strerror(rc);
}

Status validate(const ClientOptions& o) {
  auto bad = [](std::string what) { return makeError(ErrorCode::kInvalidArgument, what); };
  if (o.host.empty()) return bad("host: must not be empty");
  if (o.port == 0) return bad("port: must not be 0");
  auto ka = o.keepalive.count();
  if (ka != 0 && (ka < 5 || ka > 65535)) return bad("keepalive: must be 0 or 5..65535 seconds");
  if (o.reconnect_min.count() <= 0) return bad("reconnect_min: must be positive");
  if (o.reconnect_max < o.reconnect_min) return bad("reconnect_max: must be >= reconnect_min");
  if (o.max_queued == 0) return bad("max_queued: must be positive");
  if (o.client_id.size() > 65535) return bad("client_id: longer than 65535 bytes");
  if (o.username.empty() && !o.password.empty()) return bad("password: given without username");
  return {};
}

}  // namespace

// All state lives here, shared with pending Asio handlers through weak pointers: a handler that
// fires after the client died finds nothing and returns.
struct MosquittoClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    std::string topic;
    std::string payload;
    int qos;
  };

  Impl(EventLoop& l, ClientOptions o)
      : loop(l),
        io(l.context()),
        opts(std::move(o)),
        endpoint(fmt::format("{}:{}", opts.host, opts.port)),
        as_user(opts.username.empty() ? "" : fmt::format(" as '{}'", opts.username)),
        resolver(io),
        reconnect_timer(io),
        tick_timer(io),
        backoff(opts.reconnect_min) {}
  ~Impl() { shutdown(); }

  EventLoop& loop;
  asio::io_context& io;
  ClientOptions opts;
  std::string endpoint;  // "host:port", for log lines
  std::string as_user;   // " as 'name'" or "", for log lines
  mosquitto* mosq = nullptr;

  // Asio watches a dup() of libmosquitto's socket: it owns its descriptor outright, so closing
  // or reusing libmosquitto's number can never confuse the reactor.
  std::optional<asio::posix::stream_descriptor> socket;
  int socket_fd = -1;       // libmosquitto's descriptor that `socket` mirrors
  uint64_t generation = 0;  // bumped whenever `socket` changes; stale handlers ignore themselves
  bool read_armed = false;
  bool write_armed = false;
  bool in_library = false;  // inside a libmosquitto callback: no re-entrant I/O

  asio::ip::tcp::resolver resolver;
  asio::steady_timer reconnect_timer;
  asio::steady_timer tick_timer;
  bool reconnect_pending = false;
  std::chrono::milliseconds backoff;
  bool is_connected = false;
  bool stopping = false;
  bool failing = false;  // a streak of failed attempts was reported; stay quiet until it ends

  std::vector<std::pair<std::string, int>> subscriptions;
  std::deque<Pending> queue;
  uint64_t dropped = 0;
  uint64_t auth_failures = 0;
  uint64_t auth_streak = 0;  // refusals since the last success or credential change
  uint64_t attempts = 0;
  std::function<void(const Message&)> on_message;
  std::function<void(bool)> on_connection;

  Status init() {
    mosq = mosquitto_new(opts.client_id.empty() ? nullptr : opts.client_id.c_str(), true, this);
    if (!mosq) {
      return makeError(
          ErrorCode::kInvalidArgument,
          fmt::format("client_id: rejected by libmosquitto ({})", std::strerror(errno)));
    }
    OAK_TRY(applyCredentials());
    if (opts.tcp_nodelay) mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq, &Impl::onConnectThunk);
    mosquitto_disconnect_callback_set(mosq, &Impl::onDisconnectThunk);
    mosquitto_message_callback_set(mosq, &Impl::onMessageThunk);
    mosquitto_log_callback_set(mosq, [](mosquitto*, void*, int, const char* line) {
      spdlog::trace("libmosquitto: {}", line);
    });
    return {};
  }

  Status applyCredentials() {
    const char* user = opts.username.empty() ? nullptr : opts.username.c_str();
    const char* pw = opts.password.empty() ? nullptr : opts.password.c_str();
    int rc = mosquitto_username_pw_set(mosq, user, pw);
    if (rc != MOSQ_ERR_SUCCESS) {
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("username: {}", mosquitto_strerror(rc)));
    }
    return {};
  }

  void start() {
    post([](Impl& self) {
      self.tick();
      self.attempt();
    });
  }

  void shutdown() {
    if (stopping) return;
    stopping = true;
    resolver.cancel();
    reconnect_timer.cancel();
    tick_timer.cancel();
    if (mosq) {
      if (is_connected) mosquitto_disconnect(mosq);  // best effort: the broker drops us cleanly
      dropSocket();
      mosquitto_destroy(mosq);
      mosq = nullptr;
    }
    is_connected = false;
    on_message = nullptr;
    on_connection = nullptr;
  }

  // Runs `fn` later on the loop, unless the client is gone by then.
  template <class Fn>
  void post(Fn fn) {
    asio::post(io, [w = weak_from_this(), fn = std::move(fn)] {
      if (auto self = w.lock(); self && !self->stopping) fn(*self);
    });
  }

  // --- connecting ---------------------------------------------------------------------------

  void attempt() {
    if (stopping) return;
    resolver.async_resolve(
        opts.host, std::to_string(opts.port),
        [w = weak_from_this()](const boost::system::error_code& ec,
                               const asio::ip::tcp::resolver::results_type& results) {
          auto self = w.lock();
          if (!self || self->stopping || ec == asio::error::operation_aborted) return;
          if (ec || results.empty()) {
            self->reportFailure(fmt::format("cannot resolve {}: {}", self->opts.host,
                                            ec ? ec.message() : "no address"));
            self->scheduleReconnect();
            return;
          }
          self->connectTo(results.begin()->endpoint().address().to_string());
        });
  }

  void connectTo(const std::string& address) {
    dropSocket();
    ++attempts;
    int keepalive = static_cast<int>(opts.keepalive.count());
    int rc = mosquitto_connect_async(mosq, address.c_str(), opts.port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
      reportFailure(errorText(rc, errno));
      scheduleReconnect();
      return;
    }
    sync();
  }

  void scheduleReconnect() {
    if (stopping || reconnect_pending) return;
    reconnect_pending = true;
    auto delay = backoff;
    backoff = std::min(backoff * 2, opts.reconnect_max);
    reconnect_timer.expires_after(delay);
    reconnect_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || self->stopping || ec) return;
      self->reconnect_pending = false;
      self->attempt();
    });
  }

  void reportFailure(const std::string& why) {
    if (!failing) {
      spdlog::warn("mqtt: cannot connect to {}{}: {}; retrying with backoff up to {} ms", endpoint,
                   as_user, why, opts.reconnect_max.count());
      failing = true;
    } else {
      spdlog::debug("mqtt: cannot connect to {}{}: {}", endpoint, as_user, why);
    }
  }

  // Drives keepalive (PINGREQ, and the timeout of a silent broker or a hanging connect).
  void tick() {
    if (mosq) {
      mosquitto_loop_misc(mosq);
      sync();  // also retries watching a socket that could not be registered
    }
    tick_timer.expires_after(kTick);
    tick_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (self && !self->stopping && !ec) self->tick();
    });
  }

  // --- socket plumbing ----------------------------------------------------------------------

  void dropSocket() {
    if (socket) {
      boost::system::error_code ignored;
      socket->close(ignored);
      socket.reset();
    }
    socket_fd = -1;
    ++generation;
    read_armed = write_armed = false;
  }

  // Registers a copy of libmosquitto's socket with Asio; the 1 s tick retries a failure.
  bool watch(int fd) {
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    boost::system::error_code ec;
    if (copy >= 0) {
      socket.emplace(io);
      socket->assign(copy, ec);
    }
    if (copy < 0 || ec) {
      spdlog::error("mqtt: cannot watch the socket: {}",
                    ec ? ec.message() : std::string(std::strerror(errno)));
      if (copy >= 0 && ec) ::close(copy);
      socket.reset();
      return false;
    }
    socket_fd = fd;
    return true;
  }

  // Brings the Asio side in line with libmosquitto after any call into it: follows socket
  // changes, flushes pending output and keeps a read wait armed.
  void sync() {
    if (!mosq || in_library) return;
    int fd = mosquitto_socket(mosq);
    if (fd != socket_fd) {
      dropSocket();
      if (fd < 0) return;
      if (!watch(fd)) return;
    }
    if (!socket) return;
    // Waits are edge-triggered: write as far as the socket takes it now and wait only after a
    // short write, and never wait for bytes that are already buffered.
    if (!write_armed && mosquitto_want_write(mosq)) {
      mosquitto_loop_write(mosq, 1);
      if (mosquitto_socket(mosq) != socket_fd) return sync();
      if (mosquitto_want_write(mosq)) armWrite();
    }
    if (!read_armed) armRead();
  }

  void armRead() {
    read_armed = true;
    if (readableNow(socket_fd)) {
      asio::post(io, [w = weak_from_this(), gen = generation] {
        if (auto self = w.lock(); self && self->current(gen)) self->onReadable();
      });
      return;
    }
    socket->async_wait(asio::posix::descriptor_base::wait_read,
                       [w = weak_from_this(), gen = generation](const boost::system::error_code&) {
                         if (auto self = w.lock(); self && self->current(gen)) self->onReadable();
                       });
  }

  void armWrite() {
    write_armed = true;
    socket->async_wait(asio::posix::descriptor_base::wait_write,
                       [w = weak_from_this(), gen = generation](const boost::system::error_code&) {
                         auto self = w.lock();
                         if (!self || !self->current(gen)) return;
                         self->write_armed = false;
                         self->onWritable();
                       });
  }

  bool current(uint64_t gen) const { return !stopping && gen == generation; }

  void onWritable() {
    mosquitto_loop_write(mosq, 1);
    sync();
  }

  void onReadable() {
    read_armed = false;
    for (int i = 0; i < kReadBurst; ++i) {
      mosquitto_loop_read(mosq, 1);
      int fd = mosquitto_socket(mosq);
      if (fd < 0 || fd != socket_fd || !readableNow(fd)) break;
    }
    sync();  // re-arms the read (or re-posts it when bytes are still buffered)
  }

  // --- libmosquitto callbacks (run inside loop_read/loop_misc, on the loop thread) ----------

  static void onConnectThunk(mosquitto*, void* self, int rc) {
    static_cast<Impl*>(self)->guarded([rc](Impl& s) { s.onConnect(rc); });
  }
  static void onDisconnectThunk(mosquitto*, void* self, int rc) {
    int saved_errno = errno;
    static_cast<Impl*>(self)->guarded(
        [rc, saved_errno](Impl& s) { s.onDisconnect(rc, saved_errno); });
  }
  static void onMessageThunk(mosquitto*, void* self, const mosquitto_message* m) {
    static_cast<Impl*>(self)->guarded([m](Impl& s) { s.onLibraryMessage(*m); });
  }

  template <class Fn>
  void guarded(Fn fn) {
    if (stopping) return;
    in_library = true;
    fn(*this);
    in_library = false;
  }

  void onConnect(int rc) {
    if (rc != 0) {
      bool auth = rc == 4 || rc == 5;
      if (auth) {
        ++auth_failures;
        ++auth_streak;
      }
      spdlog::error("mqtt: broker {} refused the connection{}: {}{}; retrying in {} ms", endpoint,
                    opts.username.empty() ? " (anonymous)" : " of user '" + opts.username + "'",
                    connackReason(rc), auth ? " (check the MQTT credentials)" : "",
                    backoff.count());
      failing = true;  // the disconnect that follows is part of this failure
      return;
    }
    is_connected = true;
    failing = false;
    auth_streak = 0;
    backoff = opts.reconnect_min;
    spdlog::info("mqtt: connected to {}{}", endpoint, as_user);
    for (const auto& [pattern, qos] : subscriptions) {
      int src = mosquitto_subscribe(mosq, nullptr, pattern.c_str(), qos);
      if (src != MOSQ_ERR_SUCCESS) {
        spdlog::error("mqtt: cannot subscribe to '{}': {}", pattern, mosquitto_strerror(src));
      }
    }
    while (!queue.empty() && is_connected) {
      Pending& p = queue.front();
      if (!send(p.topic, p.payload, p.qos)) break;
      queue.pop_front();
    }
    emitConnection(true);
  }

  void onDisconnect(int rc, int saved_errno) {
    bool was = is_connected;
    is_connected = false;
    if (was) {
      spdlog::warn("mqtt: connection to {}{} lost ({}); reconnecting", endpoint, as_user,
                   rc == MOSQ_ERR_SUCCESS ? "closed" : errorText(rc, saved_errno));
      emitConnection(false);
    } else if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_REFUSED) {
      reportFailure(errorText(rc, saved_errno));
    }
    scheduleReconnect();
  }

  void onLibraryMessage(const mosquitto_message& m) {
    Message msg{m.topic ? m.topic : "", std::string(static_cast<const char*>(m.payload),
                                                    static_cast<size_t>(m.payloadlen))};
    post([msg = std::move(msg)](Impl& self) {
      if (auto cb = self.on_message) cb(msg);
    });
  }

  void emitConnection(bool up) {
    post([up](Impl& self) {
      if (auto cb = self.on_connection) cb(up);
    });
  }

  // --- publishing ---------------------------------------------------------------------------

  // False when libmosquitto has no connection (the caller queues the message).
  bool send(const std::string& topic, const std::string& payload, int qos) {
    int rc = mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                               payload.data(), qos, false);
    if (rc == MOSQ_ERR_NO_CONN) return false;
    if (rc != MOSQ_ERR_SUCCESS) {
      spdlog::error("mqtt: cannot publish to '{}': {}", topic, mosquitto_strerror(rc));
    }
    return true;
  }

  void enqueue(std::string topic, std::string payload, int qos) {
    if (queue.size() >= opts.max_queued) {
      queue.pop_front();
      if (++dropped % kDropWarnEvery == 1) {
        spdlog::warn("mqtt: offline queue full ({} messages); dropped the oldest ({} so far)",
                     opts.max_queued, dropped);
      }
    }
    queue.push_back(Pending{std::move(topic), std::move(payload), qos});
  }
};

Result<std::unique_ptr<MosquittoClient>> MosquittoClient::create(EventLoop& loop,
                                                                 ClientOptions options) {
  OAK_TRY(validate(options));
  initLibrary();
  auto impl = std::make_shared<Impl>(loop, std::move(options));
  OAK_TRY(impl->init());
  impl->start();
  return std::unique_ptr<MosquittoClient>(new MosquittoClient(std::move(impl)));
}

MosquittoClient::MosquittoClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MosquittoClient::~MosquittoClient() {
  impl_->shutdown();
}

void MosquittoClient::publish(const std::string& topic, std::string payload, int qos) {
  Impl& s = *impl_;
  if (s.stopping) return;
  if (qos < 0 || qos > 2 || topic.empty() ||
      mosquitto_pub_topic_check2(topic.data(), topic.size()) != MOSQ_ERR_SUCCESS ||
      payload.size() > kMaxPayload) {
    spdlog::error("mqtt: dropped an invalid publish (topic '{}', qos {}, {} bytes)", topic, qos,
                  payload.size());
    return;
  }
  if (s.is_connected && s.send(topic, payload, qos)) {
    s.sync();
    return;
  }
  s.enqueue(topic, std::move(payload), qos);
}

void MosquittoClient::subscribe(const std::string& pattern, int qos) {
  Impl& s = *impl_;
  if (s.stopping) return;
  if (qos < 0 || qos > 2 || !validFilter(pattern) ||
      mosquitto_sub_topic_check2(pattern.data(), pattern.size()) != MOSQ_ERR_SUCCESS) {
    spdlog::error("mqtt: ignored an invalid subscription ('{}', qos {})", pattern, qos);
    return;
  }
  auto it = std::find_if(s.subscriptions.begin(), s.subscriptions.end(),
                         [&](const auto& sub) { return sub.first == pattern; });
  if (it != s.subscriptions.end()) {
    it->second = qos;
  } else {
    s.subscriptions.emplace_back(pattern, qos);
  }
  if (!s.is_connected) return;
  int rc = mosquitto_subscribe(s.mosq, nullptr, pattern.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
    spdlog::error("mqtt: cannot subscribe to '{}': {}", pattern, mosquitto_strerror(rc));
  }
  s.sync();
}

void MosquittoClient::onMessage(std::function<void(const Message&)> cb) {
  impl_->on_message = std::move(cb);
}

void MosquittoClient::onConnectionChange(std::function<void(bool)> cb) {
  impl_->on_connection = std::move(cb);
}

bool MosquittoClient::connected() const {
  return impl_->is_connected;
}

uint64_t MosquittoClient::droppedMessages() const {
  return impl_->dropped;
}

uint64_t MosquittoClient::authFailures() const {
  return impl_->auth_failures;
}

uint64_t MosquittoClient::consecutiveAuthFailures() const {
  return impl_->auth_streak;
}

Status MosquittoClient::setCredentials(const std::string& username, const std::string& password) {
  Impl& s = *impl_;
  if (s.stopping) return {};
  if (username.empty() && !password.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "password: given without username");
  }
  s.opts.username = username;
  s.opts.password = password;
  s.as_user = username.empty() ? "" : fmt::format(" as '{}'", username);
  OAK_TRY(s.applyCredentials());
  s.auth_streak = 0;
  s.backoff = s.opts.reconnect_min;
  if (s.reconnect_pending) {
    s.reconnect_timer.cancel();
    s.reconnect_pending = false;
    s.attempt();
  }
  return {};
}

size_t MosquittoClient::queuedMessages() const {
  return impl_->queue.size();
}

uint64_t MosquittoClient::connectAttempts() const {
  return impl_->attempts;
}

}  // namespace oak::mqtt
