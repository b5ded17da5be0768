#include "cluster/route_cache.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "link/net_messages.h"
#include "net/ip.h"

namespace oak::cluster {

namespace bj = boost::json;

namespace {

constexpr std::string_view kSubnets = "subnets";

// Addresses compare in canonical form: workers may ask with any spelling.
std::string canonical(const std::string& key) {
  if (auto a = net::Ipv4Address::parse(key)) return a->toString();
  if (auto a = net::Ipv6Address::parse(key)) return a->toString();
  return key;
}

bool routesMention(const bj::object& routes, const std::string& address) {
  auto matches = [&](const bj::object& o, std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
      if (auto a = json::getString(o, k); a && canonical(*a) == address) return true;
    }
    return false;
  };
  if (const auto* ips = json::findArray(routes, "service_ip_list")) {
    for (const auto& v : *ips) {
      if (v.is_object() && matches(v.get_object(), {"Address", "Address_v6"})) return true;
    }
  }
  if (const auto* list = json::findArray(routes, "instance_list")) {
    for (const auto& v : *list) {
      if (v.is_object() && matches(v.get_object(), {"instance_ip", "instance_ip_v6"})) return true;
    }
  }
  return false;
}

}  // namespace

void RouteCache::publish(const std::string& worker_id, std::string_view suffix,
                         const bj::object& o) {
  deps_.bus.publish(fmt::format("nodes/{}/net/{}", worker_id, suffix), bj::serialize(o), 1);
}

void RouteCache::onBusMessage(const mqtt::Message& m) {
  // nodes/<worker>/net/<what>
  std::string_view topic = m.topic;
  if (!topic.starts_with("nodes/")) return;
  auto slash = topic.find('/', 6);
  if (slash == std::string_view::npos || topic.substr(slash, 5) != "/net/") return;
  std::string worker_id(topic.substr(6, slash - 6));
  std::string_view what = topic.substr(slash + 5);
  auto v = json::parse(m.payload.empty() ? "{}" : m.payload);
  if (!v || !v->is_object()) {
    return spdlog::warn("malformed payload on {}; ignored", m.topic);
  }
  const auto& body = v->get_object();
  if (what == "subnet") {
    onSubnetRequest(worker_id);
  } else if (what == "tablequery/request") {
    auto key = json::getString(body, "key").value_or("");
    if (key.empty() || key.size() > 256) {
      return spdlog::warn("worker {}: table query without a valid key; ignored", worker_id);
    }
    onTableQuery(worker_id, canonical(key));
  } else if (what == "interest/remove") {
    onInterestRemove(worker_id, json::getString(body, "job_name").value_or(""));
  }
}

void RouteCache::onSubnetRequest(const std::string& worker_id) {
  auto stored = deps_.store.get(kSubnets, worker_id);
  if (stored && *stored) {
    return publish(
        worker_id, "subnet/result",
        bj::object{{"subnet", (**stored)["subnet"]}, {"subnet_v6", (**stored)["subnet_v6"]}});
  }
  subnet_waiting_.insert(worker_id);
  if (!deps_.to_root(link::encodeSubnetRequest({worker_id}))) {
    // The worker asks again; the root may be back by then.
    publish(worker_id, "subnet/result",
            bj::object{{"error", "the cluster is not connected to the root"}});
  }
}

RouteCache::Job* RouteCache::find(const std::string& key, std::string* job_name) {
  if (auto it = jobs_.find(key); it != jobs_.end()) {
    *job_name = it->first;
    return &it->second;
  }
  for (auto& [name, job] : jobs_) {
    if (routesMention(job.routes, key)) {
      *job_name = name;
      return &job;
    }
  }
  return nullptr;
}

void RouteCache::answer(const std::string& worker_id, const std::string& key,
                        const bj::object* routes) {
  publish(worker_id, "tablequery/result",
          bj::object{{"key", key}, {"routes", routes ? bj::value(*routes) : bj::value(nullptr)}});
}

void RouteCache::onTableQuery(const std::string& worker_id, const std::string& key) {
  std::string name;
  if (Job* job = find(key, &name)) {
    job->workers.insert(worker_id);
    return answer(worker_id, key, &job->routes);
  }
  auto [it, fresh] = pending_.try_emplace(key);
  it->second.workers.insert(worker_id);
  if (!fresh) return;
  it->second.since = deps_.clock.now();
  if (!deps_.to_root(link::encodeTableQuery({key}))) {
    pending_.erase(it);
    answer(worker_id, key, nullptr);
  }
}

void RouteCache::onInterestRemove(const std::string& worker_id, const std::string& job_name) {
  auto it = jobs_.find(job_name);
  if (it == jobs_.end()) return;  // idempotent
  it->second.workers.erase(worker_id);
  if (!it->second.workers.empty()) return;
  jobs_.erase(it);
  deps_.to_root(link::encodeInterestRemove(job_name));
}

bool RouteCache::onRootMessage(const link::Envelope& e) {
  if (e.type == "subnet") {
    auto s = link::subnetFrom(e);
    if (!s) {
      spdlog::warn("root link: {}", s.error().message);
      return true;
    }
    if (!subnet_waiting_.erase(s->worker_id)) return true;
    if (!s->error.empty()) {
      publish(s->worker_id, "subnet/result", bj::object{{"error", s->error}});
      return true;
    }
    bj::object doc{{"subnet", s->subnet}, {"subnet_v6", s->subnet_v6}};
    store::WriteBatch batch;
    batch.put(kSubnets, s->worker_id, doc);
    if (auto st = deps_.store.apply(batch); !st) {
      spdlog::error("storing the subnets of worker {}: {}", s->worker_id, st.error().message);
    }
    publish(s->worker_id, "subnet/result", doc);
    return true;
  }
  if (e.type == "table" || e.type == "table_update") {
    auto t = link::tableFrom(e);
    if (!t) {
      spdlog::warn("root link: {}", t.error().message);
      return true;
    }
    if (e.type == "table") {
      onTable(canonical(t->key), t->routes);
    } else {
      onTableUpdate(t->key, t->routes);
    }
    return true;
  }
  return false;
}

void RouteCache::onTable(const std::string& key, const std::optional<bj::object>& routes) {
  auto it = pending_.find(key);
  std::set<std::string> workers;
  if (it != pending_.end()) {
    workers = std::move(it->second.workers);
    pending_.erase(it);
  }
  if (!routes) {
    for (const auto& w : workers) answer(w, key, nullptr);
    return;
  }
  std::string name = json::getString(*routes, "job_name").value_or("");
  if (name.empty()) return spdlog::warn("root link: routes without a job name; ignored");
  Job& job = jobs_[name];
  if (job.routes != *routes) {
    // Asked again after a reconnect: what changed meanwhile reaches the workers that use it.
    bj::object change{{"key", name}, {"routes", *routes}};
    for (const auto& w : job.workers) publish(w, "table", change);
  }
  job.routes = *routes;
  for (const auto& w : workers) {
    job.workers.insert(w);
    answer(w, key, &job.routes);
  }
  // Asked again after a reconnect, nobody waiting: the interest stays with the root only if
  // some worker still needs it.
  if (job.workers.empty()) {
    jobs_.erase(name);
    deps_.to_root(link::encodeInterestRemove(name));
  }
}

void RouteCache::onTableUpdate(const std::string& job_name,
                               const std::optional<bj::object>& routes) {
  auto it = jobs_.find(job_name);
  if (it == jobs_.end()) return;
  bj::object change{{"key", job_name},
                    {"routes", routes ? bj::value(*routes) : bj::value(nullptr)}};
  for (const auto& w : it->second.workers) publish(w, "table", change);
  if (routes) {
    it->second.routes = *routes;
  } else {
    jobs_.erase(it);  // the service is gone
  }
}

void RouteCache::onRootConnected() {
  for (const auto& [name, job] : jobs_) deps_.to_root(link::encodeTableQuery({name}));
  for (const auto& [key, p] : pending_) deps_.to_root(link::encodeTableQuery({key}));
  for (const auto& w : subnet_waiting_) deps_.to_root(link::encodeSubnetRequest({w}));
}

void RouteCache::tick() {
  auto now = deps_.clock.now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.since < kQueryTimeout) {
      ++it;
      continue;
    }
    spdlog::warn("the root did not answer the table query for {} in time", it->first);
    for (const auto& w : it->second.workers) answer(w, it->first, nullptr);
    it = pending_.erase(it);
  }
}

}  // namespace oak::cluster
