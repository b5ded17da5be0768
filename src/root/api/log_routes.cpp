// Service logs: GET /api/service/{service_id}/instance/{instance_number}/logs, answered by the
// instance's worker through its cluster — once as JSON, or followed as Server-Sent Events.
//
// A follow's events are JSON objects: a log line {"time","stream","line"}, {"dropped": n} when the
// client read too slowly and lost n lines, and a last {"end": "<why>"} before the stream closes.

#include <fmt/format.h>
#include <boost/json.hpp>

#include <deque>
#include <memory>
#include <optional>

#include "common/json.h"
#include "http/stream.h"
#include "root/api/query.h"
#include "root/api/routes.h"
#include "root/applications.h"
#include "root/cluster_registry.h"
#include "root/log_requests.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

namespace {

constexpr std::chrono::seconds kKeepalive{15};
// A one-shot answer keeps at most this much (the newest lines).
constexpr size_t kMaxAnswerBytes = 8 << 20;
// Events that arrive between the answer and the start of its stream (a moment).
constexpr size_t kMaxEarlyEvents = 1000;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

// The query of a request, checked; the instance comes later.
Result<LogQuery> parseQuery(const http::Request& req) {
  LogQuery q;
  q.service_id = std::string(req.param("service_id"));
  OAK_ASSIGN_OR_RETURN(q.instance_number,
                       integerParam(req.param("instance_number"), "instance_number"));
  q.stream = req.queryParam("stream").value_or("all");
  if (!link::validLogStream(q.stream)) {
    return invalid(
        fmt::format("stream: '{}' is not one of stdout, stderr, all", q.stream.substr(0, 32)));
  }
  if (auto tail = req.queryParam("tail")) {
    auto n = integerParam(*tail, "tail");
    if (!n || *n < 1 || *n > link::kMaxLogsTail) {
      return invalid(fmt::format("tail: '{}' is not a number of lines from 1 to {}",
                                 tail->substr(0, 32), link::kMaxLogsTail));
    }
    q.tail = *n;
  }
  OAK_ASSIGN_OR_RETURN(q.follow, boolParam(req, "follow", false));
  return q;
}

// Fills in the cluster of the instance, which must be placed on a connected cluster.
Status locate(RootContext& ctx, const Caller& caller, LogQuery& q) {
  OAK_ASSIGN_OR_RETURN(auto service, ctx.applications->getService(caller, q.service_id));
  const bj::object* instance = nullptr;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& i : *list) {
      if (i.is_object() && json::getInt(i.get_object(), "instance_number") == q.instance_number)
        instance = &i.get_object();
    }
  }
  if (instance == nullptr) {
    return makeError(ErrorCode::kNotFound, fmt::format("instance_number: the service has no "
                                                       "instance {}",
                                                       q.instance_number));
  }
  q.cluster_id = json::getString(*instance, "cluster_id").value_or("");
  if (q.cluster_id.empty()) {
    return makeError(
        ErrorCode::kConflict,
        fmt::format("instance {} is not placed on a cluster (status {})", q.instance_number,
                    json::getString(*instance, "status").value_or("unknown")));
  }
  if (ctx.clusters == nullptr || !ctx.clusters->connected(q.cluster_id)) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("the cluster of instance {} ({}) is not connected",
                                 q.instance_number, q.cluster_id));
  }
  return {};
}

std::string lineEvent(const link::LogLine& l) {
  return http::sseEvent(bj::serialize(link::toJson(l)));
}

std::string endEvent(const Status& why) {
  return http::sseEvent(
      bj::serialize(bj::object{{"end", why ? "the log stream ended" : why.error().message}}));
}

// A one-shot request: lines gathered until the cluster says done.
void answerOnce(LogRequests& logs, const LogQuery& q, http::Responder respond) {
  struct Answer {
    std::deque<link::LogLine> lines;
    size_t bytes = 0;
    int64_t dropped = 0;
  };
  auto answer = std::make_shared<Answer>();
  LogRequests::Handlers h;
  h.on_lines = [answer](std::vector<link::LogLine> lines) {
    for (auto& l : lines) {
      answer->bytes += l.line.size() + l.time.size();
      answer->lines.push_back(std::move(l));
      while (answer->bytes > kMaxAnswerBytes && answer->lines.size() > 1) {
        answer->bytes -= answer->lines.front().line.size() + answer->lines.front().time.size();
        answer->lines.pop_front();
        ++answer->dropped;
      }
    }
  };
  h.on_end = [answer, q, respond](Status s) {
    if (!s) return respond.send(toResponse(s.error()));
    bj::array lines;
    lines.reserve(answer->lines.size());
    for (const auto& l : answer->lines) lines.push_back(link::toJson(l));
    bj::object body{{"service_id", q.service_id},
                    {"instance_number", q.instance_number},
                    {"stream", q.stream},
                    {"lines", std::move(lines)}};
    if (answer->dropped > 0) body["dropped"] = answer->dropped;
    respond.send(http::jsonResponse(200, body));
  };
  if (auto id = logs.start(q, std::move(h)); !id) respond.send(toResponse(id.error()));
}

// A follow: the answer is an event stream once the cluster accepted the request; errors before
// that are plain error answers.
void answerFollow(LogRequests& logs, const LogQuery& q, http::Responder respond) {
  struct Follow {
    http::Responder respond;
    std::string id;
    bool answered = false;
    std::shared_ptr<http::StreamWriter> writer;  // once the stream started
    std::deque<std::string> early;               // events before that
    uint64_t early_dropped = 0;
    std::optional<Status> ended;  // the request ended before the stream started
  };
  auto f = std::make_shared<Follow>(Follow{std::move(respond), "", false, nullptr, {}, 0, {}});
  std::weak_ptr<LogRequests> weak_logs = logs.weak_from_this();

  http::StreamOptions options;
  options.keepalive = kKeepalive;
  options.keepalive_chunk = http::sseComment("keepalive");
  options.dropped_notice = [](uint64_t n) {
    return http::sseEvent(bj::serialize(bj::object{{"dropped", n}}));
  };
  auto start = [f, weak_logs](std::shared_ptr<http::StreamWriter> w) {
    f->writer = w;
    if (f->early_dropped > 0) {
      w->write(http::sseEvent(bj::serialize(bj::object{{"dropped", f->early_dropped}})));
    }
    for (auto& e : f->early) w->write(std::move(e));
    f->early.clear();
    if (f->ended) {
      w->write(endEvent(*f->ended));
      return w->close();
    }
    w->onEnd([f, weak_logs](std::string) {
      // The client went away (or the stream closed after the end): stop the follow below.
      if (auto l = weak_logs.lock()) l->cancel(f->id);
    });
  };
  auto answer = [f, options, start] {
    if (f->answered) return;
    f->answered = true;
    f->respond.send(http::streamResponse("text/event-stream", options, start));
  };
  auto emit = [f](std::string event) {
    if (f->writer) {
      f->writer->write(std::move(event));
      return;
    }
    f->early.push_back(std::move(event));
    if (f->early.size() > kMaxEarlyEvents) {
      f->early.pop_front();
      ++f->early_dropped;
    }
  };

  LogRequests::Handlers h;
  h.on_lines = [answer, emit](std::vector<link::LogLine> lines) {
    answer();
    for (const auto& l : lines) emit(lineEvent(l));
  };
  h.on_end = [f, answer](Status s) {
    if (!f->answered && !s) return f->respond.send(toResponse(s.error()));
    answer();
    if (!f->writer) {
      f->ended = std::move(s);
      return;
    }
    f->writer->write(endEvent(s));
    f->writer->close();
  };
  auto id = logs.start(q, std::move(h));
  if (!id) return f->respond.send(toResponse(id.error()));
  f->id = *id;
}

}  // namespace

void addLogRoutes(http::Router& r, RootContext& ctx) {
  http::RouteDoc doc{
      "The log lines of a service instance, from its worker; with follow=true a stream of "
      "Server-Sent Events (one JSON line per event; {\"dropped\":n} when lines were lost to a "
      "slow reader; {\"end\":\"why\"} last)",
      "services",
      true,
      "",
      "",
      "ServiceLogs"};
  doc.query = {{"stream", "string", "stdout, stderr or all (default)"},
               {"tail", "integer", "how many of the last lines, 1 to 10000 (default 100)"},
               {"follow", "boolean", "keep the stream open for new lines (default false)"}};
  doc.stream_content_type = "text/event-stream";
  addAuthedAsync(
      r, ctx, Method::kGet, "/api/service/{service_id}/instance/{instance_number}/logs",
      std::move(doc), [&ctx](const http::Request& req, const Caller& c, http::Responder respond) {
        auto q = parseQuery(req);
        Status placed = q ? locate(ctx, c, *q) : Status(q.error());
        if (!placed) return respond.send(toResponse(placed.error()));
        if (ctx.logs == nullptr) {
          return respond.send(
              toResponse(makeError(ErrorCode::kUnavailable, "service logs are not available")));
        }
        if (!q->follow) return answerOnce(*ctx.logs, *q, std::move(respond));
        answerFollow(*ctx.logs, *q, std::move(respond));
      });
}

}  // namespace oak::root::api
