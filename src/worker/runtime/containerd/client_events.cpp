// The task-exit event stream, on a thread of its own because reading a stream blocks.
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {
namespace {

class ExitSubscription final : public ContainerdClient::Subscription {
 public:
  ExitSubscription(std::shared_ptr<ContainerdClient::Impl> impl,
                   std::function<void(TaskExit)> on_exit, std::function<void(bool)> on_state)
      : impl_(std::move(impl)), on_exit_(std::move(on_exit)), on_state_(std::move(on_state)) {
    thread_ = std::thread([this] { run(); });
  }

  ~ExitSubscription() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (stream_) stream_->cancel();
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    auto backoff = std::chrono::milliseconds(100);
    bool was_connected = true;  // the caller assumes a working stream at first
    while (!stopped()) {
      api::events::SubscribeRequest req;
      req.add_filters("namespace==" + impl_->ns + ",topic==\"/tasks/exit\"");
      // Only subscribe once the daemon answers, so that "connected" means connected.
      bool open = impl_->channel->waitForConnected(backoff);
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        if (open) {
          stream_ = std::make_unique<Stream>(*impl_, "", std::chrono::milliseconds(0),
                                             api::kEventsSubscribe);
        }
      }
      rpc::CallStatus status{rpc::StatusCode::kUnavailable, "not connected"};
      if (open) {
        backoff = std::chrono::milliseconds(100);
        if (!was_connected) on_state_(true);
        was_connected = true;
        stream_->writeLast(req);
        api::events::Envelope envelope;
        while (stream_->read(envelope)) deliver(envelope);
        status = stream_->finish();
        std::lock_guard lock(mu_);
        stream_.reset();
      }
      if (stopped()) return;
      if (was_connected) {
        spdlog::warn("containerd: event stream ended: {}", status.message);
        on_state_(false);
        was_connected = false;
      }
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }

  void deliver(const api::events::Envelope& envelope) {
    ::containerd::events::TaskExit exit;
    if (!exit.ParseFromString(envelope.event().value())) {
      spdlog::warn("containerd: undecodable {} event", envelope.topic());
      return;
    }
    on_exit_(TaskExit{exit.container_id(), exit.id(), exit.exit_status()});
  }

  bool stopped() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  std::shared_ptr<ContainerdClient::Impl> impl_;
  std::function<void(TaskExit)> on_exit_;
  std::function<void(bool)> on_state_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  using Stream = TypedStream<api::events::SubscribeRequest, api::events::Envelope>;
  std::unique_ptr<Stream> stream_;  // guarded by mu_ (cancelled from the destructor)
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ContainerdClient::Subscription> ContainerdClient::subscribeExits(
    std::function<void(TaskExit)> on_exit, std::function<void(bool connected)> on_state) {
  return std::make_unique<ExitSubscription>(impl_, std::move(on_exit), std::move(on_state));
}

}  // namespace oak::worker::containerd
