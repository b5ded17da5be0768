#pragma once
// A plain blocking TCP client for tests that must control the bytes on the wire (malformed
// requests, `Expect: 100-continue`, pipelining, watching a connection close). Every read is
// bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace oak::http::testing {

using namespace std::chrono_literals;

// One HTTP response as read off the wire; `status` is 0 when none could be read.
struct RawResponse {
  int status = 0;
  std::string head;  // status line and header lines as received
  std::string body;
  // Value of the first header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port`; nullptr when the connection is refused.
  static std::unique_ptr<RawSocket> connect(uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool sendAll(std::string_view data);
  // Reads one response with a Content-Length (or none, for 1xx/204 and HEAD answers when
  // `head_request` is set). Bytes past the response stay buffered for the next call.
  RawResponse readResponse(bool head_request = false, std::chrono::milliseconds timeout = 5s);
  // Reads until the peer closes. Returns false on timeout; `rest` gets what arrived meanwhile.
  bool waitForClose(std::chrono::milliseconds timeout, std::string* rest = nullptr);

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  // Appends what arrives within `deadline`; false on timeout, error or EOF (sets `eof_`).
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace oak::http::testing
