#pragma once
// The seam between the instance supervisor and the worker's overlay network: before an instance
// is launched it gets its own network (a namespace with addresses, routes and port mappings) and
// when it is gone the network goes too. Implementations serialise their work per task id, so a
// detach followed by an attach of the same task id (a re-deploy) happens in that order.
// Called on the worker's event loop thread; callbacks run there too.

#include <boost/json/object.hpp>

#include <functional>
#include <string>

#include "common/result.h"
#include "worker/runtime/instance_spec.h"

namespace oak::worker {

// What an attached instance got; the supervisor copies it into the spec the runtime launches.
struct NetworkAttachment {
  std::string netns_path;  // its network namespace
  std::string nsip;        // its address with the subnet's prefix length: "10.18.0.5/26"
  std::string gateway;     // "10.18.0.1"
  int mtu = 0;
};

class InstanceNetwork {
 public:
  virtual ~InstanceNetwork() = default;
  // Creates the instance's network; completes with what it got, or with an error saying what
  // failed (then nothing of it is left).
  virtual void attach(const InstanceSpec& spec,
                      std::function<void(Result<NetworkAttachment>)> done) = 0;
  // Removes what `attach` made; idempotent.
  virtual void detach(const std::string& task_id) = 0;
  // An instance that survived a restart of the worker keeps its network.
  virtual void adopt(const InstanceSpec& spec) = 0;
  // Every surviving instance was adopted (`complete`), or recovery failed: only after a complete
  // recovery may networks nobody adopted be removed as leftovers.
  virtual void recovered(bool complete) = 0;
  // What the cluster learns with ACTIVE: namespace_ip, namespace_ip_v6, host_ip, host_port
  // (empty when the instance has no overlay network).
  virtual boost::json::object describe(const std::string& task_id) const = 0;
};

}  // namespace oak::worker
