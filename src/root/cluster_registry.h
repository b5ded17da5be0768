#pragma once
// The root's side of the cluster links. Each cluster keeps one WebSocket open to the root; this
// class turns its messages into cluster documents (collection `clusters`) and instance updates,
// and sends deployments down. It also reconciles: when a cluster (re)connects it lists the
// instances it runs, and the root re-sends deployments the cluster lost and withdraws instances
// the root no longer wants, so restarts on either side neither duplicate nor forget instances.

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "link/messages.h"
#include "root/context.h"

namespace oak::root {

// The transport of one connected cluster (a WebSocket in production, a recorder in tests).
class ClusterChannel {
 public:
  virtual ~ClusterChannel() = default;
  virtual void send(std::string text) = 0;
  virtual void close(std::string reason) = 0;
};

class ClusterRegistry {
 public:
  // Marks every stored cluster disconnected: links do not survive a restart of the root, and a
  // cluster counts as connected only once it dialled this process.
  explicit ClusterRegistry(RootContext& ctx);

  // A connection whose token was accepted. Returns its key for the calls below.
  uint64_t attach(std::shared_ptr<ClusterChannel> channel, std::string remote_address);
  void onMessage(uint64_t key, std::string_view text);
  void onClose(uint64_t key);

  // Sends a deployment to the cluster if it is connected; otherwise it goes out when the
  // cluster reconnects (reconciliation). Never fails the caller's request.
  void deploy(const std::string& cluster_id, const boost::json::object& service,
              int64_t instance_number);
  void undeploy(const std::string& cluster_id, const std::string& service_id,
                int64_t instance_number);
  bool connected(const std::string& cluster_id) const;
  // Sends a link message to the cluster; false when it is not connected.
  bool send(const std::string& cluster_id, std::string text);

  // Applies an instance report to the service document.
  Status applyInstanceState(const std::string& cluster_id, const link::InstanceState& s);

  // The workers each cluster last reported (clusters that never did are absent), by cluster id.
  const std::map<std::string, std::vector<link::WorkerSummary>>& workers() const {
    return workers_;
  }
  // Control-plane records the clusters sent (stored in ctx.control_logs) and batches refused.
  uint64_t controlLogsReceived() const { return control_logs_received_; }
  uint64_t controlLogsRejected() const { return control_logs_rejected_; }

 private:
  struct Session {
    std::shared_ptr<ClusterChannel> channel;
    std::string remote_address;
    std::string cluster_id;  // empty until `hello`
    std::string cluster_name = {};
  };
  Status onHello(Session& s, const link::Envelope& e);
  Status onResources(Session& s, const boost::json::object& resources);
  Status touch(const std::string& cluster_id);
  Status onControlLogs(const Session& s, const link::Envelope& e);
  void reconcile(Session& s, const std::vector<link::InstanceState>& reported);
  Session* sessionOf(const std::string& cluster_id);

  RootContext& ctx_;
  uint64_t next_key_ = 1;
  std::map<uint64_t, Session> sessions_;
  std::map<std::string, std::vector<link::WorkerSummary>> workers_;
  uint64_t control_logs_received_ = 0;
  uint64_t control_logs_rejected_ = 0;
};

}  // namespace oak::root
