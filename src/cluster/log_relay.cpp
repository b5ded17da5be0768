#include "cluster/log_relay.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "auth/password.h"
#include "common/json.h"

namespace oak::cluster {

namespace bj = boost::json;

namespace {

constexpr std::string_view kReplySuffix = "/logs/reply";

// The worker id of "nodes/<id>/logs/reply", or "".
std::string replyWorker(std::string_view topic) {
  if (!topic.starts_with("nodes/") || !topic.ends_with(kReplySuffix)) return "";
  topic.remove_prefix(6);
  topic.remove_suffix(kReplySuffix.size());
  return topic.find('/') == std::string_view::npos ? std::string(topic) : "";
}

size_t sizeOf(const link::LogLine& l) {
  return l.time.size() + l.stream.size() + l.line.size() + 40;  // with the JSON around it
}

}  // namespace

LogRelay::LogRelay(Deps deps, LogRelayOptions options)
    : deps_(std::move(deps)), options_(options), id_prefix_(auth::randomHex(4)) {}

bool LogRelay::onRootMessage(std::string_view text) {
  auto env = link::decode(text);
  if (!env || !env->type.starts_with("logs_")) return false;
  if (env->type == "logs_request") {
    auto r = link::logsRequestFrom(*env);
    if (!r) {
      spdlog::warn("root link: {}", r.error().message);
      // Answer what can be answered, so the root does not wait for a timeout.
      if (auto id = json::getString(env->body, "request_id"); id && !id->empty())
        relay(*id, {}, true, r.error().message);
      return true;
    }
    onRequest(*r);
  } else if (env->type == "logs_cancel") {
    auto id = link::logsCancelFrom(*env);
    if (!id) {
      spdlog::warn("root link: {}", id.error().message);
      return true;
    }
    onCancel(*id);
  } else {
    spdlog::warn("root link: unknown message type '{}'", env->type);
  }
  return true;
}

void LogRelay::onRequest(const link::LogsRequest& r) {
  if (by_root_id_.count(r.request_id)) {
    return relay(r.request_id, {}, true,
                 fmt::format("request id '{}' is already in use", r.request_id));
  }
  auto target = deps_.locate(r.service_id, r.instance_number);
  if (!target) return relay(r.request_id, {}, true, target.error().message);
  std::string id = fmt::format("{}-{}", id_prefix_, next_id_++);
  bj::object msg{{"request_id", id},
                 {"task_id", target->task_id},
                 {"stream", r.stream},
                 {"tail", r.tail},
                 {"follow", r.follow}};
  deps_.bus.publish(fmt::format("nodes/{}/logs/request", target->worker_id), bj::serialize(msg), 1);
  auto now = deps_.clock.now();
  requests_[id] =
      Request{r.request_id, *target, r.service_id, r.instance_number, r.follow, now, now};
  by_root_id_[r.request_id] = id;
  spdlog::debug("logs request {} for {} sent to worker '{}' as {}", r.request_id, target->task_id,
                target->worker_name, id);
  // A follow is acknowledged at once: the root starts its stream while the worker reads.
  if (r.follow) relay(r.request_id, {}, false, "");
}

void LogRelay::onCancel(const std::string& root_request_id) {
  auto by_root = by_root_id_.find(root_request_id);
  if (by_root == by_root_id_.end()) return;
  auto it = requests_.find(by_root->second);
  by_root_id_.erase(by_root);
  if (it == requests_.end()) return;
  publish(it->second.target.worker_id, "cancel", it->first);
  requests_.erase(it);
}

void LogRelay::onBusMessage(const mqtt::Message& m) {
  std::string worker = replyWorker(m.topic);
  if (worker.empty()) return;
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    spdlog::warn("malformed payload on {}: {}", m.topic, v ? "not an object" : v.error().message);
    return;
  }
  const auto& o = v->get_object();
  std::string id = json::getString(o, "request_id").value_or("");
  std::string error = json::getString(o, "error").value_or("");
  auto it = requests_.find(id);
  bool known = it != requests_.end() && it->second.target.worker_id == worker;
  // Without "done", a one-shot answer is complete and a follow goes on.
  const auto* done_field = o.if_contains("done");
  bool done = !error.empty() || (done_field ? *done_field == true : !(known && it->second.follow));
  if (!known) {
    // Cancelled meanwhile, or never asked: a follow would go on until its renewals stop.
    if (!done && !id.empty()) publish(worker, "cancel", id);
    return;
  }
  std::vector<link::LogLine> lines;
  if (const auto* list = json::findArray(o, "lines")) {
    lines.reserve(list->size());
    for (const auto& entry : *list) {
      auto line = link::logLineFromJson(entry);
      if (!line) continue;
      if (line->line.size() > options_.max_line_bytes) {
        size_t cut = options_.max_line_bytes;  // at a character, not inside one
        while (cut > 0 && (static_cast<unsigned char>(line->line[cut]) & 0xC0) == 0x80) --cut;
        line->line.resize(cut);
      }
      lines.push_back(std::move(*line));
    }
  }
  std::string root_id = it->second.root_id;
  if (!error.empty()) error = fmt::format("worker '{}': {}", it->second.target.worker_name, error);
  if (done) {
    by_root_id_.erase(root_id);
    requests_.erase(it);
  }
  relay(root_id, std::move(lines), done, error);
}

void LogRelay::onRootDisconnected() {
  for (const auto& [id, r] : requests_) publish(r.target.worker_id, "cancel", id);
  if (!requests_.empty()) spdlog::info("root link down: {} logs requests ended", requests_.size());
  requests_.clear();
  by_root_id_.clear();
}

void LogRelay::tick() {
  auto now = deps_.clock.now();
  for (auto it = requests_.begin(); it != requests_.end();) {
    Request& r = it->second;
    auto where = deps_.locate(r.service_id, r.instance_number);
    if (!where || where->worker_id != r.target.worker_id) {
      it = fail(it,
                fmt::format("the instance is no longer on worker '{}' ({})", r.target.worker_name,
                            where ? fmt::format("now on worker '{}'", where->worker_name)
                                  : where.error().message));
    } else if (!r.follow && now - r.started >= options_.reply_timeout) {
      it = fail(it, fmt::format("worker '{}' did not answer within {} s", r.target.worker_name,
                                options_.reply_timeout.count()));
    } else {
      if (r.follow && now - r.renewed >= options_.renew_every) {
        publish(r.target.worker_id, "renew", it->first);
        r.renewed = now;
      }
      ++it;
    }
  }
}

LogRelay::Requests::iterator LogRelay::fail(Requests::iterator it, const std::string& error) {
  publish(it->second.target.worker_id, "cancel", it->first);
  std::string root_id = it->second.root_id;
  by_root_id_.erase(root_id);
  auto next = requests_.erase(it);
  relay(root_id, {}, true, error);
  return next;
}

void LogRelay::publish(const std::string& worker_id, std::string_view what, const std::string& id) {
  deps_.bus.publish(fmt::format("nodes/{}/logs/{}", worker_id, what),
                    bj::serialize(bj::object{{"request_id", id}}), 1);
}

void LogRelay::relay(const std::string& root_id, std::vector<link::LogLine> lines, bool done,
                     const std::string& error) {
  link::LogsChunk chunk{root_id, {}, false, ""};
  size_t bytes = 0;
  for (auto& l : lines) {
    size_t n = sizeOf(l);
    if (!chunk.lines.empty() && bytes + n > options_.max_chunk_bytes) {
      deps_.to_root(link::encodeLogsChunk(chunk));
      chunk.lines.clear();
      bytes = 0;
    }
    bytes += n;
    chunk.lines.push_back(std::move(l));
  }
  chunk.done = done;
  chunk.error = error;
  deps_.to_root(link::encodeLogsChunk(chunk));
}

}  // namespace oak::cluster
