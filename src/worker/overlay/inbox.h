#pragma once
// The hand-over between a data plane's own thread and everybody else: other threads leave the
// newest table and query answers and wake the thread through an eventfd; the thread takes them,
// and publishes its counters back. Shared by both data planes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "overlay/proxy_core.h"
#include "overlay/routes.h"

namespace oak::worker {

class Inbox {
 public:
  struct Mail {
    std::shared_ptr<const overlay::ServiceTable> table;  // the newest, if one came
    std::vector<std::pair<std::string, bool>> answers;   // address, found
  };

  // Opens the eventfd.
  Status open();

  // Any thread.
  void setTable(std::shared_ptr<const overlay::ServiceTable> table);
  void queryDone(const std::string& address, bool found);
  void stop();
  overlay::ProxyCounters counters() const;
  uint64_t tablesApplied() const { return tables_applied_; }

  // The data plane's thread: poll fd() for POLLIN, then take().
  int fd() const { return wake_.get(); }
  bool stopping() const { return stopping_; }
  Mail take();
  void publish(const overlay::ProxyCounters& counters);
  void tableApplied() { ++tables_applied_; }

 private:
  void wakeUp();

  UniqueFd wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> tables_applied_{0};
  mutable std::mutex mutex_;
  Mail mail_;
  overlay::ProxyCounters published_;
};

}  // namespace oak::worker
