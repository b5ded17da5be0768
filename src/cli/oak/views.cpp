#include "cli/oak/views.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <vector>

#include "cli/oak/resolve.h"
#include "cli/oak/table.h"
#include "cli/oak/text.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

std::string field(const bj::object& o, std::string_view key) {
  return json::getString(o, key).value_or("");
}

double number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
}

// A JSON value as one cell: strings bare, lists joined, numbers without needless decimals.
std::string cell(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "";
  const auto& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_number()) return formatNumber(v.to_number<double>());
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& item : v.get_array()) {
      parts.push_back(item.is_string() ? std::string(item.get_string()) : bj::serialize(item));
    }
    return fmt::format("{}", fmt::join(parts, " "));
  }
  return bj::serialize(v);
}

const bj::object kNoObject;

const bj::object& objectAt(const bj::object& o, std::string_view key) {
  const auto* found = json::findObject(o, key);
  return found ? *found : kNoObject;
}

std::vector<const bj::object*> objects(const bj::object& o, std::string_view key) {
  std::vector<const bj::object*> out;
  if (const auto* list = json::findArray(o, key)) {
    for (const auto& v : *list) {
      if (v.is_object()) out.push_back(&v.get_object());
    }
  }
  return out;
}

std::string freeOfTotal(double free, double total, bool megabytes) {
  if (megabytes) return formatMegabytes(free) + " / " + formatMegabytes(total);
  return formatNumber(free) + " / " + formatNumber(total);
}

std::string clusterStatus(const bj::object& c) {
  if (c.contains("connected") && c.at("connected") != true) return "disconnected";
  return c.contains("active") && c.at("active") == true ? "active" : "inactive";
}

std::string location(const bj::object& c) {
  std::string text = field(c, "cluster_location");
  return text == "location-unknown" ? "" : text;
}

// The round-robin (or, when asked for, Closest) address of a service.
std::string serviceIp(const bj::object& service, std::string_view type, std::string_view key) {
  for (const auto* entry : objects(service, "service_ip_list")) {
    if (field(*entry, "IpType") == type) return field(*entry, key);
  }
  return "";
}

}  // namespace

ClusterNames clusterNames(const bj::array& clusters) {
  ClusterNames names;
  for (const auto& c : clusters) {
    if (c.is_object()) names[idOf(c.get_object())] = field(c.get_object(), "cluster_name");
  }
  return names;
}

std::string instanceCount(const bj::object& service) {
  auto instances = objects(service, "instance_list");
  size_t running = static_cast<size_t>(
      std::count_if(instances.begin(), instances.end(),
                    [](const bj::object* i) { return field(*i, "status") == "RUNNING"; }));
  return fmt::format("{}/{}", running, instances.size());
}

std::string renderApplications(const bj::array& applications) {
  Table t({"NAME", "NAMESPACE", "ID", "SERVICES", "OWNER", "DESCRIPTION"});
  for (const auto& v : applications) {
    if (!v.is_object()) continue;
    const auto& a = v.get_object();
    const auto* services = json::findArray(a, "microservices");
    t.addRow({field(a, "application_name"), field(a, "application_namespace"), idOf(a),
              std::to_string(services ? services->size() : 0), field(a, "userId"),
              field(a, "application_desc")});
  }
  return t.render();
}

std::string renderServices(const bj::array& services) {
  Table t({"NAME", "ID", "STATUS", "INSTANCES", "IMAGE", "SERVICE IP"});
  for (const auto& v : services) {
    if (!v.is_object()) continue;
    const auto& s = v.get_object();
    t.addRow({serviceName(s), idOf(s), field(s, "status"), instanceCount(s), field(s, "code"),
              serviceIp(s, "RR", "Address")});
  }
  return t.render();
}

std::string renderServiceDetails(const bj::object& s, const ClusterNames& clusters) {
  std::string status = field(s, "status");
  std::string detail = field(s, "status_detail");
  if (!detail.empty() && detail != "No extra information") status += " (" + detail + ")";
  std::string resources = fmt::format("{} MB memory, {} vCPU{}", cell(s, "memory"),
                                      cell(s, "vcpus"), number(s, "vcpus") == 1 ? "" : "s");
  if (number(s, "vgpus") > 0) resources += fmt::format(", {} vGPUs", cell(s, "vgpus"));
  std::string virtualization = field(s, "virtualization");
  if (virtualization == "docker") virtualization = "container";
  std::string out = renderFields({
      {"Name", serviceName(s)},
      {"ID", idOf(s)},
      {"Application", fmt::format("{}.{} ({})", field(s, "app_name"), field(s, "app_ns"),
                                  field(s, "applicationID"))},
      {"Runtime", virtualization},
      {"Image", field(s, "code")},
      {"Command", cell(s, "cmd")},
      {"Port", cell(s, "port")},
      {"Resources", resources},
      {"One-shot", s.contains("one_shot") && s.at("one_shot") == true ? "yes" : "no"},
      {"Status", status},
  });

  out += "\nAddresses:\n";
  Table addresses({"TYPE", "IPV4", "IPV6"});
  for (const auto* entry : objects(s, "service_ip_list")) {
    addresses.addRow(
        {field(*entry, "IpType"), field(*entry, "Address"), field(*entry, "Address_v6")});
  }
  out += addresses.empty() ? "  none\n" : addresses.render("  ");

  auto instances = objects(s, "instance_list");
  std::sort(instances.begin(), instances.end(), [](const bj::object* a, const bj::object* b) {
    return json::getInt(*a, "instance_number") < json::getInt(*b, "instance_number");
  });
  out += "\nInstances:\n";
  Table table({"#", "STATUS", "WORKER", "CLUSTER", "INSTANCE IP", "INSTANCE IPV6", "DETAIL"});
  for (const auto* i : instances) {
    std::string cluster_id = field(*i, "cluster_id");
    auto name = clusters.find(cluster_id);
    std::string instance_detail = field(*i, "status_detail");
    if (instance_detail == "No extra information") instance_detail.clear();
    table.addRow({cell(*i, "instance_number"), field(*i, "status"), field(*i, "worker_name"),
                  name != clusters.end() && !name->second.empty() ? name->second : cluster_id,
                  field(*i, "instance_ip"), field(*i, "instance_ip_v6"), instance_detail});
  }
  out += table.empty() ? "  none (oak service scale NAME 1 starts one)\n" : table.render("  ");
  return out;
}

std::string renderClusters(const bj::array& clusters) {
  Table t({"NAME", "ID", "STATUS", "WORKERS", "CPU FREE/TOTAL", "MEMORY FREE/TOTAL", "RUNTIMES",
           "LOCATION"});
  for (const auto& v : clusters) {
    if (!v.is_object()) continue;
    const auto& c = v.get_object();
    const auto& r = objectAt(c, "resources");
    t.addRow({field(c, "cluster_name"), idOf(c), clusterStatus(c), cell(r, "nodes"),
              freeOfTotal(number(r, "cores_free"), number(r, "cores_total"), false),
              freeOfTotal(number(r, "memory_free_mb"), number(r, "memory_total_mb"), true),
              cell(r, "runtimes"), location(c)});
  }
  return t.render();
}

bj::object workerView(const bj::array& clusters, const bj::array& services) {
  auto names = clusterNames(clusters);
  bj::array aggregates;
  for (const auto& v : clusters) {
    if (!v.is_object()) continue;
    const auto& c = v.get_object();
    const auto& r = objectAt(c, "resources");
    aggregates.push_back(
        bj::object{{"cluster", field(c, "cluster_name")},
                   {"cluster_id", idOf(c)},
                   {"status", clusterStatus(c)},
                   {"workers", number(r, "nodes")},
                   {"runtimes", r.contains("runtimes") ? r.at("runtimes") : bj::array{}},
                   {"per_arch", objectAt(r, "per_arch")}});
  }
  // Workers by name, from the instances they run.
  std::map<std::pair<std::string, std::string>, bj::object> workers;
  for (const auto& v : services) {
    if (!v.is_object()) continue;
    for (const auto* i : objects(v.get_object(), "instance_list")) {
      std::string name = field(*i, "worker_name");
      if (name.empty()) continue;
      std::string cluster_id = field(*i, "cluster_id");
      auto& w = workers[{cluster_id, name}];
      if (w.empty()) {
        w = bj::object{{"name", name},
                       {"id", field(*i, "worker_id")},
                       {"cluster", names.count(cluster_id) ? names[cluster_id] : cluster_id},
                       {"cluster_id", cluster_id},
                       {"host_ip", field(*i, "host_ip")},
                       {"instances", 0}};
      }
      w["instances"] = w["instances"].to_number<int64_t>() + 1;
    }
  }
  bj::array listed;
  for (auto& [key, w] : workers) listed.push_back(std::move(w));
  return bj::object{{"clusters", std::move(aggregates)}, {"workers", std::move(listed)}};
}

std::string renderWorkerView(const bj::object& view) {
  Table capacity(
      {"CLUSTER", "STATUS", "WORKERS", "ARCH", "CPU FREE/TOTAL", "MEMORY FREE/TOTAL", "RUNTIMES"});
  for (const auto* c : objects(view, "clusters")) {
    const auto& per_arch = objectAt(*c, "per_arch");
    std::vector<std::string> common{field(*c, "cluster"), field(*c, "status"), cell(*c, "workers")};
    if (per_arch.empty()) {
      capacity.addRow({common[0], common[1], common[2], "", "", "", cell(*c, "runtimes")});
    }
    for (const auto& [arch, v] : per_arch) {
      const auto& a = v.is_object() ? v.get_object() : kNoObject;
      capacity.addRow({common[0], common[1], common[2], std::string(arch),
                       freeOfTotal(number(a, "cores_free"), number(a, "cores_total"), false),
                       freeOfTotal(number(a, "memory_free_mb"), number(a, "memory_total_mb"), true),
                       cell(*c, "runtimes")});
    }
  }
  std::string out = capacity.render();
  Table hosting({"WORKER", "CLUSTER", "HOST IP", "YOUR INSTANCES"});
  for (const auto* w : objects(view, "workers")) {
    hosting.addRow(
        {field(*w, "name"), field(*w, "cluster"), field(*w, "host_ip"), cell(*w, "instances")});
  }
  if (!hosting.empty()) out += "\n" + hosting.render();
  return out;
}

}  // namespace oak::cli
