#include "scheduler/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <tuple>

#include "scheduler/geo.h"

namespace oak::sched {

namespace {

// Reservations are sums and differences of doubles; a node that has exactly what is asked fits.
constexpr double kEps = 1e-9;

bool enough(double free, double need) {
  return free + kEps >= need;
}

// The requirement checks, in the order a failure is reported. A node that fails a later check
// came closer to fitting. Geo constraint i is check kGeo + i.
enum Check : int { kRuntime, kArch, kMemory, kCores, kGpus, kDisk, kGeo };
constexpr int kFits = INT_MAX;

// Runtimes as bits, so the scan over all nodes compares integers instead of strings. Names other
// than the known ones share one bit and are then compared by name.
constexpr std::array<std::string_view, 2> kKnownRuntimes = {"docker", "unikernel"};
constexpr uint32_t kOtherRuntime = 1u << kKnownRuntimes.size();

uint32_t runtimeBit(std::string_view name) {
  for (size_t i = 0; i < kKnownRuntimes.size(); ++i) {
    if (kKnownRuntimes[i] == name) return 1u << i;
  }
  return kOtherRuntime;
}

uint32_t runtimeBits(const std::vector<std::string>& names) {
  uint32_t bits = 0;
  for (const auto& n : names) bits |= runtimeBit(n);
  return bits;
}

struct Fit {
  int unmet = kFits;  // the first check that failed
  double score = 0;   // when it fits: share of memory and cores left free; lower is tighter
  const std::string* arch = nullptr;  // the architecture whose capacity it used
};

double share(double left, double total) {
  return total > 0 ? std::max(0.0, left) / total : 0;
}

// Memory and cores, against a node's totals or one of its architectures.
Fit fitCapacity(double cores_total, double cores_free, double memory_total, double memory_free,
                const Requirements& req) {
  if (!enough(memory_free, req.memory_mb)) return {kMemory};
  if (!enough(cores_free, req.vcpus)) return {kCores};
  return {kFits, share(memory_free - req.memory_mb, memory_total) +
                     share(cores_free - req.vcpus, cores_total)};
}

// Whether `a` is preferable to `b` for the same node.
bool closer(const Fit& a, const Fit& b) {
  if (a.unmet != b.unmet) return a.unmet > b.unmet;
  if (a.unmet != kFits || a.score != b.score) return a.score < b.score;
  return b.arch == nullptr || (a.arch != nullptr && *a.arch < *b.arch);
}

bool within(const Resources& r, const GeoConstraint& g) {
  return r.location && distanceKm(g.center, *r.location) - r.radius_km <= g.max_km + kEps;
}

Fit evaluate(const Resources& r, uint32_t node_bits, uint32_t wanted_bit, const Requirements& req) {
  if ((node_bits & wanted_bit) == 0 ||
      (wanted_bit == kOtherRuntime &&
       std::find(r.runtimes.begin(), r.runtimes.end(), req.runtime) == r.runtimes.end())) {
    return {kRuntime};
  }
  Fit fit;
  if (req.arch.empty()) {
    fit = fitCapacity(r.cores_total, r.cores_free, r.memory_total_mb, r.memory_free_mb, req);
  } else {
    fit.unmet = kArch;
    for (const std::string& a : req.arch) {
      auto it = r.per_arch.find(a);
      if (it == r.per_arch.end()) continue;
      const ArchCapacity& c = it->second;
      Fit f = fitCapacity(c.cores_total, c.cores_free, c.memory_total_mb, c.memory_free_mb, req);
      f.arch = &it->first;
      if (closer(f, fit)) fit = f;
    }
  }
  if (fit.unmet != kFits) return fit;
  if (!enough(r.gpus_free, req.vgpus)) return {kGpus};
  if (!enough(r.disk_free_mb, req.disk_mb)) return {kDisk};
  for (size_t i = 0; i < req.geo.size(); ++i) {
    if (!within(r, req.geo[i])) return {kGeo + static_cast<int>(i)};
  }
  return fit;
}

std::string plural(double n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string alternatives(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}'{}'", i == 0 ? "" : " or ", names[i]);
  }
  return out;
}

// What a node lacks when check `unmet` failed, as the object of "has ...".
std::string lacking(int unmet, const Requirements& req) {
  switch (unmet) {
    case kRuntime:
      return fmt::format("runtime '{}'", req.runtime);
    case kArch:
      return "architecture " + alternatives(req.arch);
    case kMemory:
      return fmt::format("{} MB free memory", req.memory_mb);
    case kCores:
      return plural(req.vcpus, "free core", "free cores");
    case kGpus:
      return plural(req.vgpus, "free GPU", "free GPUs");
    case kDisk:
      return fmt::format("{} MB free disk", req.disk_mb);
    default:
      break;
  }
  const GeoConstraint& g = req.geo.at(static_cast<size_t>(unmet - kGeo));
  if (g.latency_ms) {
    return fmt::format("a location within {} ms round trip ({} km) of {},{}", *g.latency_ms,
                       g.max_km, g.center.lat, g.center.lon);
  }
  return fmt::format("a location within {} km of {},{}", g.max_km, g.center.lat, g.center.lon);
}

}  // namespace

void Scheduler::upsertNode(Resources r) {
  auto [it, added] = index_.try_emplace(r.id, nodes_.size());
  uint32_t bits = runtimeBits(r.runtimes);
  if (added) {
    nodes_.push_back(Node{std::move(r), bits, {}});
  } else {
    nodes_[it->second] = Node{std::move(r), bits, {}};
  }
}

void Scheduler::removeNode(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  size_t i = it->second;
  index_.erase(it);
  if (i + 1 != nodes_.size()) {
    nodes_[i] = std::move(nodes_.back());
    index_[nodes_[i].r.id] = i;
  }
  nodes_.pop_back();
}

void Scheduler::setActive(const std::string& id, bool active) {
  if (auto it = index_.find(id); it != index_.end()) nodes_[it->second].r.active = active;
}

const Resources* Scheduler::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &nodes_[it->second].r;
}

Placement Scheduler::place(const Requirements& req) {
  const bool root = level_ == Level::kRoot;
  const std::string* cluster = root && req.direct_cluster ? &*req.direct_cluster : nullptr;
  const std::vector<std::string>* wanted =
      !root && !req.direct_nodes.empty() ? &req.direct_nodes : nullptr;

  const uint32_t wanted_bit = runtimeBit(req.runtime);
  size_t targeted = 0, active = 0;
  int closest = -1;  // the furthest check a targeted, active node reached
  Node* best = nullptr;
  Fit best_fit;
  for (Node& n : nodes_) {
    if (cluster != nullptr && n.r.name != *cluster) continue;
    if (wanted != nullptr && std::find(wanted->begin(), wanted->end(), n.r.name) == wanted->end()) {
      continue;
    }
    ++targeted;
    if (!n.r.active) continue;
    ++active;
    Fit f = evaluate(n.r, n.runtime_bits, wanted_bit, req);
    if (f.unmet != kFits) {
      closest = std::max(closest, f.unmet);
      continue;
    }
    if (best == nullptr || f.score < best_fit.score ||
        (f.score == best_fit.score &&
         std::tie(n.r.name, n.r.id) < std::tie(best->r.name, best->r.id))) {
      best = &n;
      best_fit = f;
    }
  }

  if (best != nullptr) {
    Reservation res{req.memory_mb, req.vcpus, req.vgpus, req.disk_mb,
                    best_fit.arch != nullptr ? *best_fit.arch : std::string()};
    adjust(best->r, res, -1);
    best->reserved.push_back(std::move(res));
    return {true, best->r.id, "", ""};
  }

  Placement p;
  if (cluster != nullptr) {
    if (targeted == 0) {
      p = {false, "", std::string(kTargetClusterNotFound),
           fmt::format("no cluster is named '{}'", *cluster)};
    } else if (active == 0) {
      p = {false, "", std::string(kTargetClusterNotActive),
           fmt::format("cluster '{}' is not active", *cluster)};
    } else {
      p = {false, "", std::string(kTargetClusterNoCapacity),
           fmt::format("cluster '{}' does not have {}", *cluster, lacking(closest, req))};
    }
    return p;
  }
  p.status = root ? kNoActiveClusterWithCapacity : kNoWorkerCapacity;
  std::string_view noun = root ? "cluster" : "worker";
  std::string who = wanted != nullptr ? fmt::format("{} named {}", noun, alternatives(*wanted))
                                      : std::string(noun);
  if (targeted == 0) {
    p.detail = wanted != nullptr ? fmt::format("no {} is named {}", noun, alternatives(*wanted))
                                 : fmt::format("no {} is registered", noun);
  } else if (active == 0) {
    p.detail = fmt::format("no {} is active", who);
  } else {
    p.detail = fmt::format("no active {} has {}", who, lacking(closest, req));
  }
  return p;
}

void Scheduler::release(const std::string& node_id, const Requirements& req) {
  auto it = index_.find(node_id);
  if (it == index_.end()) return;
  Node& n = nodes_[it->second];
  auto matches = [&req](const Reservation& r) {
    bool same_arch = r.arch.empty()
                         ? req.arch.empty()
                         : std::find(req.arch.begin(), req.arch.end(), r.arch) != req.arch.end();
    return same_arch && r.memory_mb == req.memory_mb && r.vcpus == req.vcpus &&
           r.vgpus == req.vgpus && r.disk_mb == req.disk_mb;
  };
  auto res = std::find_if(n.reserved.rbegin(), n.reserved.rend(), matches);
  if (res == n.reserved.rend()) return;
  adjust(n.r, *res, +1);
  n.reserved.erase(std::next(res).base());
}

void Scheduler::adjust(Resources& r, const Reservation& res, double sign) {
  auto move = [sign](double& free, double total, double amount) {
    free = std::min(total, std::max(0.0, free + sign * amount));
  };
  move(r.memory_free_mb, r.memory_total_mb, res.memory_mb);
  move(r.cores_free, r.cores_total, res.vcpus);
  move(r.gpus_free, r.gpus_total, res.vgpus);
  move(r.disk_free_mb, r.disk_total_mb, res.disk_mb);
  // The architecture's share shrinks too: the one used, or the only one the node has.
  ArchCapacity* arch = nullptr;
  if (!res.arch.empty()) {
    if (auto it = r.per_arch.find(res.arch); it != r.per_arch.end()) arch = &it->second;
  } else if (r.per_arch.size() == 1) {
    arch = &r.per_arch.begin()->second;
  }
  if (arch != nullptr) {
    move(arch->memory_free_mb, arch->memory_total_mb, res.memory_mb);
    move(arch->cores_free, arch->cores_total, res.vcpus);
  }
}

}  // namespace oak::sched
