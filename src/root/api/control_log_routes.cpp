// Control-plane logs: GET /api/logs, the records of the root, the clusters and their workers
// (Admin only). Once as JSON, or followed as Server-Sent Events: one record per event,
// {"dropped": n} when records were lost (a slow reader, or the buffer turned over).

#include <fmt/format.h>
#include <boost/json.hpp>

#include <memory>

#include "common/text.h"
#include "http/stream.h"
#include "logs/log_buffer.h"
#include "root/api/query.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

namespace {

constexpr int64_t kDefaultLimit = 1000;
constexpr int64_t kMaxLimit = 10000;
constexpr std::chrono::milliseconds kFollowPoll{250};
constexpr std::chrono::seconds kKeepalive{15};
constexpr size_t kMaxNameParam = 256;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

// "30s", "5m", "2h", "1d" → the duration.
std::optional<std::chrono::seconds> relative(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  auto n = integerParam(text.substr(0, text.size() - 1), "");
  if (!n || *n > 3650LL * 86400) return std::nullopt;
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(*n);
    case 'm':
      return std::chrono::minutes(*n);
    case 'h':
      return std::chrono::hours(*n);
    case 'd':
      return std::chrono::hours(24 * *n);
    default:
      return std::nullopt;
  }
}

struct Query {
  logs::LogFilter filter;
  size_t limit = kDefaultLimit;
  bool follow = false;
};

Result<Query> parseQuery(const http::Request& req, const Clock& clock) {
  Query q;
  q.filter.component = req.queryParam("component").value_or("");
  if (!q.filter.component.empty() && !logs::validComponent(q.filter.component)) {
    return invalid(fmt::format("component: '{}' is not one of root, cluster, worker",
                               q.filter.component.substr(0, 32)));
  }
  if (auto level = req.queryParam("level")) {
    auto l = logs::parseLevel(*level);
    if (!l) {
      return invalid(
          fmt::format("level: '{}' is not one of trace, debug, info, warn, error, critical",
                      level->substr(0, 32)));
    }
    q.filter.min_level = *l;
  }
  if (auto since = req.queryParam("since")) {
    if (auto d = relative(*since)) {
      q.filter.since = clock.now() - *d;
    } else if (auto t = parseTimestamp(*since)) {
      q.filter.since = *t;
    } else {
      return invalid(fmt::format(
          "since: '{}' is neither an RFC 3339 UTC time nor a duration like 90s, 15m, 2h, 1d",
          since->substr(0, 40)));
    }
  }
  for (auto [name, field] : {std::pair{"node", &q.filter.node}, {"cluster", &q.filter.cluster}}) {
    *field = req.queryParam(name).value_or("");
    if (field->size() > kMaxNameParam) {
      return invalid(fmt::format("{}: longer than {} characters", name, kMaxNameParam));
    }
  }
  if (auto limit = req.queryParam("limit")) {
    auto n = integerParam(*limit, "limit");
    if (!n || *n < 1 || *n > kMaxLimit) {
      return invalid(fmt::format("limit: '{}' is not a number of records from 1 to {}",
                                 limit->substr(0, 32), kMaxLimit));
    }
    q.limit = static_cast<size_t>(*n);
  }
  OAK_ASSIGN_OR_RETURN(q.follow, boolParam(req, "follow", false));
  return q;
}

std::string recordEvent(const logs::LogRecord& r) {
  return http::sseEvent(bj::serialize(logs::toJson(r)));
}

std::string droppedEvent(uint64_t n) {
  return http::sseEvent(bj::serialize(bj::object{{"dropped", n}}));
}

// The newest matching records, then new ones as they come, until the client leaves.
http::Response follow(RootContext& ctx, logs::LogBuffer& buffer, Query q) {
  http::StreamOptions options;
  options.keepalive = kKeepalive;
  options.keepalive_chunk = http::sseComment("keepalive");
  options.dropped_notice = droppedEvent;
  auto start = [&ctx, &buffer, q](std::shared_ptr<http::StreamWriter> w) {
    auto page = buffer.tail(q.filter, q.limit);
    for (const auto& r : page.records) w->write(recordEvent(r));
    struct Follow {
      uint64_t next;
      std::unique_ptr<EventLoop::Periodic> poll;
    };
    auto f = std::make_shared<Follow>(Follow{page.next, nullptr});
    std::weak_ptr<http::StreamWriter> weak = w;
    f->poll = ctx.loop.every(kFollowPoll, [f, weak, &buffer, q] {
      auto writer = weak.lock();
      if (!writer || !writer->open()) return;
      auto more = buffer.readAfter(f->next, q.filter, static_cast<size_t>(kMaxLimit));
      f->next = more.next;
      if (more.missed > 0) writer->write(droppedEvent(more.missed));
      for (const auto& r : more.records) writer->write(recordEvent(r));
    });
    w->onEnd([f](std::string) { f->poll.reset(); });
  };
  return http::streamResponse("text/event-stream", options, start);
}

}  // namespace

void addControlLogRoutes(http::Router& r, RootContext& ctx) {
  http::RouteDoc doc{
      "Control-plane logs: what the root, the clusters and their workers logged, oldest first "
      "(the newest `limit` that match); with follow=true a stream of Server-Sent Events, one "
      "record per event",
      "infrastructure",
      true,
      "Admin",
      "",
      "ControlLogs"};
  doc.query = {
      {"component", "string", "root, cluster or worker (default: all)"},
      {"level", "string", "the lowest level: trace, debug, info, warn, error or critical"},
      {"since", "string", "an RFC 3339 UTC time, or a duration back from now: 90s, 15m, 2h, 1d"},
      {"node", "string", "the daemon's name: root, a cluster's or a worker's name"},
      {"cluster", "string", "the cluster's name (its own and its workers' records)"},
      {"limit", "integer", "how many records, 1 to 10000 (default 1000)"},
      {"follow", "boolean", "keep the stream open for new records (default false)"}};
  doc.stream_content_type = "text/event-stream";
  addAuthedAsync(r, ctx, Method::kGet, "/api/logs", std::move(doc),
                 [&ctx](const http::Request& req, const Caller&, http::Responder respond) {
                   auto q = parseQuery(req, ctx.clock);
                   if (!q) return respond.send(toResponse(q.error()));
                   if (ctx.control_logs == nullptr) {
                     return respond.send(toResponse(makeError(
                         ErrorCode::kUnavailable, "control-plane logs are not kept here")));
                   }
                   if (q->follow) return respond.send(follow(ctx, *ctx.control_logs, *q));
                   auto page = ctx.control_logs->tail(q->filter, q->limit);
                   bj::array records;
                   records.reserve(page.records.size());
                   for (const auto& rec : page.records) records.push_back(logs::toJson(rec));
                   respond.send(http::jsonResponse(200, bj::object{{"lines", std::move(records)}}));
                 });
}

}  // namespace oak::root::api
