#include "link/messages.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"

namespace oak::link {

namespace bj = boost::json;

namespace {

Error bad(std::string msg) {
  return makeError(ErrorCode::kInvalidArgument, std::move(msg));
}

std::string withType(std::string_view type, bj::object o) {
  o["type"] = type;
  return bj::serialize(o);
}

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

Result<std::string> requireString(const bj::object& o, std::string_view key,
                                  std::string_view where) {
  auto s = json::getString(o, key);
  if (!s) return bad(fmt::format("{}.{}: required string is missing", where, key));
  return *s;
}

Result<std::string> requireRequestId(const bj::object& o, std::string_view where) {
  auto id = json::getString(o, "request_id");
  if (!id || id->empty() || id->size() > 128) {
    return bad(fmt::format("{}.request_id: required string of 1-128 characters", where));
  }
  return *id;
}

}  // namespace

std::string lastBytes(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t start = text.size() - max;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return std::string(text.substr(start));
}

bool validLogStream(std::string_view stream) {
  return stream == "stdout" || stream == "stderr" || stream == "all";
}

bj::object toJson(const LogLine& l) {
  return bj::object{{"time", l.time}, {"stream", l.stream}, {"line", l.line}};
}

Result<LogLine> logLineFromJson(const bj::value& v) {
  if (!v.is_object()) return bad("line: not an object");
  const auto& o = v.get_object();
  LogLine l;
  OAK_ASSIGN_OR_RETURN(l.line, requireString(o, "line", "line"));
  l.time = json::getString(o, "time").value_or("");
  l.stream = json::getString(o, "stream").value_or("");
  return l;
}

bj::object toJson(const InstanceState& s) {
  bj::object o{{"service_id", s.service_id}, {"instance_number", s.instance_number},
               {"status", s.status},         {"status_detail", s.status_detail},
               {"worker_id", s.worker_id},   {"worker_name", s.worker_name},
               {"publicip", s.publicip},     {"cpu", s.cpu},
               {"memory", s.memory}};
  if (!s.logs.empty()) o["logs"] = s.logs;
  if (!s.namespace_ip.empty()) {
    o["namespace_ip"] = s.namespace_ip;
    o["namespace_ip_v6"] = s.namespace_ip_v6;
    o["host_ip"] = s.host_ip;
    o["host_port"] = s.host_port;
  }
  return o;
}

Result<InstanceState> instanceStateFromJson(const bj::object& o) {
  InstanceState s;
  OAK_ASSIGN_OR_RETURN(s.service_id, requireString(o, "service_id", "instance"));
  auto n = json::getInt(o, "instance_number");
  if (!n || *n < 0) return bad("instance.instance_number: required non-negative integer");
  s.instance_number = *n;
  OAK_ASSIGN_OR_RETURN(s.status, requireString(o, "status", "instance"));
  s.status_detail = json::getString(o, "status_detail").value_or("");
  s.worker_id = json::getString(o, "worker_id").value_or("");
  s.worker_name = json::getString(o, "worker_name").value_or("");
  s.publicip = json::getString(o, "publicip").value_or("");
  s.cpu = number(o, "cpu");
  s.memory = number(o, "memory");
  s.logs = lastBytes(json::getString(o, "logs").value_or(""), kMaxInstanceLogsBytes);
  s.namespace_ip = json::getString(o, "namespace_ip").value_or("");
  s.namespace_ip_v6 = json::getString(o, "namespace_ip_v6").value_or("");
  s.host_ip = json::getString(o, "host_ip").value_or("");
  s.host_port = json::getInt(o, "host_port").value_or(0);
  return s;
}

std::string encodeHello(const Hello& h) {
  bj::array instances;
  for (const auto& i : h.instances) instances.push_back(toJson(i));
  return withType("hello", bj::object{{"name", h.name},
                                      {"location", h.location},
                                      {"resources", h.resources},
                                      {"instances", std::move(instances)},
                                      {"version", h.version}});
}

std::string encodeResources(const bj::object& resources) {
  return withType("resources", bj::object{{"resources", resources}});
}

std::string encodeHeartbeat() {
  return withType("heartbeat", {});
}

std::string encodeInstanceStatus(const InstanceState& s) {
  return withType("instance_status", toJson(s));
}

std::string encodeWelcome(const std::string& cluster_id) {
  return withType("welcome", bj::object{{"cluster_id", cluster_id}});
}

std::string encodeDeploy(const Deploy& d) {
  return withType("deploy",
                  bj::object{{"service", d.service}, {"instance_number", d.instance_number}});
}

std::string encodeUndeploy(const Undeploy& u) {
  return withType("undeploy",
                  bj::object{{"service_id", u.service_id}, {"instance_number", u.instance_number}});
}

std::string encodeError(const std::string& message) {
  return withType("error", bj::object{{"message", message}});
}

std::string encodeLogsRequest(const LogsRequest& r) {
  return withType("logs_request", bj::object{{"request_id", r.request_id},
                                             {"service_id", r.service_id},
                                             {"instance_number", r.instance_number},
                                             {"stream", r.stream},
                                             {"tail", r.tail},
                                             {"follow", r.follow}});
}

std::string encodeLogsCancel(const std::string& request_id) {
  return withType("logs_cancel", bj::object{{"request_id", request_id}});
}

std::string encodeLogsChunk(const LogsChunk& c) {
  bj::array lines;
  lines.reserve(c.lines.size());
  for (const auto& l : c.lines) lines.push_back(toJson(l));
  bj::object o{{"request_id", c.request_id}, {"lines", std::move(lines)}, {"done", c.done}};
  if (!c.error.empty()) o["error"] = c.error;
  return withType("logs_chunk", std::move(o));
}

Result<Envelope> decode(std::string_view text) {
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(text));
  if (!v.is_object()) return bad("message: not a JSON object");
  auto type = json::getString(v.get_object(), "type");
  if (!type) return bad("message.type: required string is missing");
  return Envelope{*type, std::move(v.get_object())};
}

Result<Hello> helloFrom(const Envelope& e) {
  Hello h;
  OAK_ASSIGN_OR_RETURN(h.name, requireString(e.body, "name", "hello"));
  h.location = json::getString(e.body, "location").value_or("");
  h.version = json::getString(e.body, "version").value_or("");
  if (const auto* r = json::findObject(e.body, "resources")) h.resources = *r;
  if (const auto* list = json::findArray(e.body, "instances")) {
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_object()) return bad(fmt::format("hello.instances[{}]: not an object", i));
      OAK_ASSIGN_OR_RETURN(auto s, instanceStateFromJson((*list)[i].get_object()));
      h.instances.push_back(std::move(s));
    }
  }
  return h;
}

Result<Deploy> deployFrom(const Envelope& e) {
  const auto* service = json::findObject(e.body, "service");
  if (!service) return bad("deploy.service: required object is missing");
  auto n = json::getInt(e.body, "instance_number");
  if (!n || *n < 0) return bad("deploy.instance_number: required non-negative integer");
  return Deploy{*service, *n};
}

Result<Undeploy> undeployFrom(const Envelope& e) {
  Undeploy u;
  OAK_ASSIGN_OR_RETURN(u.service_id, requireString(e.body, "service_id", "undeploy"));
  auto n = json::getInt(e.body, "instance_number");
  if (!n || *n < -1) return bad("undeploy.instance_number: required integer >= -1");
  u.instance_number = *n;
  return u;
}

Result<LogsRequest> logsRequestFrom(const Envelope& e) {
  LogsRequest r;
  OAK_ASSIGN_OR_RETURN(r.request_id, requireRequestId(e.body, "logs_request"));
  OAK_ASSIGN_OR_RETURN(r.service_id, requireString(e.body, "service_id", "logs_request"));
  auto n = json::getInt(e.body, "instance_number");
  if (!n || *n < 0) return bad("logs_request.instance_number: required non-negative integer");
  r.instance_number = *n;
  r.stream = json::getString(e.body, "stream").value_or("all");
  if (!validLogStream(r.stream)) return bad("logs_request.stream: must be stdout, stderr or all");
  r.tail = json::getInt(e.body, "tail").value_or(100);
  if (r.tail < 1 || r.tail > kMaxLogsTail) {
    return bad(fmt::format("logs_request.tail: must be 1 to {}", kMaxLogsTail));
  }
  if (auto it = e.body.find("follow"); it != e.body.end()) {
    if (!it->value().is_bool()) return bad("logs_request.follow: must be a boolean");
    r.follow = it->value().get_bool();
  }
  return r;
}

Result<std::string> logsCancelFrom(const Envelope& e) {
  return requireRequestId(e.body, "logs_cancel");
}

Result<LogsChunk> logsChunkFrom(const Envelope& e) {
  LogsChunk c;
  OAK_ASSIGN_OR_RETURN(c.request_id, requireRequestId(e.body, "logs_chunk"));
  if (const auto* lines = json::findArray(e.body, "lines")) {
    c.lines.reserve(lines->size());
    for (size_t i = 0; i < lines->size(); ++i) {
      auto l = logLineFromJson((*lines)[i]);
      if (!l) return bad(fmt::format("logs_chunk.lines[{}]: {}", i, l.error().message));
      c.lines.push_back(std::move(*l));
    }
  }
  c.error = json::getString(e.body, "error").value_or("");
  auto done = e.body.find("done");
  c.done = !c.error.empty() || (done != e.body.end() && done->value() == true);
  return c;
}

std::string encodeWorkers(const std::vector<WorkerSummary>& workers) {
  auto strings = [](const std::vector<std::string>& v) {
    bj::array a;
    for (const auto& x : v) a.emplace_back(x);
    return a;
  };
  bj::array list;
  list.reserve(workers.size());
  for (const auto& w : workers) {
    bj::object o{{"id", w.id},
                 {"name", w.name},
                 {"active", w.active},
                 {"cores_total", w.cores_total},
                 {"memory_total_mb", w.memory_total_mb},
                 {"runtimes", strings(w.runtimes)},
                 {"archs", strings(w.archs)}};
    if (!w.acceleration.empty()) o["acceleration"] = w.acceleration;
    list.push_back(std::move(o));
  }
  return withType("workers", bj::object{{"workers", std::move(list)}});
}

Result<std::vector<WorkerSummary>> workersFrom(const Envelope& e) {
  const auto* list = json::findArray(e.body, "workers");
  if (list == nullptr) return bad("workers.workers: required array is missing");
  if (list->size() > kMaxWorkersPerCluster) {
    return bad(fmt::format("workers.workers: more than {}", kMaxWorkersPerCluster));
  }
  std::vector<WorkerSummary> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const auto* o = (*list)[i].if_object();
    const auto* active = o ? o->if_contains("active") : nullptr;
    auto id = o ? json::getString(*o, "id") : std::nullopt;
    auto name = o ? json::getString(*o, "name") : std::nullopt;
    if (!id || id->empty() || id->size() > 128 || !name || name->size() > 256 || !active ||
        !active->is_bool()) {
      return bad(fmt::format("workers.workers[{}]: expected {{id, name, active}}", i));
    }
    WorkerSummary w{std::move(*id), std::move(*name), active->get_bool()};
    auto number = [o](std::string_view key) {
      const auto* v = o->if_contains(key);
      return v && v->is_number() ? v->to_number<double>() : 0.0;
    };
    w.cores_total = number("cores_total");
    w.memory_total_mb = number("memory_total_mb");
    for (auto [key, field] : {std::pair{"runtimes", &w.runtimes}, {"archs", &w.archs}}) {
      if (const auto* a = json::findArray(*o, key)) {
        for (const auto& x : *a) {
          if (x.is_string() && x.get_string().size() <= 64 && field->size() < 16) {
            field->emplace_back(x.get_string());
          }
        }
      }
    }
    w.acceleration = json::getString(*o, "acceleration").value_or("").substr(0, 64);
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace oak::link
