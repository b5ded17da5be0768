#pragma once
// A TCP server on 127.0.0.1 that accepts connections and never answers: a registry or file
// server that hangs, for tests of timeouts and cancellation.

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace oak::testing {

class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<int> accepted_;  // kept open until the end
  std::thread thread_;
};

}  // namespace oak::testing
