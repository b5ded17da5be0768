#include "worker/agent/log_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/json.h"
#include "worker/runtime/instance_spec.h"

namespace oak::worker {

namespace bj = boost::json;

namespace {

constexpr size_t kMaxRequestId = 256;

// Task ids name directories: they must be what InstanceSpec::taskId() produces.
bool validTaskId(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.front() == '.' || !parseTaskId(id)) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

bj::object lineJson(const LogLine& l) {
  return bj::object{
      {"time", formatTimestamp(l.time)}, {"stream", streamName(l.stream)}, {"line", l.line}};
}

// A field that is absent or null takes its default.
const bj::value* field(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

}  // namespace

LogService::LogService(EventLoop& loop, const Clock& clock, mqtt::MessageBus& bus,
                       LogServiceOptions options)
    : loop_(loop), clock_(clock), bus_(bus), options_(std::move(options)) {}

LogService::~LogService() {
  *alive_ = false;
}

std::string LogService::topic(std::string_view suffix) const {
  return fmt::format("nodes/{}/logs/{}", options_.worker_id, suffix);
}

std::string LogService::logDirFor(const std::string& task_id) const {
  return worker::logDirFor(options_.log_root, task_id);
}

void LogService::subscribe() {
  for (auto suffix : {"request", "renew", "cancel"}) bus_.subscribe(topic(suffix), 1);
}

LogService::Stats LogService::stats() const {
  Stats s = stats_;
  s.follows = follows_.size();
  return s;
}

bool LogService::handle(const mqtt::Message& m) {
  bool request = m.topic == topic("request");
  if (!request && m.topic != topic("renew") && m.topic != topic("cancel")) return false;
  if (request) ++stats_.requests;
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    ++stats_.malformed;
    spdlog::warn("malformed message on {}: {}", m.topic, v ? "not an object" : v.error().message);
    return true;
  }
  const auto& o = v->get_object();
  if (request) {
    onRequest(o);
    return true;
  }
  auto id = json::getString(o, "request_id");
  if (!id) {
    ++stats_.malformed;
    spdlog::warn("message without request_id on {}", m.topic);
    return true;
  }
  if (m.topic == topic("renew")) {
    onRenew(*id);
  } else {
    onCancel(*id);
  }
  return true;
}

void LogService::fail(const std::string& request_id, std::string error) {
  ++stats_.refused;
  send(request_id, {}, true, error);
}

void LogService::onRequest(const bj::object& o) {
  auto id_field = json::getString(o, "request_id");
  std::string id = id_field.value_or("");
  if (!id_field || id.empty() || id.size() > kMaxRequestId) {
    return fail(id.size() > kMaxRequestId ? "" : id,
                fmt::format("request_id: expected a string of 1 to {} characters", kMaxRequestId));
  }
  auto task = json::getString(o, "task_id");
  if (!task || !validTaskId(*task)) {
    return fail(id, "task_id: expected '<job_name>.instance.<n>'");
  }
  LogSelect which = LogSelect::kAll;
  if (const auto* s = field(o, "stream")) {
    auto parsed = s->is_string() ? parseLogSelect(s->get_string()) : std::nullopt;
    if (!parsed) return fail(id, "stream: expected 'stdout', 'stderr' or 'all'");
    which = *parsed;
  }
  int64_t n = kDefaultTail;
  if (const auto* t = field(o, "tail")) {
    auto parsed = json::getInt(o, "tail");
    if (!parsed || *parsed < -1 || *parsed > kMaxTail) {
      return fail(id, fmt::format("tail: expected an integer from -1 to {}, got {}", kMaxTail,
                                  json::preview(*t)));
    }
    n = *parsed == -1 ? kMaxTail : *parsed;
  }
  bool follow = false;
  if (const auto* f = field(o, "follow")) {
    if (!f->is_bool()) return fail(id, "follow: expected true or false");
    follow = f->get_bool();
  }
  if (!LogReader(logDirFor(*task)).exists()) {
    return fail(id, fmt::format("task_id: no logs of '{}' on this worker", *task));
  }
  if (follow) {
    if (follows_.count(id) > 0) return fail(id, "request_id: a follow with this id is running");
    if (follows_.size() >= options_.max_follows) {
      return fail(id, fmt::format("follow: this worker serves at most {} follows at a time",
                                  options_.max_follows));
    }
    follows_[id] = Follow{*task, ++generations_, clock_.now() + options_.lease, nullptr};
    updateTimer();
  }
  startRead(id, *task, which, static_cast<size_t>(n), follow);
}

void LogService::startRead(const std::string& request_id, const std::string& task_id,
                           LogSelect which, size_t n, bool follow) {
  auto result = std::make_shared<Result<LogReader::Followed>>(LogReader::Followed{});
  uint64_t generation = follow ? follows_[request_id].generation : 0;
  loop_.runBlocking(
      [result, dir = logDirFor(task_id), which, n, follow] {
        LogReader reader(dir);
        if (follow) {
          *result = reader.follow(which, n);
        } else if (auto lines = reader.tail(which, n)) {
          result->value().lines = std::move(*lines);
        } else {
          *result = lines.error();
        }
      },
      [this, alive = alive_, result, request_id, follow, generation] {
        if (!*alive) return;
        auto it = follows_.find(request_id);
        bool ours = follow && it != follows_.end() && it->second.generation == generation;
        if (follow && !ours) return;  // cancelled meanwhile (and answered then)
        if (!*result) {
          if (ours) follows_.erase(it);
          updateTimer();
          return fail(request_id, fmt::format("task_id: {}", result->error().message));
        }
        if (ours) it->second.follower = std::move((*result)->follower);
        send(request_id, (*result)->lines, !follow);
      });
}

void LogService::onRenew(const std::string& request_id) {
  auto it = follows_.find(request_id);
  if (it == follows_.end()) {
    // Tells the cluster that the follow is gone (e.g. the worker restarted).
    return fail(request_id, "request_id: no follow with this id");
  }
  it->second.expires = clock_.now() + options_.lease;
}

void LogService::onCancel(const std::string& request_id) {
  auto it = follows_.find(request_id);
  if (it == follows_.end()) return spdlog::debug("cancel of unknown log request {}", request_id);
  follows_.erase(it);
  updateTimer();
  send(request_id, {}, true);
}

void LogService::tick() {
  auto now = clock_.now();
  for (auto it = follows_.begin(); it != follows_.end();) {
    const std::string& id = it->first;
    Follow& f = it->second;
    if (now >= f.expires) {
      spdlog::info("log follow {} of {} expired: no renew", id, f.task_id);
      send(id, {}, true,
           fmt::format("request_id: follow expired (no renew for {} s)", options_.lease.count()));
      it = follows_.erase(it);
      continue;
    }
    if (!f.follower) {
      ++it;
      continue;
    }
    auto lines = f.follower->poll();
    if (f.follower->gone()) {
      send(id, lines, true);
      it = follows_.erase(it);
      continue;
    }
    if (!lines.empty()) send(id, lines, false);
    ++it;
  }
  updateTimer();
}

void LogService::updateTimer() {
  // No timer while nobody follows: idle workers do not wake up for logs.
  if (follows_.empty()) {
    timer_.reset();
  } else if (!timer_) {
    timer_ = loop_.every(options_.poll_period, [this] { tick(); });
  }
}

void LogService::send(const std::string& request_id, const std::vector<LogLine>& lines, bool done,
                      const std::string& error) {
  auto publish = [&](bj::array batch, bool last) {
    bj::object msg{{"request_id", request_id}, {"lines", std::move(batch)}, {"done", last && done}};
    if (last && !error.empty()) msg["error"] = error;
    bus_.publish(topic("reply"), bj::serialize(msg), 1);
  };
  size_t base = bj::serialize(bj::object{{"request_id", request_id},
                                         {"lines", bj::array{}},
                                         {"done", false},
                                         {"error", error}})
                    .size();
  bj::array batch;
  size_t size = base;
  for (const auto& l : lines) {
    bj::value v = lineJson(l);
    size_t n = bj::serialize(v).size() + 1;
    // A single line larger than the limit still goes out, alone.
    if (!batch.empty() && size + n > options_.max_message_bytes) {
      publish(std::exchange(batch, {}), false);
      size = base;
    }
    batch.push_back(std::move(v));
    size += n;
  }
  publish(std::move(batch), true);
}

std::string LogService::lastLines(const std::string& task_id) const {
  if (!validTaskId(task_id)) return {};
  auto lines = LogReader(logDirFor(task_id)).tail(LogSelect::kAll, kReportLines, 64 * 1024);
  if (!lines || lines->empty()) return {};
  // The newest lines that fit; a single line that does not is cut to its end.
  size_t first = lines->size(), total = 0;
  while (first > 0) {
    size_t n = (*lines)[first - 1].line.size() + (first == lines->size() ? 0 : 1);
    if (total + n > kReportBytes) break;
    total += n;
    --first;
  }
  if (first == lines->size()) {
    const std::string& last = lines->back().line;
    size_t from = last.size() - kReportBytes;
    while (from < last.size() && (static_cast<unsigned char>(last[from]) & 0xC0) == 0x80) ++from;
    return last.substr(from);
  }
  std::string out;
  for (size_t i = first; i < lines->size(); ++i) {
    if (i > first) out.push_back('\n');
    out += (*lines)[i].line;
  }
  return out;
}

void LogService::removeLogs(const std::string& task_id) {
  if (!validTaskId(task_id)) return;
  std::error_code ec;
  std::filesystem::remove_all(logDirFor(task_id), ec);
  if (ec) spdlog::warn("removing the logs of {}: {}", task_id, ec.message());
}

}  // namespace oak::worker
