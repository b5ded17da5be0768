#include "root/log_requests.h"

#include <fmt/format.h>

namespace oak::root {

LogRequests::LogRequests(const Clock& clock, Send send, std::chrono::seconds timeout)
    : clock_(clock), send_(std::move(send)), timeout_(timeout) {}

Result<std::string> LogRequests::start(const LogQuery& q, Handlers handlers) {
  std::string id = std::to_string(next_id_++);
  link::LogsRequest r{id, q.service_id, q.instance_number, q.stream, q.tail, q.follow};
  if (!send_(q.cluster_id, link::encodeLogsRequest(r))) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("cluster {} is not connected", q.cluster_id));
  }
  pending_[id] = Pending{q, std::move(handlers), clock_.now() + timeout_};
  return id;
}

void LogRequests::cancel(const std::string& id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  send_(it->second.query.cluster_id, link::encodeLogsCancel(id));
  pending_.erase(it);
}

void LogRequests::end(Table::iterator it, Status status, bool tell_cluster) {
  if (tell_cluster) send_(it->second.query.cluster_id, link::encodeLogsCancel(it->first));
  auto on_end = std::move(it->second.handlers.on_end);
  pending_.erase(it);
  if (on_end) on_end(std::move(status));
}

void LogRequests::onChunk(const std::string& cluster_id, const link::LogsChunk& chunk) {
  auto it = pending_.find(chunk.request_id);
  if (it == pending_.end() || it->second.query.cluster_id != cluster_id) {
    // Late (cancelled or timed out meanwhile); a follow still running there is stopped.
    if (!chunk.done) send_(cluster_id, link::encodeLogsCancel(chunk.request_id));
    return;
  }
  if (it->second.query.follow) it->second.deadline.reset();
  if (!chunk.lines.empty() || !chunk.done) {
    auto on_lines = it->second.handlers.on_lines;  // the call may cancel the request
    if (on_lines) on_lines(chunk.lines);
    it = pending_.find(chunk.request_id);
    if (it == pending_.end()) return;
  }
  if (!chunk.done) return;
  Status status;
  if (!chunk.error.empty()) status = makeError(ErrorCode::kUnavailable, chunk.error);
  end(it, std::move(status), false);
}

void LogRequests::endWhere(const std::function<bool(const Pending&)>& match, const Status& status,
                           bool tell_cluster) {
  // Ids first: a caller told of an end may start or cancel other requests.
  std::vector<std::string> ids;
  for (const auto& [id, p] : pending_) {
    if (match(p)) ids.push_back(id);
  }
  for (const auto& id : ids) {
    if (auto it = pending_.find(id); it != pending_.end()) end(it, status, tell_cluster);
  }
}

void LogRequests::onClusterGone(const std::string& cluster_id) {
  endWhere([&](const Pending& p) { return p.query.cluster_id == cluster_id; },
           makeError(ErrorCode::kUnavailable, "the link to the instance's cluster was lost"),
           false);
}

void LogRequests::onUndeployed(const std::string& cluster_id, const std::string& service_id,
                               int64_t n) {
  endWhere(
      [&](const Pending& p) {
        return p.query.cluster_id == cluster_id && p.query.service_id == service_id &&
               (n == -1 || p.query.instance_number == n);
      },
      makeError(ErrorCode::kNotFound, "the instance was undeployed"), true);
}

void LogRequests::tick() {
  auto now = clock_.now();
  endWhere(
      [&](const Pending& p) { return p.deadline && now >= *p.deadline; },
      makeError(ErrorCode::kUnavailable,
                fmt::format("the instance's cluster did not answer within {} s", timeout_.count())),
      true);
}

}  // namespace oak::root
