#include "scheduler/resources.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "common/json.h"
#include "scheduler/json_fields.h"

namespace oak::sched {

namespace bj = boost::json;

namespace {

// Reads `<total_key>` and `<free_key>` (both optional, 0 when absent) and checks free <= total.
Status readCapacity(const bj::object& o, std::string_view prefix, std::string_view total_key,
                    std::string_view free_key, double& total, double& free) {
  OAK_ASSIGN_OR_RETURN(auto t, fields::nonNegative(o, total_key, prefix));
  OAK_ASSIGN_OR_RETURN(auto f, fields::nonNegative(o, free_key, prefix));
  total = t.value_or(0);
  free = f.value_or(0);
  if (free > total) {
    return fields::invalid(fields::join(prefix, free_key),
                           fmt::format("{} exceeds {} {}", free, total_key, total));
  }
  return {};
}

Status readCores(const bj::object& o, std::string_view prefix, double& total, double& free) {
  return readCapacity(o, prefix, "cores_total", "cores_free", total, free);
}

Status readMemory(const bj::object& o, std::string_view prefix, double& total, double& free) {
  return readCapacity(o, prefix, "memory_total_mb", "memory_free_mb", total, free);
}

Result<std::optional<GeoPoint>> readLocation(const bj::object& o) {
  const bj::value* v = o.if_contains("location");
  if (v == nullptr || v->is_null()) return std::optional<GeoPoint>();
  if (!v->is_object()) {
    return fields::invalid(
        "location", "must be an object {\"lat\": .., \"lon\": ..}, got " + json::preview(*v));
  }
  const bj::object& loc = v->get_object();
  GeoPoint p;
  for (auto [key, out, limit] :
       {std::tuple{"lat", &p.lat, 90.0}, std::tuple{"lon", &p.lon, 180.0}}) {
    OAK_ASSIGN_OR_RETURN(auto d, fields::number(loc, key, "location"));
    if (!d) return fields::invalid(fields::join("location", key), "required, in degrees");
    if (*d < -limit || *d > limit) {
      return fields::invalid(fields::join("location", key),
                             fmt::format("{} is outside -{}..{}", *d, limit, limit));
    }
    *out = *d;
  }
  return std::optional<GeoPoint>(p);
}

Result<uint32_t> readNodes(const bj::object& o) {
  OAK_ASSIGN_OR_RETURN(auto n, fields::nonNegative(o, "nodes", ""));
  if (!n) return 1u;
  // The range check comes first: converting an out-of-range double is undefined.
  if (*n > std::numeric_limits<uint32_t>::max() || std::floor(*n) != *n) {
    return fields::invalid("nodes", fmt::format("must be a whole number up to {}, got {}",
                                                std::numeric_limits<uint32_t>::max(), *n));
  }
  return static_cast<uint32_t>(*n);
}

void sortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

bj::object toJson(const GeoPoint& p) {
  return {{"lat", p.lat}, {"lon", p.lon}};
}

bj::object toJson(const ArchCapacity& c) {
  return {{"cores_total", c.cores_total},
          {"cores_free", c.cores_free},
          {"memory_total_mb", c.memory_total_mb},
          {"memory_free_mb", c.memory_free_mb}};
}

bj::object capabilitiesToJson(const Capabilities& capabilities) {
  bj::object out;
  for (const auto& [runtime, facts] : capabilities) {
    bj::object f;
    for (const auto& [k, v] : facts) f[k] = v;
    out[runtime] = std::move(f);
  }
  return out;
}

bj::object toJson(const Resources& r) {
  bj::object per_arch;
  for (const auto& [arch, cap] : r.per_arch) per_arch[arch] = toJson(cap);
  bj::array runtimes;
  for (const auto& rt : r.runtimes) runtimes.emplace_back(rt);
  bj::object out{{"id", r.id},
                 {"name", r.name},
                 {"active", r.active},
                 {"location", r.location ? bj::value(toJson(*r.location)) : bj::value(nullptr)},
                 {"radius_km", r.radius_km},
                 {"cores_total", r.cores_total},
                 {"cores_free", r.cores_free},
                 {"memory_total_mb", r.memory_total_mb},
                 {"memory_free_mb", r.memory_free_mb},
                 {"gpus_total", r.gpus_total},
                 {"gpus_free", r.gpus_free},
                 {"disk_total_mb", r.disk_total_mb},
                 {"disk_free_mb", r.disk_free_mb},
                 {"runtimes", std::move(runtimes)},
                 {"per_arch", std::move(per_arch)},
                 {"nodes", r.nodes}};
  if (!r.capabilities.empty()) out["capabilities"] = capabilitiesToJson(r.capabilities);
  return out;
}

namespace {

// "capabilities": {"<runtime>": {"<key>": "<string>", ...}, ...}, bounded.
Status readCapabilities(const bj::object& o,
                        std::map<std::string, std::map<std::string, std::string>>& out) {
  constexpr size_t kMaxEntries = 16, kMaxText = 256;
  const bj::value* c = o.if_contains("capabilities");
  if (c == nullptr || c->is_null()) return {};
  if (!c->is_object() || c->get_object().size() > kMaxEntries) {
    return fields::invalid("capabilities", "must be an object of at most 16 runtimes");
  }
  for (const auto& [runtime, facts] : c->get_object()) {
    std::string prefix = fields::join("capabilities", runtime);
    if (runtime.empty() || runtime.size() > kMaxText || !facts.is_object() ||
        facts.get_object().size() > kMaxEntries) {
      return fields::invalid(prefix, "must be an object of at most 16 strings");
    }
    auto& f = out[std::string(runtime)];
    for (const auto& [k, v] : facts.get_object()) {
      if (!v.is_string() || k.size() > kMaxText || v.get_string().size() > kMaxText) {
        return fields::invalid(fields::join(prefix, k), "must be a string of at most 256 bytes");
      }
      f[std::string(k)] = std::string(v.get_string());
    }
  }
  return {};
}

}  // namespace

Result<Resources> resourcesFromJson(const bj::value& v) {
  if (!v.is_object()) {
    return fields::invalid("resources", "must be an object, got " + json::preview(v));
  }
  const bj::object& o = v.get_object();
  Resources r;
  OAK_ASSIGN_OR_RETURN(auto id, fields::string(o, "id", ""));
  if (!id || id->empty()) return fields::invalid("id", "required, a non-empty string");
  r.id = std::move(*id);
  OAK_ASSIGN_OR_RETURN(auto name, fields::string(o, "name", ""));
  r.name = name && !name->empty() ? std::move(*name) : r.id;
  if (const bj::value* a = o.if_contains("active"); a != nullptr && !a->is_null()) {
    if (!a->is_bool()) return fields::invalid("active", "must be a boolean");
    r.active = a->get_bool();
  }
  OAK_ASSIGN_OR_RETURN(r.location, readLocation(o));
  OAK_ASSIGN_OR_RETURN(auto radius, fields::nonNegative(o, "radius_km", ""));
  r.radius_km = radius.value_or(0);
  OAK_TRY(readCores(o, "", r.cores_total, r.cores_free));
  OAK_TRY(readMemory(o, "", r.memory_total_mb, r.memory_free_mb));
  OAK_TRY(readCapacity(o, "", "gpus_total", "gpus_free", r.gpus_total, r.gpus_free));
  OAK_TRY(readCapacity(o, "", "disk_total_mb", "disk_free_mb", r.disk_total_mb, r.disk_free_mb));
  OAK_ASSIGN_OR_RETURN(auto runtimes, fields::strings(o, "runtimes", ""));
  r.runtimes = runtimes.value_or(std::vector<std::string>{});
  sortUnique(r.runtimes);
  OAK_TRY(readCapabilities(o, r.capabilities));
  if (const bj::value* pa = o.if_contains("per_arch"); pa != nullptr && !pa->is_null()) {
    if (!pa->is_object()) return fields::invalid("per_arch", "must be an object");
    for (const auto& [arch, cap] : pa->get_object()) {
      std::string prefix = fields::join("per_arch", arch);
      if (arch.empty() || !cap.is_object()) {
        return fields::invalid(prefix, "must be an object keyed by a non-empty architecture name");
      }
      ArchCapacity& c = r.per_arch[std::string(arch)];
      OAK_TRY(readCores(cap.get_object(), prefix, c.cores_total, c.cores_free));
      OAK_TRY(readMemory(cap.get_object(), prefix, c.memory_total_mb, c.memory_free_mb));
    }
  }
  OAK_ASSIGN_OR_RETURN(r.nodes, readNodes(o));
  return r;
}

Resources aggregate(std::string id, std::string name, std::optional<GeoPoint> location,
                    double radius_km, const std::vector<Resources>& workers) {
  Resources c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.location = location;
  c.radius_km = radius_km;
  c.nodes = 0;
  for (const Resources& w : workers) {
    if (!w.active) continue;
    ++c.nodes;
    c.cores_total += w.cores_total;
    c.cores_free += w.cores_free;
    c.memory_total_mb += w.memory_total_mb;
    c.memory_free_mb += w.memory_free_mb;
    c.gpus_total += w.gpus_total;
    c.gpus_free += w.gpus_free;
    c.disk_total_mb += w.disk_total_mb;
    c.disk_free_mb += w.disk_free_mb;
    c.runtimes.insert(c.runtimes.end(), w.runtimes.begin(), w.runtimes.end());
    for (const auto& [arch, cap] : w.per_arch) {
      ArchCapacity& sum = c.per_arch[arch];
      sum.cores_total += cap.cores_total;
      sum.cores_free += cap.cores_free;
      sum.memory_total_mb += cap.memory_total_mb;
      sum.memory_free_mb += cap.memory_free_mb;
    }
  }
  sortUnique(c.runtimes);
  return c;
}

}  // namespace oak::sched
