#pragma once
// A gRPC server for the channel's tests, on nghttp2's server API and a unix socket: one thread
// accepts, one thread serves each connection. Its methods (service /test.Test/) behave as the
// tests need:
//   Echo        answers with the request's messages, unchanged
//   Bidi        echoes each request message as soon as it is complete; OK after the half-close
//   Stream      request "N": answers "message 0" ... "message N-1"
//   Upload      answers with the total size of the request messages, in decimal
//   Big         request "N": answers one message of N bytes
//   Error       trailers-only: grpc-status 5 with a percent-encoded message
//   Empty, Two  OK with no message, with two messages
//   Compressed  one message with the compressed flag
//   NoStatus    a message and END_STREAM without trailers
//   Headers     answers with the request's headers, one "name: value" a line
//   Http503     HTTP status 503, nothing else
//   Hang        never answers
//   Close       closes the connection when the request's headers arrive

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace oak::rpc::testing {

class GrpcTestServer {
 public:
  // Listening when the constructor returns.
  explicit GrpcTestServer(std::string path);
  ~GrpcTestServer();  // closes every connection, removes the socket
  GrpcTestServer(const GrpcTestServer&) = delete;
  GrpcTestServer& operator=(const GrpcTestServer&) = delete;

  int connectionsAccepted() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }
  // RST_STREAM frames received, connections ended (by either side).
  int resets() const { return resets_.load(); }
  int disconnects() const { return disconnects_.load(); }
  // Bounded wait until `n` requests (their headers) have arrived in total.
  bool waitForRequests(int n, std::chrono::milliseconds timeout);

  // Called by connections.
  void noteRequest();
  void noteReset() { ++resets_; }
  void noteDisconnect() { ++disconnects_; }

 private:
  void acceptLoop();
  void serve(UniqueFd fd);

  std::string path_;
  UniqueFd listener_;
  UniqueFd stop_;  // an eventfd: readable once the server stops
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> resets_{0};
  std::atomic<int> disconnects_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace oak::rpc::testing
