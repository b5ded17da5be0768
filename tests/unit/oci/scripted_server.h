#pragma once
// An HTTP/1.1 server on loopback whose answers each test writes byte for byte: chunked bodies,
// stalls, early closes, TLS, proxy tunnels. Every connection is served on a thread of its own,
// where the script runs; records are guarded by a mutex.

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace oak::oci::testing {

// Whether a request head has this line ("Accept-Encoding: identity").
bool hasLine(std::string_view head, std::string_view line);

// One request on a connection, and the means to answer it.
class Exchange {
 public:
  Exchange(int fd, SSL* tls, std::string request)
      : fd_(fd), tls_(tls), request_(std::move(request)) {}

  // The request head, up to and without the blank line.
  const std::string& request() const { return request_; }
  bool write(std::string_view bytes);
  // Keeps the connection open and silent until the client closes it or the server stops.
  void stall();
  // Closes the connection once the script returns, whatever the answer said.
  void close() { close_ = true; }
  bool closing() const { return close_; }
  // Pipes the connection to 127.0.0.1:`port` both ways until either side closes (plain only).
  void relayTo(uint16_t port);

 private:
  int fd_;
  SSL* tls_;
  std::string request_;
  bool close_ = false;
};

using Script = std::function<void(Exchange&)>;

class ScriptedServer {
 public:
  // Listens on 127.0.0.1, or ::1 when `ipv6`; speaks TLS with `tls` (not owned) when set.
  explicit ScriptedServer(Script script, bool ipv6 = false, SSL_CTX* tls = nullptr);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  bool listening() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/") const;  // "http://127.0.0.1:PORT/path"

  int connections() const;
  std::vector<std::string> requests() const;

 private:
  void acceptLoop();
  void serve(int fd);
  bool readHead(int fd, SSL* tls, std::string& pending, std::string& head);

  Script script_;
  bool ipv6_;
  SSL_CTX* tls_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;

  mutable std::mutex mutex_;
  bool stopping_ = false;
  int connections_ = 0;
  std::vector<std::string> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace oak::oci::testing
