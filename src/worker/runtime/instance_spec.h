#pragma once
// One service instance as the cluster asks a worker to run it (the `control/deploy` message).

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace oak::worker {

struct InstanceSpec {
  std::string job_name;  // "app.appns.service.servicens"
  int instance = 0;
  std::string virtualization;  // "docker" | "unikernel"; others are refused by every runtime
  // An OCI reference (containers), or comma-separated kernel archive URLs aligned with `arch`
  // (unikernels).
  std::string image;
  std::vector<std::string> cmd;
  std::vector<std::string> environment;  // "NAME=value"
  std::string port;                      // port mapping, handed unchanged to the net manager
  int64_t memory_mb = 0;
  double vcpus = 0;
  int vgpus = 0;
  bool one_shot = false;  // exit code 0 means the job is done, not dead
  std::vector<std::string> arch;
  // The instance's overlay addresses, given by the root ("" when the deploy carries none).
  std::string instance_ip;
  std::string instance_ip_v6;
  // The instance's network, set by the worker's network and never by the cluster (see
  // clearNetwork). netns_path: the namespace the instance runs in; empty: the host's network.
  // For guests that configure their own interface (unikernels): their address with the prefix
  // length of the worker's subnet ("10.18.0.5/26"), the default gateway and the link's MTU.
  std::string netns_path;
  std::string nsip;
  std::string gateway;
  int mtu = 0;

  // Reads the deploy message. Unknown keys are ignored, absent or null optional keys keep their
  // defaults; a value of the wrong type or out of range is kUnprocessable naming the key
  // (`instance_number: expected a non-negative integer, got 'x'`). `job_name`, `image` and
  // `virtualization` are required. `job_name` may only hold [A-Za-z0-9._-] and must not start
  // with '.', because task ids become container ids and file names.
  static Result<InstanceSpec> fromJson(const boost::json::object& message);
  // The same message back; `fromJson(toJson())` gives an equal spec.
  boost::json::object toJson() const;

  void clearNetwork() {
    netns_path.clear();
    nsip.clear();
    gateway.clear();
    mtu = 0;
  }

  // "<job_name>.instance.<n>": the container id, VM name and log file name of the instance.
  std::string taskId() const { return makeTaskId(job_name, instance); }
  bool operator==(const InstanceSpec&) const = default;
  static std::string makeTaskId(std::string_view job_name, int instance);
};

// Reverse of `taskId()`: the job name is everything before the last ".instance.". Nullopt when
// the marker is missing, the job name is empty or the number is not a non-negative integer.
std::optional<std::pair<std::string, int>> parseTaskId(std::string_view task_id);

}  // namespace oak::worker
