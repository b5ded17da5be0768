#pragma once
// Helpers shared by the orchestrator tests: service documents as the root sends them, and a
// recorder for what the cluster tells the root.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "link/messages.h"

namespace oak::cluster {

inline constexpr const char* kSid = "65f000000000000000000001";
inline constexpr const char* kSid2 = "65f000000000000000000002";
inline constexpr const char* kJob = "app.ns.web.ns";
inline constexpr const char* kJob2 = "app.ns.db.ns";

// A root service document (the fields the cluster and the worker read), `_id` as the root
// stores it.
inline boost::json::object serviceDoc(const std::string& id, const std::string& job,
                                      double memory_mb = 100, double vcpus = 1) {
  return boost::json::object{{"_id", boost::json::object{{"$oid", id}}},
                             {"microserviceID", id},
                             {"job_name", job},
                             {"image", "docker.io/library/nginx:latest"},
                             {"virtualization", "docker"},
                             {"memory", memory_mb},
                             {"vcpus", vcpus}};
}

inline std::string deployText(const boost::json::object& service, int64_t instance_number) {
  return link::encodeDeploy({service, instance_number});
}

inline std::string undeployText(const std::string& service_id, int64_t instance_number) {
  return link::encodeUndeploy({service_id, instance_number});
}

// The entry of `Orchestrator::instances()` for (service id, instance number), if any.
inline std::optional<boost::json::object> findInstance(const boost::json::array& instances,
                                                       const std::string& sid, int64_t n) {
  for (const auto& v : instances) {
    const auto& o = v.as_object();
    if (json::getString(o, "service_id") == sid && json::getInt(o, "instance_number") == n) {
      return o;
    }
  }
  return std::nullopt;
}

inline std::string statusIn(const boost::json::array& instances, const std::string& sid,
                            int64_t n) {
  auto i = findInstance(instances, sid, n);
  return i ? json::getString(*i, "status").value_or("") : "<absent>";
}

// Everything the cluster sent to the root, decoded.
class RootInbox {
 public:
  auto sink() {
    return [this](std::string text) { texts_.push_back(std::move(text)); };
  }

  // The types of the messages since the last `clear`, in order, without `workers` (their own
  // test looks at them; the others would have to allow one after every change of a worker).
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : envelopes()) {
      if (e.type != "workers") out.push_back(e.type);
    }
    return out;
  }

  // The worker lists of the `workers` messages since the last `clear`.
  std::vector<std::vector<link::WorkerSummary>> workerLists() const {
    std::vector<std::vector<link::WorkerSummary>> out;
    for (const auto& e : envelopes()) {
      if (e.type == "workers") out.push_back(link::workersFrom(e).value());
    }
    return out;
  }

  // The `instance_status` messages received since the last `clear`, in order.
  std::vector<link::InstanceState> statuses() const {
    std::vector<link::InstanceState> out;
    for (const auto& e : envelopes()) {
      if (e.type != "instance_status") continue;
      auto s = link::instanceStateFromJson(e.body);
      EXPECT_TRUE(s) << s.error().message;
      if (s) out.push_back(*s);
    }
    return out;
  }

  // "STATUS" of each `instance_status` message, in order (for compact assertions).
  std::vector<std::string> statusNames() const {
    std::vector<std::string> out;
    for (const auto& s : statuses()) out.push_back(s.status);
    return out;
  }

  // The `resources` objects received since the last `clear`, in order.
  std::vector<boost::json::object> resources() const {
    std::vector<boost::json::object> out;
    for (const auto& e : envelopes()) {
      if (e.type != "resources") continue;
      const auto* r = e.body.if_contains("resources");
      EXPECT_TRUE(r != nullptr && r->is_object());
      if (r != nullptr && r->is_object()) out.push_back(r->get_object());
    }
    return out;
  }

  void clear() { texts_.clear(); }

 private:
  std::vector<link::Envelope> envelopes() const {
    std::vector<link::Envelope> out;
    for (const auto& t : texts_) {
      auto e = link::decode(t);
      EXPECT_TRUE(e) << t;
      if (e) out.push_back(std::move(*e));
    }
    return out;
  }

  std::vector<std::string> texts_;
};

}  // namespace oak::cluster
