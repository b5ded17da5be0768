#include "http/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <csignal>
#include <optional>

namespace oak {

struct EventLoop::Impl {
  boost::asio::io_context io{1};
  boost::asio::thread_pool pool;
  std::optional<boost::asio::signal_set> signals;
  explicit Impl(unsigned n) : pool(n) {}
};

EventLoop::EventLoop(unsigned blocking_threads)
    : impl_(std::make_unique<Impl>(blocking_threads == 0 ? 1 : blocking_threads)) {}

EventLoop::~EventLoop() {
  impl_->pool.join();
}

void EventLoop::run() {
  auto guard = boost::asio::make_work_guard(impl_->io);
  impl_->io.run();
}

void EventLoop::stop() {
  impl_->io.stop();
}

void EventLoop::post(std::function<void()> fn) {
  boost::asio::post(impl_->io, std::move(fn));
}

void EventLoop::runBlocking(std::function<void()> work, std::function<void()> done) {
  boost::asio::post(impl_->pool, [this, work = std::move(work), done = std::move(done)]() mutable {
    work();
    boost::asio::post(impl_->io, std::move(done));
  });
}

void EventLoop::onTerminate(std::function<void(int)> fn) {
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  impl_->signals->async_wait([fn = std::move(fn)](const boost::system::error_code& ec, int sig) {
    if (!ec) fn(sig);
  });
}

boost::asio::io_context& EventLoop::context() {
  return impl_->io;
}

}  // namespace oak
