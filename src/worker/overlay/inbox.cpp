#include "worker/overlay/inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace oak::worker {

Status Inbox::open() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return makeError(ErrorCode::kUnavailable, std::string("eventfd: ") + std::strerror(errno));
  }
  wake_ = UniqueFd(fd);
  return {};
}

void Inbox::setTable(std::shared_ptr<const overlay::ServiceTable> table) {
  {
    std::lock_guard lock(mutex_);
    mail_.table = std::move(table);
  }
  wakeUp();
}

void Inbox::queryDone(const std::string& address, bool found) {
  {
    std::lock_guard lock(mutex_);
    mail_.answers.emplace_back(address, found);
  }
  wakeUp();
}

void Inbox::stop() {
  stopping_ = true;
  wakeUp();
}

overlay::ProxyCounters Inbox::counters() const {
  std::lock_guard lock(mutex_);
  return published_;
}

Inbox::Mail Inbox::take() {
  uint64_t count = 0;
  (void)!::read(wake_.get(), &count, sizeof(count));
  std::lock_guard lock(mutex_);
  return std::exchange(mail_, Mail{});
}

void Inbox::publish(const overlay::ProxyCounters& counters) {
  std::lock_guard lock(mutex_);
  published_ = counters;
}

void Inbox::wakeUp() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

}  // namespace oak::worker
