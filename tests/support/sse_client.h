#pragma once
// A blocking client for streamed responses (chunked transfer-encoding carrying Server-Sent
// Events), for tests. It reads exactly what the server sent: events in order, keep-alive
// comments counted, the terminating chunk or the connection's end noticed. Every read has a
// deadline.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace oak::testing {

class SseClient {
 public:
  struct Options {
    std::string token;  // sent as "Authorization: Bearer <token>" when set
    // SO_RCVBUF before connecting (0: the system's): a small one makes a slow reader quickly.
    int receive_buffer = 0;
    std::chrono::milliseconds head_timeout{10'000};
  };
  // Sends `GET target` to 127.0.0.1:`port` and reads the head (and a non-streamed body). Nullptr
  // when no response head arrives.
  static std::unique_ptr<SseClient> open(uint16_t port, const std::string& target, Options options);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int status() const { return status_; }
  // First header `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // The whole body of a response that was not streamed.
  const std::string& body() const { return body_; }

  // The data of the next event; nullopt when none arrives before `timeout` or the stream ended.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits until the stream ends (terminating chunk or closed connection); false on timeout.
  bool waitForEnd(std::chrono::milliseconds timeout);
  // The server sent its terminating chunk (a complete body), or the connection ended.
  bool complete() const { return complete_; }
  bool closed() const { return eof_; }
  size_t comments() const { return comments_; }
  // Closes the connection (the client "disconnects").
  void close();

 private:
  explicit SseClient(int fd) : fd_(fd) {}
  // Appends what arrives before `deadline` to `raw_`; false on timeout or end of input.
  bool fill(std::chrono::steady_clock::time_point deadline);
  // Moves complete chunks from `raw_` to `text_`.
  void decodeChunks();

  int fd_;
  int status_ = 0;
  std::string head_;
  std::string body_;
  bool chunked_ = false;
  std::string raw_;   // bytes received and not yet decoded
  std::string text_;  // decoded body not yet parsed into events
  bool complete_ = false;
  bool eof_ = false;
  size_t comments_ = 0;
};

}  // namespace oak::testing
