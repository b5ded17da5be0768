#include "http/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <csignal>
#include <optional>
#include <thread>

namespace oak {

struct EventLoop::Impl {
  boost::asio::io_context io{1};
  std::atomic<int> blocking_pending{0};
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

void EventLoop::joinBlocking() {
  impl_->pool.join();
}

void EventLoop::post(std::function<void()> fn) {
  boost::asio::post(impl_->io, std::move(fn));
}

void EventLoop::runBlocking(std::function<void()> work, std::function<void()> done) {
  ++impl_->blocking_pending;
  boost::asio::post(impl_->pool, [this, work = std::move(work), done = std::move(done)]() mutable {
    work();
    boost::asio::post(impl_->io, [this, done = std::move(done)] {
      --impl_->blocking_pending;
      done();
    });
  });
}

void EventLoop::drain() {
  for (;;) {
    impl_->io.restart();
    size_t ran = impl_->io.poll();
    if (ran == 0 && impl_->blocking_pending.load() == 0) return;
    if (ran == 0) std::this_thread::yield();
  }
}

void EventLoop::onTerminate(std::function<void(int)> fn) {
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  impl_->signals->async_wait([fn = std::move(fn)](const boost::system::error_code& ec, int sig) {
    if (!ec) fn(sig);
  });
}

namespace {

class PeriodicTimer final : public EventLoop::Periodic {
 public:
  PeriodicTimer(boost::asio::io_context& io, std::chrono::milliseconds period,
                std::function<void()> fn)
      : state_(std::make_shared<State>(io, period, std::move(fn))) {
    arm(state_);
  }
  ~PeriodicTimer() override {
    state_->cancelled = true;
    state_->timer.cancel();
  }

 private:
  struct State {
    State(boost::asio::io_context& io, std::chrono::milliseconds p, std::function<void()> f)
        : timer(io), period(p), fn(std::move(f)) {}
    boost::asio::steady_timer timer;
    std::chrono::milliseconds period;
    std::function<void()> fn;
    bool cancelled = false;
  };
  // The pending wait holds the state, so it outlives the handle until the wait completes.
  static void arm(const std::shared_ptr<State>& s) {
    s->timer.expires_after(s->period);
    s->timer.async_wait([s](const boost::system::error_code& ec) {
      if (ec || s->cancelled) return;
      s->fn();
      if (!s->cancelled) arm(s);
    });
  }
  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<EventLoop::Periodic> EventLoop::every(std::chrono::milliseconds period,
                                                      std::function<void()> fn) {
  return std::make_unique<PeriodicTimer>(impl_->io, period, std::move(fn));
}

boost::asio::io_context& EventLoop::context() {
  return impl_->io;
}

}  // namespace oak
