#pragma once
// A connection to containerd's gRPC API on its unix socket, scoped to one containerd namespace
// (every request carries it). gRPC and protobuf types stay in client.cpp so that users of this
// header do not compile them.
//
// Calls block the calling thread for at most their deadline: call them at start-up or from a
// blocking pool (EventLoop::runBlocking), not from the event loop thread.

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"

namespace oak::worker::containerd {

inline constexpr char kDefaultSocket[] = "/run/containerd/containerd.sock";
inline constexpr char kDefaultNamespace[] = "oakestra";
inline constexpr std::chrono::milliseconds kDefaultDeadline = std::chrono::seconds(5);

class ContainerdClient {
 public:
  // kUnavailable when nothing is at `socket_path` or it is not a socket. Does not talk to the
  // daemon yet: the first call does (and waits for it up to its deadline).
  static Result<std::unique_ptr<ContainerdClient>> connect(std::string socket_path = kDefaultSocket,
                                                           std::string ns = kDefaultNamespace);
  ~ContainerdClient();
  ContainerdClient(const ContainerdClient&) = delete;
  ContainerdClient& operator=(const ContainerdClient&) = delete;

  // The daemon's version ("1.6.20~ds1"); kUnavailable when it does not answer within `deadline`.
  Result<std::string> version(std::chrono::milliseconds deadline = kDefaultDeadline);

  const std::string& socketPath() const;
  const std::string& containerdNamespace() const;

 private:
  struct Impl;
  explicit ContainerdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::worker::containerd
