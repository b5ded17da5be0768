#include "worker/overlay/serial_runner.h"

namespace oak::worker {

void SerialRunner::run(std::function<void()> work, std::function<void()> done) {
  queue_.push_back({std::move(work), std::move(done)});
  if (!busy_) next();
}

void SerialRunner::next() {
  if (queue_.empty()) {
    busy_ = false;
    return;
  }
  busy_ = true;
  Job job = std::move(queue_.front());
  queue_.pop_front();
  runner_.runBlocking(std::move(job.work), [this, done = std::move(job.done)] {
    done();
    next();
  });
}

}  // namespace oak::worker
