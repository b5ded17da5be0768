#include "worker/agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/json.h"
#include "scheduler/resources.h"
#include "worker/runtime/instance_spec.h"

namespace oak::worker {

namespace bj = boost::json;

namespace {

double num(const bj::object& o, std::string_view k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

// A report is worth sending when capacity moved by more than a tenth of the total, or the
// runtimes changed; small jitter waits for the periodic report (keeps idle traffic low).
bool changedNoticeably(const bj::object& a, const bj::object& b) {
  for (auto [free_key, total_key] :
       {std::pair{"cores_free", "cores_total"}, std::pair{"memory_free_mb", "memory_total_mb"},
        std::pair{"gpus_free", "gpus_total"}}) {
    double total = std::max(num(a, total_key), 1.0);
    if (std::abs(num(a, free_key) - num(b, free_key)) > 0.1 * total) return true;
    if (num(a, total_key) != num(b, total_key)) return true;
  }
  return a.at("runtimes") != b.at("runtimes");
}

}  // namespace

WorkerAgent::WorkerAgent(EventLoop& loop, const Clock& clock, mqtt::MessageBus& bus,
                         HostProbe& probe, ComposingRuntime& runtime, AgentOptions options)
    : loop_(loop),
      clock_(clock),
      bus_(bus),
      probe_(probe),
      runtime_(runtime),
      options_(std::move(options)),
      supervisor_(
          runtime, [this](const StatusReport& r) { publishStatus(r); }, options_.network) {
  if (!options_.log_root.empty()) {
    logs_ = std::make_unique<LogService>(loop, clock, bus,
                                         LogServiceOptions{options_.worker_id, options_.log_root});
  }
}

std::string WorkerAgent::topic(std::string_view suffix) const {
  return fmt::format("nodes/{}/{}", options_.worker_id, suffix);
}

void WorkerAgent::start() {
  bus_.subscribe(topic("control/deploy"), 1);
  bus_.subscribe(topic("control/delete"), 1);
  bus_.subscribe(topic("control/report"), 1);
  if (logs_) logs_->subscribe();
  bus_.onMessage([this](const mqtt::Message& m) { onMessage(m); });
  // After a reconnect the cluster may have missed reports: send a full one.
  bus_.onConnectionChange([this](bool up) {
    if (up) last_info_.reset();
  });
  // Slow launch steps (image pulls) show in the instance's status_detail while it is scheduled.
  runtime_.onProgress([this](const std::string& task_id, const std::string& detail) {
    if (auto parsed = parseTaskId(task_id)) {
      publishStatus({parsed->first, parsed->second, "NODE_SCHEDULED", detail});
    }
  });
  supervisor_.recover([this](Result<std::vector<InstanceSpec>> r) {
    if (!r) return spdlog::error("recovering instances: {}", r.error().message);
    spdlog::info("recovered {} running instances", r->size());
    removeStaleLogs(*r);
  });
}

void WorkerAgent::removeStaleLogs(const std::vector<InstanceSpec>& recovered) {
  if (!logs_ || options_.log_root.empty()) return;
  // Logs of instances this worker no longer holds (moved away while it was down): the cluster
  // places those again, so nobody reads these files any more.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.log_root, ec)) {
    std::string task_id = entry.path().filename().string();
    bool held = std::any_of(recovered.begin(), recovered.end(),
                            [&](const InstanceSpec& s) { return s.taskId() == task_id; });
    if (!held && entry.is_directory()) logs_->removeLogs(task_id);
  }
}

bj::object WorkerAgent::information(const HostSnapshot& s) const {
  // Cores are promised, not measured: what the held instances asked for is taken, the rest is
  // free. Measured load would make placement depend on whatever else happens to run right now
  // (a busy host would refuse every deployment, an idle moment would overbook it).
  double reserved = 0;
  for (const auto& spec : supervisor_.held()) reserved += spec.vcpus;
  double cores_free = std::max(0.0, s.cores - reserved);
  bj::array runtimes;
  for (const auto& r : runtime_.runtimes()) runtimes.emplace_back(r);
  bj::object info{
      {"id", options_.worker_id},
      {"name", s.hostname},
      {"cores_total", s.cores},
      {"cores_free", std::round(cores_free * 100) / 100},
      {"memory_total_mb", s.memory_total_mb},
      {"memory_free_mb", s.memory_available_mb},
      {"gpus_total", s.gpus.size()},
      {"gpus_free", s.gpus.size()},
      {"disk_total_mb", s.disk_total_mb},
      {"disk_free_mb", s.disk_free_mb},
      {"runtimes", std::move(runtimes)},
      {"per_arch",
       bj::object{{s.arch, bj::object{{"cores_total", s.cores},
                                      {"cores_free", std::round(cores_free * 100) / 100},
                                      {"memory_total_mb", s.memory_total_mb},
                                      {"memory_free_mb", s.memory_available_mb}}}}}};
  if (auto caps = runtime_.capabilitiesByRuntime(); !caps.empty()) {
    info["capabilities"] = sched::capabilitiesToJson(caps);
  }
  if (options_.location) {
    info["location"] =
        bj::object{{"lat", options_.location->first}, {"lon", options_.location->second}};
  }
  return info;
}

void WorkerAgent::tick() {
  auto snapshot = std::make_shared<Result<HostSnapshot>>(HostSnapshot{});
  loop_.runBlocking([this, snapshot] { *snapshot = probe_.sample(); },
                    [this, snapshot] {
                      if (!*snapshot) {
                        return spdlog::warn("sampling the host failed: {}",
                                            snapshot->error().message);
                      }
                      ipv4_ = (*snapshot)->ipv4;
                      report(**snapshot);
                    });
}

void WorkerAgent::send(std::string_view suffix, std::string payload, int qos) {
  bus_.publish(topic(suffix), std::move(payload), qos);
  last_sent_at_ = clock_.now();
}

void WorkerAgent::report(const HostSnapshot& s) {
  auto info = information(s);
  auto now = clock_.now();
  bool full = !last_info_ || now - last_info_at_ >= options_.full_report_every ||
              changedNoticeably(*last_info_, info);
  if (full) {
    send("information", bj::serialize(info), 1);
    last_info_ = std::move(info);
    last_info_at_ = now;
  }
  // The cluster compares usage reports with what it placed here: one goes with every full
  // report and whenever the set of instances changes, even to none.
  auto held = supervisor_.held();
  std::string held_key;
  for (const auto& spec : held) held_key += spec.taskId() + "\n";
  bool set_changed = held_key != last_held_;
  bool due = !held.empty() && now - last_usage_at_ >= options_.report_interval;
  if (!full && !set_changed && !due) return heartbeatIfQuiet();
  last_held_ = std::move(held_key);
  last_usage_at_ = now;
  publishUsage(held, full || set_changed);
}

void WorkerAgent::heartbeatIfQuiet() {
  // Not queued while disconnected: a reconnect sends a full report anyway.
  if (clock_.now() - last_sent_at_ < options_.report_interval || !bus_.connected()) return;
  send("heartbeat", "", 0);
}

void WorkerAgent::publishUsage(const std::vector<InstanceSpec>& held, bool always) {
  auto services = std::make_shared<bj::array>();
  auto pending = std::make_shared<size_t>(held.size());
  auto publish = [this, services, always] {
    auto payload = bj::serialize(bj::object{{"services", *services}});
    if (always || payload != last_usage_) {
      last_usage_ = payload;
      send("jobs/resources", std::move(payload), 1);
    }
    heartbeatIfQuiet();
  };
  if (held.empty()) return publish();
  for (const auto& spec : held) {
    runtime_.usage(spec.taskId(), [spec, services, pending, publish](Result<Usage> u) {
      bj::object e{{"job_name", spec.job_name},
                   {"instance", spec.instance},
                   {"virtualization", spec.virtualization}};
      if (u) {
        e["cpu"] = u->cpu_percent;
        e["memory"] = u->memory_mb;
        e["disk"] = u->disk_mb;
      }
      services->push_back(std::move(e));
      if (--*pending == 0) publish();
    });
  }
}

void WorkerAgent::publishStatus(const StatusReport& r) {
  bj::object msg{{"sname", r.job_name},
                 {"instance", r.instance},
                 {"status", r.status},
                 {"status_detail", r.status_detail},
                 {"publicip", ipv4_}};
  auto task_id = InstanceSpec::makeTaskId(r.job_name, r.instance);
  bool ended =
      r.status == status::kDead || r.status == status::kFailed || r.status == status::kCompleted;
  if (logs_ && ended) msg["logs"] = logs_->lastLines(task_id);
  if (options_.network && r.status == status::kActive) {
    for (auto& [key, value] : options_.network->describe(task_id)) msg[key] = value;
  }
  bus_.publish(topic("job"), bj::serialize(msg), 1);
  // Logs go with the instance, unless a deploy of the same task id followed the delete.
  if (logs_ && r.status == status::kUndeployed) {
    loop_.post([this, task_id] {
      auto held = supervisor_.held();
      if (std::none_of(held.begin(), held.end(),
                       [&](const InstanceSpec& s) { return s.taskId() == task_id; })) {
        logs_->removeLogs(task_id);
      }
    });
  }
}

void WorkerAgent::leave(std::chrono::milliseconds timeout, std::function<void()> done) {
  if (leaving_) return;
  leaving_ = true;
  send("leave", "{}", 1);
  auto held = supervisor_.held();
  spdlog::info("leaving the cluster: removing {} instance{}", held.size(),
               held.size() == 1 ? "" : "s");
  for (const auto& spec : held) supervisor_.remove(spec.job_name, spec.instance);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto check = [this, deadline, done = std::move(done)] {
    bool timed_out = std::chrono::steady_clock::now() >= deadline;
    if (supervisor_.tracked() > 0 && !timed_out) return;
    if (timed_out && supervisor_.tracked() > 0) {
      spdlog::warn("leaving: {} instance(s) still being removed; stopping anyway",
                   supervisor_.tracked());
    }
    leave_check_.reset();
    done();
  };
  leave_check_ = loop_.every(std::chrono::milliseconds(50), check);
}

void WorkerAgent::onMessage(const mqtt::Message& m) {
  if (logs_ && logs_->handle(m)) return;
  if (options_.extra_handler && options_.extra_handler(m)) return;
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    spdlog::warn("malformed message on {}: {}", m.topic, v ? "not an object" : v.error().message);
    return;
  }
  const auto& o = v->get_object();
  if (m.topic == topic("control/deploy")) {
    if (leaving_) return spdlog::info("leaving: deployment on {} not taken", m.topic);
    auto spec = InstanceSpec::fromJson(o);
    if (!spec) {
      // Report it when the instance can be named, so the cluster places it elsewhere.
      auto job = json::getString(o, "job_name");
      auto n = json::getInt(o, "instance_number");
      spdlog::warn("refusing a deployment: {}", spec.error().message);
      if (job && n) publishStatus({*job, static_cast<int>(*n), "FAILED", spec.error().message});
      return;
    }
    spec->clearNetwork();  // the worker's network decides, never the message
    supervisor_.deploy(std::move(*spec));
  } else if (m.topic == topic("control/delete")) {
    auto job = json::getString(o, "job_name");
    auto n = json::getInt(o, "instance_number");
    if (!job || !n) return spdlog::warn("delete without job_name/instance_number on {}", m.topic);
    supervisor_.remove(*job, static_cast<int>(*n));
  } else if (m.topic == topic("control/report")) {
    // The cluster lacks this worker's capacity (it restarted, or counted the worker lost).
    last_info_.reset();
    tick();
  }
}

}  // namespace oak::worker
