#pragma once
// Runs an `HttpServer` on 127.0.0.1 with a free port, its event loop on a thread of its own.
// Tests add routes to `router_`, call `start()`, and talk to `port_` with real sockets.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "http/client.h"
#include "http/event_loop.h"
#include "http/server.h"

namespace oak::http::testing {

class ServerFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    auto s = HttpServer::start(loop_, options, router_);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      if (server_) onLoop([this] { server_->stop(); });
      loop_.stop();
      thread_.join();
    }
    server_.reset();
  }

  // Runs `fn` on the loop thread and waits (bounded) until it has run.
  ::testing::AssertionResult onLoop(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto ran = done->get_future();
    loop_.post([fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    if (ran.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return ::testing::AssertionFailure() << "the event loop did not run the task within 10 s";
    }
    return ::testing::AssertionSuccess();
  }

  // Stops the server from the loop thread, as a daemon's signal handler does.
  ::testing::AssertionResult stopServer() {
    return onLoop([this] { server_->stop(); });
  }

  Result<Response> send(Method m, std::string target, std::string body = {},
                        HeaderList headers = {}) {
    return fetch("127.0.0.1", port_,
                 ClientRequest{m, std::move(target), std::move(headers), std::move(body)},
                 std::chrono::seconds(10));
  }

  // The router must outlive the loop: pending sessions hold a reference until the loop dies.
  Router router_;
  EventLoop loop_{2};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// Value of a (lower-case) response header, or "" when absent.
inline std::string headerOf(const Response& r, std::string_view lower_name) {
  for (const auto& [k, v] : r.headers) {
    if (k == lower_name) return v;
  }
  return {};
}

}  // namespace oak::http::testing
