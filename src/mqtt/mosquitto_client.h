#pragma once
// `MessageBus` over libmosquitto (MQTT 3.1.1, clean sessions), driven by the EventLoop itself:
// libmosquitto runs without its own thread; its socket is watched through Asio and its keepalive
// runs from a loop timer, so every libmosquitto call and every callback happens on the loop thread
// (see docs/design/mqtt.md for why this beats mosquitto_loop_start here).
//
// The client connects in the background: `create` succeeds while the broker is down, and the
// client retries with exponential backoff until it is destroyed. Create, use and destroy it on
// the loop thread (or while the loop is not running), and destroy it before the loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "mqtt/bus.h"

namespace oak {
class EventLoop;
}

namespace oak::mqtt {

struct ClientOptions {
  std::string host = "127.0.0.1";  // resolved asynchronously before every attempt
  uint16_t port = 10003;
  std::string client_id;  // empty: the broker assigns one
  std::string username;   // empty: anonymous
  std::string password;
  std::chrono::seconds keepalive{5};  // 0 (off) or 5..65535 s; also bounds a silent connect
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  size_t max_queued = 1000;  // offline publish queue
  // Sends small packets at once instead of waiting for the ACK of the previous ones (Nagle):
  // for request/response traffic such as account commands.
  bool tcp_nodelay = false;
};

class MosquittoClient final : public MessageBus {
 public:
  // Fails only on invalid options; connecting happens in the background.
  static Result<std::unique_ptr<MosquittoClient>> create(EventLoop& loop, ClientOptions options);
  ~MosquittoClient() override;
  MosquittoClient(const MosquittoClient&) = delete;
  MosquittoClient& operator=(const MosquittoClient&) = delete;

  void publish(const std::string& topic, std::string payload, int qos = 1) override;
  void subscribe(const std::string& pattern, int qos = 1) override;
  void onMessage(std::function<void(const Message&)> cb) override;
  void onConnectionChange(std::function<void(bool connected)> cb) override;
  bool connected() const override;

  // Publishes dropped because the offline queue was full.
  uint64_t droppedMessages() const;
  // Connection attempts the broker refused for bad credentials or missing authorization.
  uint64_t authFailures() const;
  // Such refusals since the last successful connect (or credential change).
  uint64_t consecutiveAuthFailures() const;
  // New credentials for the next attempts; when the client is waiting to reconnect it tries at
  // once, with the backoff reset. A live connection is kept.
  Status setCredentials(const std::string& username, const std::string& password);
  // Publishes waiting for the next connect.
  size_t queuedMessages() const;
  // TCP connection attempts so far (for diagnostics).
  uint64_t connectAttempts() const;

 private:
  struct Impl;
  explicit MosquittoClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace oak::mqtt
