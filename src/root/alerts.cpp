#include "root/alerts.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace oak::root {

namespace {

// Events kept per kind: a burst cannot grow them without bound.
constexpr size_t kMaxEvents = 10000;

void record(std::deque<std::pair<Clock::TimePoint, std::string>>& events, Clock::TimePoint now,
            const std::string& key) {
  events.emplace_back(now, key);
  if (events.size() > kMaxEvents) events.pop_front();
}

std::string describe(const Alert& a) {
  std::string labels;
  for (const auto& [k, v] : a.labels)
    labels += fmt::format("{}{}={}", labels.empty() ? "" : ",", k, v);
  return fmt::format("{}{{{}}}", a.name, labels);
}

}  // namespace

void Alerts::instanceFailed(const std::string& service) {
  record(failures_, clock_.now(), service);
}

void Alerts::placementFailed(const std::string& where) {
  record(placements_, clock_.now(), where);
}

std::map<std::string, size_t> Alerts::countRecent(
    std::deque<std::pair<Clock::TimePoint, std::string>>& events, Clock::TimePoint now,
    std::chrono::system_clock::duration window) {
  while (!events.empty() && now - events.front().first > window) events.pop_front();
  std::map<std::string, size_t> out;
  for (const auto& [t, key] : events) ++out[key];
  return out;
}

void Alerts::hold(Alert alert, std::chrono::system_clock::duration hold_for) {
  auto [it, inserted] = states_.try_emplace(describe(alert));
  State& s = it->second;
  if (inserted) {
    alert.active_since = clock_.now();
    s.alert = std::move(alert);
    s.hold = hold_for;
  } else {
    s.alert.summary = std::move(alert.summary);  // counts in it change
  }
  s.seen = true;
}

void Alerts::evaluate(const AlertInputs& in) {
  auto now = clock_.now();
  for (auto& [k, s] : states_) s.seen = false;

  std::map<std::string, bool> cluster_active;
  for (const auto& c : in.clusters) {
    cluster_active[c.name] = c.active;
    if (c.active) continue;
    hold({"OakestraClusterNotReporting",
          "critical",
          {{"cluster", c.name}},
          fmt::format("Cluster {} is not reporting to the root", c.name)},
         kClusterHold);
  }
  for (const auto& w : in.workers) {
    // A silent cluster's view of its workers is stale; its own alert says enough.
    auto c = cluster_active.find(w.cluster);
    if (w.active || c == cluster_active.end() || !c->second) continue;
    hold({"OakestraWorkerLost",
          "warning",
          {{"cluster", w.cluster}, {"worker", w.name}},
          fmt::format("Worker {} of cluster {} is lost", w.name, w.cluster)},
         {});
  }
  for (const auto& [service, n] : countRecent(failures_, now, kFailureWindow)) {
    if (n < kFailureThreshold) continue;
    hold(
        {"OakestraInstancesFailingRepeatedly",
         "warning",
         {{"service", service}},
         fmt::format("Instances of service {} failed {} times in the last 15 minutes", service, n)},
        {});
  }
  for (const auto& [node, n] : in.recent_errors) {
    if (n <= kErrorThreshold) continue;
    hold({"OakestraErrorLogRateHigh",
          "warning",
          {{"node", node}},
          fmt::format("{} logged {} errors in the last 5 minutes", node, n)},
         kErrorHold);
  }
  for (const auto& [where, n] : countRecent(placements_, now, kSchedulingWindow)) {
    hold({"OakestraSchedulingFailures",
          "warning",
          {{"where", where}},
          fmt::format("{} failed placement{} in the last 10 minutes ({})", n, n == 1 ? "" : "s",
                      where)},
         {});
  }

  for (auto it = states_.begin(); it != states_.end();) {
    State& s = it->second;
    if (!s.seen) {
      if (s.alert.firing) spdlog::info("alert resolved: {}", it->first);
      it = states_.erase(it);
      continue;
    }
    if (!s.alert.firing && now - s.alert.active_since >= s.hold) {
      s.alert.firing = true;
      spdlog::warn("alert firing: {}: {}", it->first, s.alert.summary);
    }
    ++it;
  }
}

std::vector<Alert> Alerts::active() const {
  std::vector<Alert> out;
  out.reserve(states_.size());
  for (const auto& [k, s] : states_) out.push_back(s.alert);
  std::stable_sort(out.begin(), out.end(), [](const Alert& a, const Alert& b) {
    return std::tuple(!a.firing, a.severity != "critical") <
           std::tuple(!b.firing, b.severity != "critical");
  });
  return out;
}

}  // namespace oak::root
