#include "scheduler/requirements.h"

#include <fmt/format.h>

#include "scheduler/geo.h"
#include "scheduler/json_fields.h"

namespace oak::sched {

namespace bj = boost::json;

namespace {

std::vector<std::string> splitNodes(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t semi = list.find(';');
    std::string_view item = list.substr(0, semi);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
  }
  return out;
}

// A geo or latency constraint; nullopt when it has no location.
Result<std::optional<GeoConstraint>> readGeo(const bj::object& c, const std::string& path,
                                             bool latency) {
  OAK_ASSIGN_OR_RETURN(auto location, fields::string(c, "location", path));
  if (!location) return std::optional<GeoConstraint>();
  auto center = parseLatLon(*location);
  if (!center) return fields::invalid(fields::join(path, "location"), center.error().message);
  OAK_ASSIGN_OR_RETURN(auto threshold, fields::nonNegative(c, "threshold", path));
  if (!threshold) {
    return fields::invalid(fields::join(path, "threshold"),
                           latency ? "required with a location (round trip in ms)"
                                   : "required with a location (distance in km)");
  }
  GeoConstraint g{*center, *threshold, std::nullopt};
  if (latency) {
    g.latency_ms = *threshold;
    g.max_km = *threshold * kKmPerRoundTripMs;
  }
  return std::optional<GeoConstraint>(g);
}

Status readConstraint(const bj::value& v, const std::string& path, Requirements& r) {
  if (!v.is_object()) return fields::invalid(path, "must be an object");
  const bj::object& c = v.get_object();
  OAK_ASSIGN_OR_RETURN(auto type, fields::string(c, "type", path));
  if (type == "direct") {
    OAK_ASSIGN_OR_RETURN(auto cluster, fields::string(c, "cluster", path));
    OAK_ASSIGN_OR_RETURN(auto node, fields::string(c, "node", path));
    if (!r.direct_cluster && cluster && !cluster->empty()) r.direct_cluster = std::move(cluster);
    if (r.direct_nodes.empty() && node) r.direct_nodes = splitNodes(*node);
  } else if (type == "geo" || type == "latency") {
    OAK_ASSIGN_OR_RETURN(auto geo, readGeo(c, path, type == "latency"));
    if (geo) r.geo.push_back(*geo);
  }
  return {};
}

}  // namespace

Result<Requirements> requirementsFromService(const bj::object& s) {
  Requirements r;
  for (auto [key, out] : {std::pair{"memory", &r.memory_mb}, std::pair{"vcpus", &r.vcpus},
                          std::pair{"vgpus", &r.vgpus}, std::pair{"storage", &r.disk_mb}}) {
    OAK_ASSIGN_OR_RETURN(auto d, fields::nonNegative(s, key, ""));
    *out = d.value_or(0);
  }
  OAK_ASSIGN_OR_RETURN(auto virt, fields::string(s, "virtualization", ""));
  if (virt && !virt->empty()) r.runtime = *virt == "container" ? "docker" : std::move(*virt);
  OAK_ASSIGN_OR_RETURN(auto arch, fields::strings(s, "arch", ""));
  r.arch = arch.value_or(std::vector<std::string>{});
  if (r.runtime == "unikernel" && r.arch.empty()) {
    return fields::invalid("arch", "required when virtualization is 'unikernel'");
  }
  if (const bj::value* cs = s.if_contains("constraints"); cs != nullptr && !cs->is_null()) {
    if (!cs->is_array()) return fields::invalid("constraints", "must be an array");
    for (size_t i = 0; i < cs->get_array().size(); ++i) {
      OAK_TRY(readConstraint(cs->get_array()[i], fmt::format("constraints[{}]", i), r));
    }
  }
  return r;
}

}  // namespace oak::sched
