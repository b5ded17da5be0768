#include "root/cluster_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>
#include <set>

#include "common/json.h"
#include "common/object_id.h"
#include "logs/log_buffer.h"
#include "root/accounts.h"
#include "root/alerts.h"
#include "root/log_requests.h"
#include "root/root_metrics.h"
#include "root/service_routes.h"
#include "scheduler/scheduler.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

// Biggest control_logs batch a cluster may send (its forwarder sends at most 500 records).
constexpr size_t kMaxControlLogBatch = 2000;

// Instance failures and failed placements in a cluster, which the root's alerts count.
void noteForAlerts(Alerts& alerts, const bj::object& service, const link::InstanceState& st,
                   const std::string& cluster) {
  if (st.status == "FAILED" || st.status == "DEAD") {
    alerts.instanceFailed(json::getString(service, "job_name").value_or(st.service_id));
  } else if (st.status == sched::kNoWorkerCapacity) {
    alerts.placementFailed(cluster);
  }
}

double nowSeconds(const Clock& clock) {
  return std::chrono::duration<double>(clock.now().time_since_epoch()).count();
}

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

// The fields clients of the original read from a cluster document, derived from the resources.
void setCompatibilityFields(bj::object& cluster, const bj::object& r) {
  cluster["total_cpu_cores"] = number(r, "cores_total");
  double total = number(r, "cores_total");
  cluster["aggregated_cpu_percent"] =
      total > 0 ? 100.0 * (1 - number(r, "cores_free") / total) : 0.0;
  cluster["memory_in_mb"] = number(r, "memory_free_mb");
  double mem_total = number(r, "memory_total_mb");
  cluster["aggregated_memory_percent"] =
      mem_total > 0 ? 100.0 * (1 - number(r, "memory_free_mb") / mem_total) : 0.0;
  cluster["total_gpu_cores"] = number(r, "gpus_total");
  cluster["active_nodes"] = number(r, "nodes");
  if (const auto* runtimes = json::findArray(r, "runtimes")) cluster["virtualization"] = *runtimes;
  if (const auto* per_arch = json::findObject(r, "per_arch")) {
    bj::object agg;
    for (const auto& [arch, cap] : *per_arch) {
      if (!cap.is_object()) continue;
      const auto& c = cap.get_object();
      double ct = number(c, "cores_total");
      agg[arch] =
          bj::object{{"cpu_cores", ct},
                     {"cpu_percent", ct > 0 ? 100.0 * (1 - number(c, "cores_free") / ct) : 0.0},
                     {"memory_in_mb", number(c, "memory_free_mb")}};
    }
    cluster["aggregation_per_architecture"] = std::move(agg);
  }
}

}  // namespace

ClusterRegistry::ClusterRegistry(RootContext& ctx) : ctx_(ctx) {
  auto stale = ctx_.store.find(coll::kClusters, "connected", bj::value(true));
  if (!stale) {
    spdlog::error("clusters: {}", stale.error().message);
    return;
  }
  store::WriteBatch batch;
  for (auto& doc : *stale) {
    doc["connected"] = false;
    std::string id = Accounts::idOf(doc);
    batch.put(coll::kClusters, id, std::move(doc));
  }
  if (auto st = ctx_.store.apply(batch); !st) spdlog::error("clusters: {}", st.error().message);
}

uint64_t ClusterRegistry::attach(std::shared_ptr<ClusterChannel> channel, std::string remote) {
  uint64_t key = next_key_++;
  sessions_[key] = Session{std::move(channel), std::move(remote), {}};
  return key;
}

ClusterRegistry::Session* ClusterRegistry::sessionOf(const std::string& cluster_id) {
  for (auto& [key, s] : sessions_) {
    if (s.cluster_id == cluster_id) return &s;
  }
  return nullptr;
}

bool ClusterRegistry::connected(const std::string& cluster_id) const {
  for (const auto& [key, s] : sessions_) {
    if (s.cluster_id == cluster_id) return true;
  }
  return false;
}

void ClusterRegistry::onMessage(uint64_t key, std::string_view text) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  auto env = link::decode(text);
  Status result;
  bool known = true;
  if (!env) {
    result = env.error();
  } else if (s.cluster_id.empty() && env->type != "hello") {
    result = makeError(ErrorCode::kInvalidArgument, "the first message must be 'hello'");
  } else if (env->type == "hello") {
    result = onHello(s, *env);
  } else if (env->type == "resources") {
    const auto* r = json::findObject(env->body, "resources");
    result = r ? onResources(s, *r)
               : Status(makeError(ErrorCode::kInvalidArgument, "resources.resources: missing"));
  } else if (env->type == "heartbeat") {
    result = touch(s.cluster_id);
  } else if (env->type == "instance_status") {
    auto state = link::instanceStateFromJson(env->body);
    result = state ? applyInstanceState(s.cluster_id, *state) : Status(state.error());
  } else if (ServiceRoutes::handles(env->type)) {
    result = ctx_.routes ? ctx_.routes->onMessage(s.cluster_id, *env) : Status{};
  } else if (env->type == "control_logs") {
    result = onControlLogs(s, *env);
  } else if (env->type == "workers") {
    auto list = link::workersFrom(*env);
    if (list) workers_[s.cluster_id] = std::move(*list);
    if (!list) result = list.error();
  } else if (env->type == "logs_chunk") {
    auto chunk = link::logsChunkFrom(*env);
    if (chunk && ctx_.logs) ctx_.logs->onChunk(s.cluster_id, *chunk);
    if (!chunk) result = chunk.error();
  } else {
    known = false;
    result =
        makeError(ErrorCode::kInvalidArgument, fmt::format("unknown message type '{}'", env->type));
  }
  if (ctx_.metrics) {
    ctx_.metrics->clusterMessage(!env ? "malformed" : known ? env->type : "unknown");
  }
  if (!result) {
    spdlog::warn("cluster link from {} ({}): {}", s.remote_address,
                 s.cluster_id.empty() ? "not registered" : s.cluster_id, result.error().message);
    if (s.cluster_id.empty()) {
      s.channel->send(link::encodeError(result.error().message));
      s.channel->close(result.error().message);
    }
  }
}

void ClusterRegistry::onClose(uint64_t key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  std::string id = it->second.cluster_id;
  sessions_.erase(it);
  if (id.empty()) return;
  spdlog::info("cluster {} disconnected", id);
  if (ctx_.logs) ctx_.logs->onClusterGone(id);
  if (ctx_.routes) ctx_.routes->onClusterGone(id);
  if (auto doc = ctx_.store.get(coll::kClusters, id); doc && *doc) {
    (**doc)["connected"] = false;
    store::WriteBatch batch;
    batch.put(coll::kClusters, id, std::move(**doc));
    if (auto st = ctx_.store.apply(batch); !st)
      spdlog::error("cluster {}: {}", id, st.error().message);
  }
}

Status ClusterRegistry::onHello(Session& s, const link::Envelope& e) {
  OAK_ASSIGN_OR_RETURN(auto hello, link::helloFrom(e));
  if (hello.name.empty() || hello.name.size() > 64) {
    return makeError(ErrorCode::kInvalidArgument, "hello.name: must have 1 to 64 characters");
  }
  OAK_ASSIGN_OR_RETURN(auto existing,
                       ctx_.store.find(coll::kClusters, "cluster_name", bj::value(hello.name)));
  bj::object doc;
  std::string id;
  if (!existing.empty()) {
    doc = std::move(existing.front());
    id = Accounts::idOf(doc);
    if (Session* other = sessionOf(id); other && other != &s) {
      // The same cluster reconnecting before its old connection timed out: the new one wins.
      spdlog::warn("cluster '{}' connected again from {}; closing the older connection", hello.name,
                   s.remote_address);
      other->channel->close("replaced by a newer connection of the same cluster");
      other->cluster_id.clear();
      // What was asked over the old connection is answered over none.
      if (ctx_.logs) ctx_.logs->onClusterGone(id);
      if (ctx_.routes) ctx_.routes->onClusterGone(id);
    }
  } else {
    id = newObjectId();
    doc["_id"] = oidJson(id);
    doc["cluster_name"] = hello.name;
  }
  doc["cluster_location"] = hello.location.empty() ? "location-unknown" : hello.location;
  doc["ip"] = s.remote_address;
  doc["connected"] = true;
  doc["version"] = hello.version;
  s.cluster_id = id;
  s.cluster_name = hello.name;
  store::WriteBatch batch;
  batch.put(coll::kClusters, id, doc);
  OAK_TRY(ctx_.store.apply(batch));
  OAK_TRY(onResources(s, hello.resources));
  spdlog::info("cluster '{}' ({}) connected from {}", hello.name, id, s.remote_address);
  s.channel->send(link::encodeWelcome(id));
  reconcile(s, hello.instances);
  return {};
}

Status ClusterRegistry::onResources(Session& s, const bj::object& resources) {
  OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kClusters, s.cluster_id));
  if (!doc) return makeError(ErrorCode::kNotFound, "cluster document vanished");
  (*doc)["resources"] = resources;
  setCompatibilityFields(*doc, resources);
  double now = nowSeconds(ctx_.clock);
  (*doc)["last_modified_timestamp"] = now;
  store::WriteBatch batch;
  batch.put(coll::kClusters, s.cluster_id, std::move(*doc));
  return ctx_.store.apply(batch);
}

Status ClusterRegistry::touch(const std::string& cluster_id) {
  OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kClusters, cluster_id));
  if (!doc) return makeError(ErrorCode::kNotFound, "cluster document vanished");
  (*doc)["last_modified_timestamp"] = nowSeconds(ctx_.clock);
  store::WriteBatch batch;
  batch.put(coll::kClusters, cluster_id, std::move(*doc));
  return ctx_.store.apply(batch);
}

Status ClusterRegistry::applyInstanceState(const std::string& cluster_id,
                                           const link::InstanceState& st) {
  OAK_ASSIGN_OR_RETURN(auto service, ctx_.store.get(coll::kServices, st.service_id));
  bj::object* instance = nullptr;
  if (service) {
    if (auto* list = service->if_contains("instance_list"); list && list->is_array()) {
      for (auto& inst : list->as_array()) {
        if (inst.is_object() &&
            json::getInt(inst.as_object(), "instance_number") == st.instance_number &&
            json::getString(inst.as_object(), "cluster_id") == cluster_id) {
          instance = &inst.as_object();
        }
      }
    }
  }
  if (instance == nullptr) {
    // The root does not want this instance (any more): withdraw it.
    undeploy(cluster_id, st.service_id, st.instance_number);
    return {};
  }
  bj::object before = *service;
  if (json::getString(*instance, "status") != st.status) {
    if (ctx_.metrics) ctx_.metrics->placement.statusChanged(st.status);
    if (ctx_.alerts) {
      const Session* owner = sessionOf(cluster_id);
      noteForAlerts(*ctx_.alerts, *service, st, owner ? owner->cluster_name : cluster_id);
    }
  }
  (*instance)["status"] = st.status;
  (*instance)["status_detail"] =
      st.status_detail.empty() ? "No extra information" : st.status_detail;
  (*instance)["worker_id"] = st.worker_id;
  (*instance)["worker_name"] = st.worker_name;
  (*instance)["publicip"] = st.publicip;
  (*instance)["cpu"] = st.cpu;
  (*instance)["memory"] = st.memory;
  // The last lines of an ended instance; kept until the cluster sends newer ones.
  if (!st.logs.empty()) (*instance)["logs"] = link::lastBytes(st.logs, link::kMaxInstanceLogsBytes);
  (*instance)["namespace_ip"] = st.namespace_ip;
  (*instance)["namespace_ip_v6"] = st.namespace_ip_v6;
  (*instance)["host_ip"] = st.host_ip;
  (*instance)["host_port"] = st.host_port;
  (*service)["status"] = st.status;
  (*service)["status_detail"] = st.status_detail;
  store::WriteBatch batch;
  batch.put(coll::kServices, st.service_id, *service);
  OAK_TRY(ctx_.store.apply(batch));
  if (ctx_.routes) ctx_.routes->changed(&before, *service);
  return touch(cluster_id);
}

Status ClusterRegistry::onControlLogs(const Session& s, const link::Envelope& e) {
  auto batch = logs::batchFromJson(e.body, kMaxControlLogBatch);
  if (!batch) {
    ++control_logs_rejected_;
    return makeError(ErrorCode::kInvalidArgument, "control_logs." + batch.error().message);
  }
  if (ctx_.control_logs == nullptr) return {};
  control_logs_received_ += batch->records.size();
  for (auto& r : batch->records) {
    // Only what the cluster may speak for: itself and its workers.
    if (r.component != "worker") {
      r.component = "cluster";
      r.node = s.cluster_name;
    }
    r.cluster = s.cluster_name;
    ctx_.control_logs->append(std::move(r));
  }
  return {};
}

void ClusterRegistry::reconcile(Session& s, const std::vector<link::InstanceState>& reported) {
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& st : reported) {
    seen.emplace(st.service_id, st.instance_number);
    if (auto r = applyInstanceState(s.cluster_id, st); !r) {
      spdlog::warn("cluster {}: {}", s.cluster_id, r.error().message);
    }
  }
  auto services = ctx_.store.list(coll::kServices);
  if (!services) {
    spdlog::error("reconciling cluster {}: {}", s.cluster_id, services.error().message);
    return;
  }
  for (const auto& svc : *services) {
    const auto* list = json::findArray(svc, "instance_list");
    if (list == nullptr) continue;
    std::string sid = Accounts::idOf(svc);
    for (const auto& inst : *list) {
      if (!inst.is_object() || json::getString(inst.get_object(), "cluster_id") != s.cluster_id)
        continue;
      auto n = json::getInt(inst.get_object(), "instance_number").value_or(-1);
      if (n >= 0 && !seen.count({sid, n})) {
        s.channel->send(link::encodeDeploy({svc, n}));
      }
    }
  }
}

void ClusterRegistry::deploy(const std::string& cluster_id, const bj::object& service,
                             int64_t instance_number) {
  if (Session* s = sessionOf(cluster_id)) {
    s->channel->send(link::encodeDeploy({service, instance_number}));
  } else {
    spdlog::info("cluster {} is not connected; instance {} of {} goes out when it reconnects",
                 cluster_id, instance_number, Accounts::idOf(service));
  }
}

bool ClusterRegistry::send(const std::string& cluster_id, std::string text) {
  Session* s = sessionOf(cluster_id);
  if (s == nullptr) return false;
  s->channel->send(std::move(text));
  return true;
}

void ClusterRegistry::undeploy(const std::string& cluster_id, const std::string& service_id,
                               int64_t instance_number) {
  if (ctx_.logs) ctx_.logs->onUndeployed(cluster_id, service_id, instance_number);
  if (Session* s = sessionOf(cluster_id)) {
    s->channel->send(link::encodeUndeploy({service_id, instance_number}));
  }
}

}  // namespace oak::root
