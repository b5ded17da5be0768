#pragma once
// Service logs at the root: the requests in flight to the clusters (`logs_request` down the
// cluster link, `logs_chunk`s back), keyed by an id unique in this process. A one-shot request
// must complete, and a follow must be acknowledged, within `timeout`; otherwise it fails and the
// cluster is told to cancel. Every end — done, error, timeout, the caller's cancel, an undeploy of
// the instance, the cluster link lost — removes the entry, and the caller hears of each end
// except its own cancel exactly once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "link/messages.h"

namespace oak::root {

struct LogQuery {
  std::string cluster_id;
  std::string service_id;
  int64_t instance_number = 0;
  std::string stream = "all";
  int64_t tail = 100;
  bool follow = false;
};

// Owned by a shared_ptr: a follow's stream may outlive the server and checks it still exists
// before it cancels its request.
class LogRequests : public std::enable_shared_from_this<LogRequests> {
 public:
  // Sends a link message to a cluster; false when it is not connected.
  using Send = std::function<bool(const std::string& cluster_id, std::string text)>;
  struct Handlers {
    // Lines arrived. A follow's first call (perhaps without lines) says the cluster accepted it.
    std::function<void(std::vector<link::LogLine>)> on_lines;
    // The request ended: ok when the cluster said done, otherwise why it failed. Nothing runs
    // after it.
    std::function<void(Status)> on_end;
  };

  LogRequests(const Clock& clock, Send send,
              std::chrono::seconds timeout = std::chrono::seconds(10));

  // Sends the request and returns its id; kUnavailable when the cluster is not connected.
  Result<std::string> start(const LogQuery& q, Handlers handlers);
  // The caller lost interest (its client went away): the cluster is told; no handler runs.
  void cancel(const std::string& id);

  // From the cluster link.
  void onChunk(const std::string& cluster_id, const link::LogsChunk& chunk);
  void onClusterGone(const std::string& cluster_id);
  // The root withdrew the instance (-1: every instance of the service) from the cluster.
  void onUndeployed(const std::string& cluster_id, const std::string& service_id, int64_t n);
  // Fails the requests whose time is up.
  void tick();

  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    LogQuery query;
    Handlers handlers;
    std::optional<Clock::TimePoint> deadline;  // none once a follow was acknowledged
  };
  using Table = std::map<std::string, Pending>;
  // Removes the entry, then tells its caller (who may start or cancel requests meanwhile).
  void end(Table::iterator it, Status status, bool tell_cluster);
  void endWhere(const std::function<bool(const Pending&)>& match, const Status& status,
                bool tell_cluster);

  const Clock& clock_;
  Send send_;
  std::chrono::seconds timeout_;
  uint64_t next_id_ = 1;
  Table pending_;
};

}  // namespace oak::root
