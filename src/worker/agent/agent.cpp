#include "worker/agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <cmath>

#include "common/json.h"
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
      supervisor_(runtime, [this](const StatusReport& r) { publishStatus(r); }) {}

std::string WorkerAgent::topic(std::string_view suffix) const {
  return fmt::format("nodes/{}/{}", options_.worker_id, suffix);
}

void WorkerAgent::start() {
  bus_.subscribe(topic("control/deploy"), 1);
  bus_.subscribe(topic("control/delete"), 1);
  bus_.onMessage([this](const mqtt::Message& m) { onMessage(m); });
  // After a reconnect the cluster may have missed reports: send a full one.
  bus_.onConnectionChange([this](bool up) {
    if (up) last_info_.reset();
  });
  supervisor_.recover([](Result<std::vector<InstanceSpec>> r) {
    if (!r) return spdlog::error("recovering instances: {}", r.error().message);
    spdlog::info("recovered {} running instances", r->size());
  });
}

bj::object WorkerAgent::information(const HostSnapshot& s) const {
  double cores_free = s.cores * (1 - std::clamp(s.cpu_usage_percent, 0.0, 100.0) / 100);
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
                      publishInformation(**snapshot, false);
                    });
}

void WorkerAgent::publishInformation(const HostSnapshot& s, bool force) {
  auto info = information(s);
  auto now = clock_.now();
  bool due = now - last_info_at_ >= options_.report_interval;
  if (!force && !due && last_info_ && !changedNoticeably(*last_info_, info)) return;
  bus_.publish(topic("information"), bj::serialize(info), 1);
  last_info_ = std::move(info);
  last_info_at_ = now;
  if (due) publishUsage();
}

void WorkerAgent::publishUsage() {
  // Sent even when empty: the cluster compares it with what it expects this worker to hold.
  auto held = supervisor_.held();
  auto services = std::make_shared<bj::array>();
  auto pending = std::make_shared<size_t>(held.size());
  auto publish = [this, services] {
    bus_.publish(topic("jobs/resources"), bj::serialize(bj::object{{"services", *services}}), 1);
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
  bus_.publish(topic("job"), bj::serialize(msg), 1);
}

void WorkerAgent::onMessage(const mqtt::Message& m) {
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    spdlog::warn("malformed message on {}: {}", m.topic, v ? "not an object" : v.error().message);
    return;
  }
  const auto& o = v->get_object();
  if (m.topic == topic("control/deploy")) {
    auto spec = InstanceSpec::fromJson(o);
    if (!spec) {
      // Report it when the instance can be named, so the cluster places it elsewhere.
      auto job = json::getString(o, "job_name");
      auto n = json::getInt(o, "instance_number");
      spdlog::warn("refusing a deployment: {}", spec.error().message);
      if (job && n) publishStatus({*job, static_cast<int>(*n), "FAILED", spec.error().message});
      return;
    }
    supervisor_.deploy(std::move(*spec));
  } else if (m.topic == topic("control/delete")) {
    auto job = json::getString(o, "job_name");
    auto n = json::getInt(o, "instance_number");
    if (!job || !n) return spdlog::warn("delete without job_name/instance_number on {}", m.topic);
    supervisor_.remove(*job, static_cast<int>(*n));
  }
}

}  // namespace oak::worker
