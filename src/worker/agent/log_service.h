#pragma once
// Answers the cluster's requests for instance logs over MQTT (topics relative to the worker):
//
//   nodes/<id>/logs/request  {"request_id","task_id","stream":"stdout|stderr|all","tail":100,
//                             "follow":false}
//   nodes/<id>/logs/reply    {"request_id","lines":[{"time","stream","line"}],"done":bool,
//                             "error":"<only on failure>"}
//   nodes/<id>/logs/renew    {"request_id"}  keeps a follow alive (the lease is 60 s)
//   nodes/<id>/logs/cancel   {"request_id"}  ends a follow
//
// A reply is split into messages of about 64 KiB; the last one of an answer has done=true. A
// follow sends its tail with done=false, then new lines in batches (one per poll period), and
// ends with done=true when cancelled, when its lease expires, or when the instance's logs are
// removed. See docs/design/logs.md. Runs on the event loop thread; tails are read on the loop's
// blocking pool.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "http/event_loop.h"
#include "mqtt/bus.h"
#include "worker/logs/log_reader.h"

namespace oak::worker {

struct LogServiceOptions {
  std::string worker_id;
  // Holds one directory per task id (`<worker data dir>/logs`).
  std::string log_root;
  std::chrono::milliseconds poll_period{200};
  std::chrono::seconds lease{60};
  size_t max_follows = 32;
  size_t max_message_bytes = 64 * 1024;
};

class LogService {
 public:
  static constexpr int64_t kDefaultTail = 100;
  static constexpr int64_t kMaxTail = 10000;
  // The compatibility `logs` field of status reports.
  static constexpr size_t kReportLines = 20;
  static constexpr size_t kReportBytes = 4096;

  LogService(EventLoop& loop, const Clock& clock, mqtt::MessageBus& bus, LogServiceOptions options);
  ~LogService();
  LogService(const LogService&) = delete;
  LogService& operator=(const LogService&) = delete;

  // Subscribes to the request, renew and cancel topics.
  void subscribe();
  // Handles a message on one of those topics; false for any other topic.
  bool handle(const mqtt::Message& m);
  // Sends the follows' new lines and ends expired or orphaned follows. Runs every poll period
  // while follows exist; tests call it directly.
  void tick();

  // Where the instance's log driver writes.
  std::string logDirFor(const std::string& task_id) const;
  // The last lines of both streams, "\n"-joined, at most kReportBytes (the newest part).
  std::string lastLines(const std::string& task_id) const;
  // Deletes the instance's logs (once it is undeployed for good).
  void removeLogs(const std::string& task_id);

  struct Stats {
    uint64_t requests = 0;   // request messages, valid or not
    uint64_t malformed = 0;  // messages that were not a JSON object
    uint64_t refused = 0;    // requests answered with an error
    size_t follows = 0;      // running follows
  };
  Stats stats() const;

 private:
  struct Follow {
    std::string task_id;
    uint64_t generation = 0;
    Clock::TimePoint expires;
    std::unique_ptr<LogFollower> follower;  // null while its tail is being read
  };

  std::string topic(std::string_view suffix) const;
  void onRequest(const boost::json::object& o);
  void onRenew(const std::string& request_id);
  void onCancel(const std::string& request_id);
  void startRead(const std::string& request_id, const std::string& task_id, LogSelect which,
                 size_t n, bool follow);
  void fail(const std::string& request_id, std::string error);
  // Sends `lines` in messages of at most max_message_bytes; `done` and `error` go with the last.
  void send(const std::string& request_id, const std::vector<LogLine>& lines, bool done,
            const std::string& error = {});
  void updateTimer();

  EventLoop& loop_;
  const Clock& clock_;
  mqtt::MessageBus& bus_;
  LogServiceOptions options_;
  std::map<std::string, Follow> follows_;  // by request id
  uint64_t generations_ = 0;
  std::unique_ptr<EventLoop::Periodic> timer_;
  Stats stats_;
  // Completions of reads on the pool check it: the service may be gone by then.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace oak::worker
