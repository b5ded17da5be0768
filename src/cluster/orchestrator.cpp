#include "cluster/orchestrator.h"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>

#include "auth/password.h"
#include "cluster/cluster_metrics.h"
#include "common/json.h"
#include "common/object_id.h"

namespace oak::cluster {

namespace bj = boost::json;

namespace {

constexpr const char* kWorkers = "workers";
constexpr const char* kInstances = "instances";
// How often the cluster asks a worker it hears from while considering it inactive for a full
// report (its periodic messages are heartbeats, which say nothing about its capacity).
constexpr auto kReportRequestEvery = std::chrono::seconds(10);

// "nodes/<id>/<suffix...>" → (id, suffix)
std::optional<std::pair<std::string, std::string>> splitTopic(std::string_view topic) {
  if (!topic.starts_with("nodes/")) return std::nullopt;
  topic.remove_prefix(6);
  size_t slash = topic.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  return std::pair{std::string(topic.substr(0, slash)), std::string(topic.substr(slash + 1))};
}

double numberOrString(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_number()) return it->value().to_number<double>();
  if (it->value().is_string()) {
    try {
      return std::stod(std::string(it->value().get_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// A non-negative instance number, sent as a number or as a string (the original's format).
std::optional<int64_t> instanceNumber(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const bj::value& v = it->value();
  int64_t n = -1;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= INT64_MAX) {
    n = static_cast<int64_t>(v.get_uint64());
  } else if (v.is_string()) {
    std::string_view s = v.get_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  }
  return n >= 0 ? std::optional(n) : std::nullopt;
}

}  // namespace

Orchestrator::Orchestrator(Deps deps, OrchestratorOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

std::string Orchestrator::key(const std::string& service_id, int64_t n) {
  return fmt::format("{}.{}", service_id, n);
}

Status Orchestrator::recover() {
  OAK_ASSIGN_OR_RETURN(auto workers, deps_.store.list(kWorkers));
  for (const auto& doc : workers) {
    Worker w;
    w.id = json::getString(doc, "id").value_or("");
    w.name = json::getString(doc, "name").value_or("");
    w.password = json::getString(doc, "password").value_or("");
    if (w.id.empty()) continue;
    // A recovered worker counts as lost until it reports again.
    w.last_seen = deps_.clock.now();
    ids_by_name_[w.name] = w.id;
    workers_[w.id] = std::move(w);
  }
  OAK_ASSIGN_OR_RETURN(auto instances, deps_.store.list(kInstances));
  for (const auto& doc : instances) {
    Instance i;
    i.service_id = json::getString(doc, "service_id").value_or("");
    i.number = json::getInt(doc, "instance_number").value_or(0);
    i.job_name = json::getString(doc, "job_name").value_or("");
    if (const auto* s = json::findObject(doc, "service")) i.service = *s;
    i.worker_id = json::getString(doc, "worker_id").value_or("");
    i.status = json::getString(doc, "status").value_or("CLUSTER_SCHEDULED");
    i.status_detail = json::getString(doc, "status_detail").value_or("");
    // hello() reports it after a restart; without it the root would forget the address.
    i.publicip = json::getString(doc, "publicip").value_or("");
    i.namespace_ip = json::getString(doc, "namespace_ip").value_or("");
    i.namespace_ip_v6 = json::getString(doc, "namespace_ip_v6").value_or("");
    i.host_ip = json::getString(doc, "host_ip").value_or("");
    i.host_port = json::getInt(doc, "host_port").value_or(0);
    instances_[key(i.service_id, i.number)] = std::move(i);
  }
  spdlog::info("recovered {} workers and {} instances", workers_.size(), instances_.size());
  return {};
}

Result<Orchestrator::WorkerAccount> Orchestrator::registerWorker(const std::string& name) {
  Worker* w = nullptr;
  bool created = false;
  if (auto it = ids_by_name_.find(name); it != ids_by_name_.end()) w = &workers_[it->second];
  if (w == nullptr) {
    std::string id = newObjectId();
    w = &workers_[id];
    w->id = id;
    w->name = name;
    w->last_seen = deps_.clock.now();
    ids_by_name_[name] = id;
    created = true;
    spdlog::info("worker '{}' registered as {}", name, id);
  }
  if (metrics_) metrics_->registrations.inc();
  w->leaving = false;
  w->password = auth::randomHex(24);
  persistWorker(*w);
  return WorkerAccount{w->id, w->name, w->password, created};
}

std::vector<Orchestrator::WorkerAccount> Orchestrator::accounts() const {
  std::vector<WorkerAccount> out;
  for (const auto& [id, w] : workers_) {
    if (!w.password.empty()) out.push_back({id, w.name, w.password});
  }
  return out;
}

void Orchestrator::persistWorker(const Worker& w) {
  store::WriteBatch b;
  // The broker password is kept so the accounts survive a restart of the cluster and its broker;
  // the database is private to the cluster (0600).
  b.put(kWorkers, w.id, bj::object{{"id", w.id}, {"name", w.name}, {"password", w.password}});
  if (auto s = deps_.store.apply(b); !s)
    spdlog::error("saving worker {}: {}", w.id, s.error().message);
}

void Orchestrator::persist(const Instance& i) {
  store::WriteBatch b;
  b.put(kInstances, key(i.service_id, i.number),
        bj::object{{"service_id", i.service_id},
                   {"instance_number", i.number},
                   {"job_name", i.job_name},
                   {"service", i.service},
                   {"worker_id", i.worker_id},
                   {"status", i.status},
                   {"status_detail", i.status_detail},
                   {"publicip", i.publicip},
                   {"namespace_ip", i.namespace_ip},
                   {"namespace_ip_v6", i.namespace_ip_v6},
                   {"host_ip", i.host_ip},
                   {"host_port", i.host_port}});
  if (auto s = deps_.store.apply(b); !s) {
    spdlog::error("saving instance {}: {}", key(i.service_id, i.number), s.error().message);
  }
}

void Orchestrator::erase(const Instance& i) {
  store::WriteBatch b;
  b.erase(kInstances, key(i.service_id, i.number));
  if (auto s = deps_.store.apply(b); !s) spdlog::error("erasing instance: {}", s.error().message);
}

link::InstanceState Orchestrator::stateOf(const Instance& i) const {
  auto w = workers_.find(i.worker_id);
  link::InstanceState s{i.service_id,    i.number,    i.status,
                        i.status_detail, i.worker_id, w == workers_.end() ? "" : w->second.name,
                        i.publicip,      i.cpu,       i.memory,
                        i.logs};
  if (i.status == "RUNNING") {
    s.namespace_ip = i.namespace_ip;
    s.namespace_ip_v6 = i.namespace_ip_v6;
    s.host_ip = i.host_ip;
    s.host_port = i.host_port;
  }
  return s;
}

void Orchestrator::setStatus(Instance& i, std::string status, std::string detail) {
  if (i.status == status && i.status_detail == detail) return;
  if (metrics_ && i.status != status) metrics_->placement.statusChanged(status);
  i.status = std::move(status);
  i.status_detail = std::move(detail);
  persist(i);
  deps_.to_root(link::encodeInstanceStatus(stateOf(i)));
}

std::string Orchestrator::hello() const {
  link::Hello h;
  h.name = options_.name;
  h.location = options_.location_text;
  std::vector<sched::Resources> active;
  for (const auto& [id, w] : workers_) {
    if (w.active) active.push_back(w.resources);
  }
  h.resources = sched::toJson(
      sched::aggregate("", options_.name, options_.location, options_.radius_km, active));
  for (const auto& [k, i] : instances_) h.instances.push_back(stateOf(i));
  h.version = OAK_VERSION_STRING;
  return link::encodeHello(h);
}

void Orchestrator::onRootMessage(std::string_view text) {
  auto env = link::decode(text);
  if (!env) {
    spdlog::warn("root link: {}", env.error().message);
    return;
  }
  if (env->type == "deploy") {
    auto d = link::deployFrom(*env);
    if (!d) return spdlog::warn("root link: {}", d.error().message);
    onDeploy(*d);
  } else if (env->type == "undeploy") {
    auto u = link::undeployFrom(*env);
    if (!u) return spdlog::warn("root link: {}", u.error().message);
    onUndeploy(*u);
  } else if (env->type == "welcome") {
    spdlog::info("registered at the root as cluster {}",
                 json::getString(env->body, "cluster_id").value_or("?"));
    last_resources_.clear();  // the root gets a fresh picture
    last_workers_.clear();
  } else if (env->type == "error") {
    spdlog::error("the root refused this cluster: {}",
                  json::getString(env->body, "message").value_or(""));
  } else {
    spdlog::warn("root link: unknown message type '{}'", env->type);
  }
}

void Orchestrator::onDeploy(const link::Deploy& d) {
  std::string sid;
  if (const auto* id = json::findObject(d.service, "_id"))
    sid = json::getString(*id, "$oid").value_or("");
  if (sid.empty()) sid = json::getString(d.service, "microserviceID").value_or("");
  if (sid.empty()) return spdlog::warn("root link: deploy without a service id");
  auto k = key(sid, d.instance_number);
  if (instances_.count(k)) {
    // Already here (a reconnect re-sent it): report what we have instead of placing twice.
    deps_.to_root(link::encodeInstanceStatus(stateOf(instances_[k])));
    return;
  }
  Instance i;
  i.service_id = sid;
  i.number = d.instance_number;
  i.job_name = json::getString(d.service, "job_name").value_or(sid);
  i.service = d.service;
  i.status = "CLUSTER_SCHEDULED";
  auto& ref = instances_[k] = std::move(i);
  persist(ref);
  place(ref);
}

void Orchestrator::place(Instance& i) {
  auto req = sched::requirementsFromService(i.service);
  if (!req) {
    if (metrics_) metrics_->placement.decided("invalid");
    return setStatus(i, "FAILED", req.error().message);
  }
  auto started = std::chrono::steady_clock::now();
  auto p = scheduler_.place(*req);
  if (metrics_) {
    metrics_->placement.decided(p.ok ? "placed" : p.status,
                                std::chrono::steady_clock::now() - started);
  }
  if (!p.ok) return setStatus(i, p.status, p.detail);
  i.worker_id = p.node_id;
  bj::object msg = i.service;
  msg["instance_number"] = i.number;
  // The instance's own addresses, which the worker gives its traffic as source.
  if (const auto* list = json::findArray(i.service, "instance_list")) {
    for (const auto& v : *list) {
      if (!v.is_object() || json::getInt(v.get_object(), "instance_number") != i.number) continue;
      for (const char* k : {"instance_ip", "instance_ip_v6"}) {
        if (const auto* a = v.get_object().if_contains(k)) msg[k] = *a;
      }
    }
  }
  msg["system_job_id"] = i.service_id;
  deps_.bus.publish(fmt::format("nodes/{}/control/deploy", i.worker_id), bj::serialize(msg), 1);
  // Unconfirmed until the worker reports it: a deploy lost on the way fails after a lease.
  i.missing_since = deps_.clock.now();
  setStatus(i, "NODE_SCHEDULED", fmt::format("sent to worker {}", workers_[i.worker_id].name));
}

void Orchestrator::sendDelete(const std::string& worker_id, const Instance& i) {
  if (worker_id.empty()) return;
  bj::object msg{
      {"job_name", i.job_name},
      {"virtualization", json::getString(i.service, "virtualization").value_or("docker")},
      {"instance_number", i.number}};
  deps_.bus.publish(fmt::format("nodes/{}/control/delete", worker_id), bj::serialize(msg), 1);
}

void Orchestrator::onUndeploy(const link::Undeploy& u) {
  for (auto it = instances_.begin(); it != instances_.end();) {
    Instance& i = it->second;
    if (i.service_id == u.service_id &&
        (u.instance_number == -1 || i.number == u.instance_number)) {
      sendDelete(i.worker_id, i);
      if (auto req = sched::requirementsFromService(i.service); req && !i.worker_id.empty()) {
        scheduler_.release(i.worker_id, *req);
      }
      erase(i);
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<std::string> Orchestrator::subscriptions() {
  return {"nodes/+/information", "nodes/+/heartbeat", "nodes/+/job", "nodes/+/jobs/resources",
          "nodes/+/leave"};
}

void Orchestrator::onBusMessage(const mqtt::Message& m) {
  auto parts = splitTopic(m.topic);
  if (!parts) return;
  auto& [worker_id, suffix] = *parts;
  if (suffix != "information" && suffix != "heartbeat" && suffix != "job" &&
      suffix != "jobs/resources" && suffix != "leave") {
    return;  // another component's topic
  }
  auto w = workers_.find(worker_id);
  if (w == workers_.end()) {
    spdlog::warn("message on {} from an unregistered worker; ignored", m.topic);
    return;
  }
  if (suffix == "leave") return onLeave(w->second);
  heardFrom(w->second, suffix);
  if (suffix == "heartbeat") return;  // its payload is empty, or `{}`
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    spdlog::warn("malformed payload on {}: {}", m.topic, v ? "not an object" : v.error().message);
    return;
  }
  if (suffix == "information") {
    onInformation(worker_id, v->get_object());
  } else if (suffix == "job") {
    onJobStatus(worker_id, v->get_object());
  } else if (suffix == "jobs/resources") {
    onJobResources(worker_id, v->get_object());
  }
}

// Any message on a worker's topics proves it is alive (the broker's ACL ties the topic to the
// worker's account). A worker the cluster considers inactive is asked for a full report: its
// heartbeats carry no capacity, and its next full report may be minutes away.
void Orchestrator::heardFrom(Worker& w, std::string_view suffix) {
  auto now = deps_.clock.now();
  w.last_seen = now;
  if (w.active || w.leaving || suffix == "information") return;
  if (w.report_requested != Clock::TimePoint{} && now - w.report_requested < kReportRequestEvery) {
    return;
  }
  w.report_requested = now;
  deps_.bus.publish(fmt::format("nodes/{}/control/report", w.id), "{}", 1);
}

// A worker that stops and removes its instances (`oakestra up`, Ctrl-C) says so first: they are
// placed again at once — elsewhere, or on this worker when it registers again — instead of a
// lease later.
void Orchestrator::onLeave(Worker& w) {
  spdlog::info("worker '{}' is leaving; placing its instances again", w.name);
  w.leaving = true;
  w.active = false;
  scheduler_.setActive(w.id, false);
  for (auto& [k, i] : instances_) {
    if (i.worker_id == w.id && (i.status == "NODE_SCHEDULED" || i.status == "RUNNING")) {
      setStatus(i, "FAILED", fmt::format("worker '{}' stopped", w.name));
    }
  }
  reportResources(false);
}

void Orchestrator::onInformation(const std::string& worker_id, const bj::object& payload) {
  Worker& w = workers_[worker_id];
  if (w.leaving) return;  // its last reports while it stops
  // Identity comes from the topic (the broker's ACL ties it to the worker's account), never
  // from the payload.
  bj::object report = payload;
  report["id"] = worker_id;
  report["name"] = w.name;
  auto r = sched::resourcesFromJson(report);
  if (!r)
    return spdlog::warn("worker {}: bad information report: {}", worker_id, r.error().message);
  r->id = worker_id;
  r->name = w.name;
  r->active = true;
  w.resources = *r;
  w.last_seen = deps_.clock.now();
  bool joined = !w.active;
  if (joined) spdlog::info("worker '{}' is active", w.name);
  w.active = true;
  scheduler_.upsertNode(*r);
  // The root places services by this report: a new worker is usable there at once, not a tick
  // later (`oakestra up` waits for it before it says the deployment is up).
  if (joined) reportResources(false);
}

Orchestrator::Instance* Orchestrator::findByJob(const std::string& job_name, int64_t n) {
  for (auto& [k, i] : instances_) {
    if (i.job_name == job_name && i.number == n) return &i;
  }
  return nullptr;
}

void Orchestrator::onJobStatus(const std::string& worker_id, const bj::object& p) {
  auto job = json::getString(p, "sname").value_or("");
  auto number = instanceNumber(p, "instance");
  auto status = json::getString(p, "status").value_or("");
  // Without a name there is nothing to look up, nor to delete.
  if (job.empty() || !number) {
    return spdlog::warn("worker {}: status report without sname/instance; ignored", worker_id);
  }
  int64_t n = *number;
  Instance* i = findByJob(job, n);
  if (i == nullptr || i->worker_id != worker_id) {
    if (status != "UNDEPLOYED" && status != "DEAD") {
      spdlog::info("worker {} reports {} of unknown instance {}.{}; removing it", worker_id, status,
                   job, n);
      Instance ghost;
      ghost.job_name = job;
      ghost.number = n;
      sendDelete(worker_id, ghost);
    }
    return;
  }
  i->missing_since = {};  // the worker knows about it
  if (auto ip = json::getString(p, "publicip")) i->publicip = *ip;
  if (auto logs = json::getString(p, "logs"))
    i->logs = link::lastBytes(*logs, link::kMaxInstanceLogsBytes);
  if (status == "ACTIVE") {
    i->namespace_ip = json::getString(p, "namespace_ip").value_or("");
    i->namespace_ip_v6 = json::getString(p, "namespace_ip_v6").value_or("");
    i->host_ip = json::getString(p, "host_ip").value_or("");
    i->host_port = json::getInt(p, "host_port").value_or(0);
  }
  auto detail = json::getString(p, "status_detail").value_or("");
  // The worker says ACTIVE when the instance started; the lifecycle calls that RUNNING.
  if (status == "ACTIVE") status = "RUNNING";
  if (status == "UNDEPLOYED") return;
  // Launch progress (an image pull) only refines an instance still waiting for its start.
  if (status == "NODE_SCHEDULED" && i->status != "NODE_SCHEDULED") return;
  setStatus(*i, status, detail);
}

void Orchestrator::onJobResources(const std::string& worker_id, const bj::object& p) {
  const auto* services = json::findArray(p, "services");
  if (services == nullptr) return;
  std::set<std::pair<std::string, int64_t>> held;
  for (const auto& s : *services) {
    if (!s.is_object()) continue;
    const auto& o = s.get_object();
    auto job = json::getString(o, "job_name").value_or("");
    auto number = instanceNumber(o, "instance");
    if (job.empty() || !number) {
      spdlog::warn("worker {}: usage entry without job_name/instance; ignored", worker_id);
      continue;
    }
    int64_t n = *number;
    held.emplace(job, n);
    Instance* i = findByJob(job, n);
    if (i == nullptr || i->worker_id != worker_id) {
      Instance ghost;
      ghost.job_name = job;
      ghost.number = n;
      ghost.service["virtualization"] = json::getString(o, "virtualization").value_or("docker");
      spdlog::info("worker {} runs {}.instance.{} which this cluster does not want; removing it",
                   worker_id, job, n);
      sendDelete(worker_id, ghost);
      continue;
    }
    i->cpu = numberOrString(o, "cpu");
    i->memory = numberOrString(o, "memory");
  }
  // An instance the worker should hold but does not list (its deploy message was lost, or the
  // worker lost it without a report) fails when that lasts a lease (tick), and is placed again.
  auto now = deps_.clock.now();
  for (auto& [k, i] : instances_) {
    if (i.worker_id != worker_id || (i.status != "NODE_SCHEDULED" && i.status != "RUNNING"))
      continue;
    if (held.count({i.job_name, i.number})) {
      i.missing_since = {};
    } else if (i.missing_since == Clock::TimePoint{}) {
      i.missing_since = now;
    }
  }
}

void Orchestrator::tick() {
  auto now = deps_.clock.now();
  auto silent = [&](const Worker& w) { return now - w.last_seen > options_.worker_lease; };
  for (auto& [id, w] : workers_) {
    if (w.active && silent(w)) {
      w.active = false;
      scheduler_.setActive(id, false);
      if (metrics_) metrics_->workers_lost.inc();
      spdlog::warn("worker '{}' silent for more than {}s: lost; placing its instances elsewhere",
                   w.name, options_.worker_lease.count());
    }
  }
  for (auto& [k, i] : instances_) {
    // Checked per instance, not only when a lease runs out: a worker recovered from the store
    // starts inactive, and its instances must move too if it never reports again.
    if (auto w = workers_.find(i.worker_id);
        w != workers_.end() && !w->second.active && silent(w->second) && i.status != "COMPLETED") {
      setStatus(i, "FAILED", fmt::format("worker '{}' lost", w->second.name));
    }
    if ((i.status == "NODE_SCHEDULED" || i.status == "RUNNING") &&
        i.missing_since != Clock::TimePoint{} && now - i.missing_since > options_.worker_lease) {
      i.missing_since = {};
      auto w = workers_.find(i.worker_id);
      setStatus(i, "FAILED",
                fmt::format("worker '{}' does not hold the instance",
                            w == workers_.end() ? i.worker_id : w->second.name));
    }
    bool retry = i.status == "FAILED" || i.status == "DEAD" ||
                 i.status == sched::kNoWorkerCapacity || i.status == "CLUSTER_SCHEDULED";
    if (!retry) continue;
    if (!i.worker_id.empty()) {
      // Make sure the old copy is gone before a new one starts elsewhere.
      if (workers_.count(i.worker_id) && workers_[i.worker_id].active) sendDelete(i.worker_id, i);
      if (auto req = sched::requirementsFromService(i.service); req)
        scheduler_.release(i.worker_id, *req);
      i.worker_id.clear();
    }
    place(i);
  }
  reportResources(false);
}

link::WorkerSummary Orchestrator::summaryOf(const Worker& w) {
  link::WorkerSummary s{w.id, w.name, w.active};
  s.cores_total = w.resources.cores_total;
  s.memory_total_mb = w.resources.memory_total_mb;
  s.runtimes = w.resources.runtimes;
  for (const auto& [arch, cap] : w.resources.per_arch) s.archs.push_back(arch);
  if (auto u = w.resources.capabilities.find("unikernel"); u != w.resources.capabilities.end()) {
    if (auto a = u->second.find("acceleration"); a != u->second.end()) s.acceleration = a->second;
  }
  return s;
}

void Orchestrator::reportResources(bool force) {
  std::vector<sched::Resources> active;
  for (const auto& [id, w] : workers_) {
    if (w.active) active.push_back(w.resources);
  }
  auto text = link::encodeResources(sched::toJson(
      sched::aggregate("", options_.name, options_.location, options_.radius_km, active)));
  auto now = deps_.clock.now();
  if (force || text != last_resources_) {
    deps_.to_root(text);
    last_resources_ = text;
    last_root_report_ = now;
  } else if (now - last_root_report_ >= options_.root_heartbeat) {
    deps_.to_root(link::encodeHeartbeat());
    last_root_report_ = now;
  }
  std::vector<link::WorkerSummary> workers;
  workers.reserve(workers_.size());
  for (const auto& [id, w] : workers_) workers.push_back(summaryOf(w));
  if (auto list = link::encodeWorkers(workers); force || list != last_workers_) {
    deps_.to_root(list);
    last_workers_ = std::move(list);
  }
}

bj::array Orchestrator::workerResources() const {
  bj::array out;
  for (const auto& [id, w] : workers_) {
    auto r = sched::toJson(w.resources);
    r["id"] = id;
    r["name"] = w.name;
    r["active"] = w.active;
    out.push_back(std::move(r));
  }
  return out;
}

Result<Orchestrator::Placement> Orchestrator::placementOf(const std::string& service_id,
                                                          int64_t n) const {
  auto it = instances_.find(key(service_id, n));
  if (it == instances_.end()) {
    return makeError(
        ErrorCode::kNotFound,
        fmt::format("instance {} of service {} is not on this cluster", n, service_id));
  }
  const Instance& i = it->second;
  if (i.worker_id.empty()) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("the instance is on no worker yet ({})", i.status));
  }
  auto w = workers_.find(i.worker_id);
  if (w == workers_.end() || !w->second.active) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("worker '{}' is not active (lost, or not reporting yet)",
                                 w == workers_.end() ? i.worker_id : w->second.name));
  }
  return Placement{i.worker_id, w->second.name,
                   fmt::format("{}.instance.{}", i.job_name, i.number)};
}

void Orchestrator::forEachWorker(const std::function<void(const WorkerView&)>& fn) const {
  for (const auto& [id, w] : workers_) {
    fn(WorkerView{id, w.name, w.active, w.last_seen, w.resources});
  }
}

std::optional<std::string> Orchestrator::workerName(const std::string& id) const {
  auto it = workers_.find(id);
  if (it == workers_.end()) return std::nullopt;
  return it->second.name;
}

std::map<std::string, size_t> Orchestrator::instanceCounts() const {
  std::map<std::string, size_t> out;
  for (const auto& [k, i] : instances_) ++out[i.status];
  return out;
}

bj::array Orchestrator::instances() const {
  bj::array out;
  for (const auto& [k, i] : instances_) out.push_back(link::toJson(stateOf(i)));
  return out;
}

}  // namespace oak::cluster
