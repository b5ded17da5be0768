#pragma once
// Service logs at the cluster. The root asks for an instance's lines (`logs_request` on the root
// link); the relay asks the worker that holds the instance over MQTT and relays its answers to the
// root as `logs_chunk`s:
//
//   cluster → worker  nodes/<worker>/logs/request  {request_id, task_id, stream, tail, follow}
//   worker → cluster  nodes/<worker>/logs/reply    {request_id, lines, done, error?}
//   cluster → worker  nodes/<worker>/logs/cancel   {request_id}
//   cluster → worker  nodes/<worker>/logs/renew    {request_id}  (follows; the worker ends a
//                                                  follow that is not renewed for 60 s)
//
// The ids the workers see are the relay's own, so a worker learns nothing about the root and can
// only answer requests sent to it (a reply counts only on the topic of the worker asked). A
// request ends — with a final chunk saying why — when the worker says done, when a one-shot
// request stays unanswered, when the instance leaves its worker or the worker is lost; and
// without one when the root cancels it or the root link drops (the worker is told to stop).
// Transport-free and driven by an injected clock and `tick()`, like the orchestrator.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "link/messages.h"
#include "mqtt/bus.h"

namespace oak::cluster {

// The worker to ask about an instance.
struct LogTarget {
  std::string worker_id;
  std::string worker_name;
  std::string task_id;  // "<job_name>.instance.<n>": the worker's name of the instance
};

struct LogRelayOptions {
  std::chrono::seconds renew_every{20};
  // A one-shot request the worker has not finished by then fails.
  std::chrono::seconds reply_timeout{15};
  // Lines per logs_chunk are cut at about this many bytes (a link message may carry 4 MiB).
  size_t max_chunk_bytes = 256 * 1024;
  // Longer lines are cut.
  size_t max_line_bytes = 16 * 1024;
};

class LogRelay {
 public:
  struct Deps {
    const Clock& clock;
    mqtt::MessageBus& bus;
    std::function<void(std::string)> to_root;  // sends a link message if the root is connected
    // Where the instance runs now; an error says why there is no worker to ask.
    std::function<Result<LogTarget>(const std::string& service_id, int64_t instance_number)> locate;
  };
  static constexpr const char* kReplyTopic = "nodes/+/logs/reply";

  explicit LogRelay(Deps deps, LogRelayOptions options = {});

  // Handles logs_request and logs_cancel; false for every other message (the orchestrator's).
  bool onRootMessage(std::string_view text);
  void onRequest(const link::LogsRequest& r);
  void onCancel(const std::string& root_request_id);
  // Replies on `kReplyTopic`; other topics are ignored.
  void onBusMessage(const mqtt::Message& m);
  // The root link dropped: nobody waits for the answers any more.
  void onRootDisconnected();
  // Renews follows, fails unanswered requests, and ends requests whose instance left its worker
  // or whose worker was lost. Cheap enough to call after every change of placements.
  void tick();

  size_t openRequests() const { return requests_.size(); }

 private:
  struct Request {
    std::string root_id;
    LogTarget target;
    std::string service_id;
    int64_t instance_number = 0;
    bool follow = false;
    Clock::TimePoint started{};
    Clock::TimePoint renewed{};
  };
  using Requests = std::map<std::string, Request>;  // by the id the worker sees

  void publish(const std::string& worker_id, std::string_view what, const std::string& id);
  // Sends `lines` to the root, cut into chunks of bounded size; the last carries done/error.
  void relay(const std::string& root_id, std::vector<link::LogLine> lines, bool done,
             const std::string& error);
  // Ends a request with a final error chunk to the root; the worker is told to stop.
  Requests::iterator fail(Requests::iterator it, const std::string& error);

  Deps deps_;
  LogRelayOptions options_;
  std::string id_prefix_;
  uint64_t next_id_ = 1;
  Requests requests_;
  std::map<std::string, std::string> by_root_id_;
};

}  // namespace oak::cluster
