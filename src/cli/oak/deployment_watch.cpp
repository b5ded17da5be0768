#include "cli/oak/deployment_watch.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "cli/oak/resolve.h"
#include "cli/oak/text.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

// What the root records on a service when it could not place a requested instance.
constexpr std::array<std::string_view, 5> kPlacementFailures = {
    "NoActiveClusterWithCapacity", "TargetClusterNotFound", "TargetClusterNotActive",
    "TargetClusterNoCapacity", "FAILED"};

std::string field(const bj::object& o, std::string_view key) {
  return json::getString(o, key).value_or("");
}

// The detail worth showing: the root fills in a placeholder when there is none.
std::string detailOf(const bj::object& o) {
  std::string d = field(o, "status_detail");
  return d == "No extra information" ? "" : d;
}

std::string placeOf(const bj::object& instance) {
  std::string worker = field(instance, "worker_name");
  std::string ip = field(instance, "instance_ip");
  std::string text = worker.empty() ? "" : "on " + worker;
  if (!ip.empty()) text += (text.empty() ? "" : ", ") + ip;
  return text;
}

// The last lines an ended instance printed, indented under the failure.
std::string lastOutput(const bj::object& instance) {
  std::string logs = field(instance, "logs");
  while (!logs.empty() && logs.back() == '\n') logs.pop_back();
  if (logs.empty()) return "";
  std::string out = "\n  its last output:";
  size_t at = 0;
  while (at <= logs.size()) {
    size_t eol = logs.find('\n', at);
    if (eol == std::string::npos) eol = logs.size();
    out += "\n    " + logs.substr(at, eol - at);
    at = eol + 1;
  }
  return out;
}

}  // namespace

ServiceProgress assessService(const bj::object& service, size_t wanted) {
  ServiceProgress p;
  std::string name = serviceName(service);
  std::vector<const bj::object*> instances;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& i : *list) {
      if (i.is_object()) instances.push_back(&i.get_object());
    }
  }
  std::sort(instances.begin(), instances.end(), [](const bj::object* a, const bj::object* b) {
    return json::getInt(*a, "instance_number") < json::getInt(*b, "instance_number");
  });
  bool all_up = instances.size() >= wanted;
  for (const auto* i : instances) {
    std::string label = fmt::format("{}/{}", name, json::getInt(*i, "instance_number").value_or(0));
    std::string status = field(*i, "status");
    if (status.empty()) status = "REQUESTED";
    std::string note = status == "RUNNING" || status == "COMPLETED" ? placeOf(*i) : detailOf(*i);
    if ((status == "FAILED" || status == "DEAD") && !p.failure) {
      p.failure = fmt::format("{} is {}{}{}", label, status, note.empty() ? "" : ": " + note,
                              lastOutput(*i));
    }
    all_up = all_up && (status == "RUNNING" || status == "COMPLETED");
    p.rows.push_back({std::move(label), std::move(status), std::move(note)});
  }
  std::string service_status = field(service, "status");
  for (size_t n = instances.size(); n < wanted; ++n) {
    bool refused = std::find(kPlacementFailures.begin(), kPlacementFailures.end(),
                             service_status) != kPlacementFailures.end();
    if (refused && !p.failure) {
      std::string detail = detailOf(service);
      p.failure = fmt::format("{}: no instance placed: {}{}", name, service_status,
                              detail.empty() ? "" : ": " + detail);
    }
    p.rows.push_back({name + "/-", "REQUESTED", "waiting for a placement"});
  }
  p.done = all_up;
  return p;
}

Result<std::vector<bj::object>> watchDeployment(RootApi& api,
                                                const std::vector<WatchTarget>& targets,
                                                const WatchOptions& options, const Clock& clock,
                                                const Sleeper& sleep, ProgressView& view) {
  auto start = clock.now();
  for (;;) {
    std::vector<bj::object> services;
    std::vector<ProgressRow> rows;
    std::vector<std::string> pending;
    bool done = true;
    for (const auto& t : targets) {
      OAK_ASSIGN_OR_RETURN(auto service, api.service(t.service_id));
      auto p = assessService(service, t.instances);
      rows.insert(rows.end(), p.rows.begin(), p.rows.end());
      if (p.failure) {
        view.update(rows);
        return makeError(ErrorCode::kUnavailable, *p.failure);
      }
      done = done && p.done;
      for (const auto& r : p.rows) {
        if (r.status != "RUNNING" && r.status != "COMPLETED") {
          pending.push_back(fmt::format("{} is {}{}", r.label, r.status,
                                        r.note.empty() ? "" : " (" + r.note + ")"));
        }
      }
      services.push_back(std::move(service));
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    if (done) {
      view.update(rows);
      return services;
    }
    // On a terminal the wait shows that it is alive.
    view.update(rows, fmt::format("{} of {} ready, waited {}s", rows.size() - pending.size(),
                                  rows.size(), waited.count() / 1000));
    if (waited >= options.timeout) {
      view.update(rows);
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("not running after {}: {}", formatDuration(options.timeout),
                                   fmt::join(pending, "; ")));
    }
    sleep(std::min(options.interval, options.timeout - waited));
  }
}

}  // namespace oak::cli
