#include "cli/oak/views.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <vector>

#include "cli/oak/resolve.h"
#include "cli/oak/table.h"
#include "cli/oak/text.h"
#include "common/json.h"
#include "common/text.h"

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

WorkerInstances instancesPerWorker(const bj::array& services) {
  WorkerInstances count;
  for (const auto& v : services) {
    if (!v.is_object()) continue;
    for (const auto* i : objects(v.get_object(), "instance_list")) {
      std::string name = field(*i, "worker_name");
      if (!name.empty()) ++count[{field(*i, "cluster_id"), name}];
    }
  }
  return count;
}

std::string renderWorkers(const bj::array& workers, const WorkerInstances& instances) {
  Table t({"NAME", "CLUSTER", "STATE", "CPUS", "MEMORY", "RUNTIMES", "ARCH", "YOUR INSTANCES"});
  for (const auto& v : workers) {
    if (!v.is_object()) continue;
    const auto& w = v.get_object();
    auto n = instances.find({field(w, "cluster_id"), field(w, "name")});
    double cores = number(w, "cores_total"), memory = number(w, "memory_total_mb");
    std::string runtimes = cell(w, "runtimes");
    if (std::string a = field(w, "acceleration"); !a.empty() && !runtimes.empty()) {
      runtimes += " (" + a + ")";  // how unikernels run: kvm or emulation
    }
    t.addRow({field(w, "name"), field(w, "cluster_name"),
              w.contains("active") && w.at("active") == true ? "active" : "lost",
              cores > 0 ? formatNumber(cores) : "", memory > 0 ? formatMegabytes(memory) : "",
              runtimes, cell(w, "archs"), n == instances.end() ? "" : std::to_string(n->second)});
  }
  return t.render();
}

std::string renderAlerts(const bj::array& alerts, Clock::TimePoint now) {
  Table t({"SEVERITY", "STATE", "NAME", "FOR", "LABELS", "SUMMARY"});
  for (const auto& v : alerts) {
    if (!v.is_object()) continue;
    const auto& a = v.get_object();
    std::string since;
    if (auto at = parseTimestamp(field(a, "active_since"))) {
      since = formatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(now - *at, Clock::TimePoint::duration::zero())));
    }
    std::vector<std::string> labels;
    for (const auto& [k, l] : objectAt(a, "labels")) {
      labels.push_back(fmt::format("{}={}", std::string_view(k),
                                   l.is_string() ? std::string(l.get_string()) : bj::serialize(l)));
    }
    t.addRow({field(a, "severity"), field(a, "state"), field(a, "name"), since,
              fmt::format("{}", fmt::join(labels, ",")), field(a, "summary")});
  }
  return t.render();
}

std::string renderControlRecord(const bj::object& r) {
  // Nanoseconds tell people nothing: milliseconds, and the zone.
  std::string time = field(r, "time");
  if (time.size() > 24 && time.back() == 'Z') time = time.substr(0, 23) + "Z";
  std::string component = field(r, "component");
  std::string node = field(r, "node");
  std::string cluster = field(r, "cluster");
  std::string from = component == "root" || node.empty() ? component : component + " " + node;
  if (!cluster.empty() && cluster != node) from += "@" + cluster;
  return fmt::format("{} {:<5} {}: {}", time, field(r, "level"), from, field(r, "msg"));
}

}  // namespace oak::cli
