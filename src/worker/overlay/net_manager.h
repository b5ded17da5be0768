#pragma once
// The worker's overlay network manager. It gets the worker's subnets from the cluster, sets up
// the host side (bridge, port-mapping table, TUN), gives every instance its own network
// namespace with addresses from those subnets (for a unikernel, the namespace is only a path to
// its guest, which holds the addresses itself), and keeps the table of services the proxy
// translates with: the local instances plus the routes of every job the proxy asked about,
// updated when the cluster pushes changes.
//
//   worker → cluster  nodes/<id>/net/subnet {}, tablequery/request {key}, interest/remove
//   cluster → worker  nodes/<id>/net/subnet/result, tablequery/result {key, routes}, table
//
// Kernel work runs one job at a time beside the loop (SerialRunner), so the attach, detach and
// re-attach of a task id happen in order. Every attachment is also written to
// `<state_dir>/<task_id>.json`, so that after a restart of the worker the instances it adopts
// keep their addresses and port mappings, and leftovers of the others are removed.
// Runs on the event loop thread.

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/task_runner.h"
#include "mqtt/bus.h"
#include "net/ip.h"
#include "net/port_mapping.h"
#include "overlay/routes.h"
#include "worker/net/host_network.h"
#include "worker/net/port_mapper.h"
#include "worker/overlay/serial_runner.h"
#include "worker/runtime/instance_network.h"

namespace oak::worker {

struct NetManagerOptions {
  std::string worker_id;
  std::string state_dir;  // attachment records
  std::string netns_dir;  // where instance namespaces are mounted
  BridgeConfig bridge;    // name and MTU; the subnets come from the cluster
  TunConfig tun;
  std::string advertise_ip;  // the underlay address other workers send tunnel traffic to
  uint16_t tunnel_port = 50103;
  std::chrono::seconds subnet_retry{5};
  // An attach waits this long for the subnets before it fails.
  std::chrono::seconds ready_timeout{60};
  std::chrono::seconds query_timeout{5};
  // Routes of a remote job nobody used for this long are dropped (and the cluster told).
  std::chrono::seconds interest_idle{600};
};

class NetManager final : public InstanceNetwork {
 public:
  struct Deps {
    TaskRunner& runner;
    const Clock& clock;
    mqtt::MessageBus& bus;
    HostNetwork& host;
    PortMapper& ports;
  };
  // What the data path is told: a new table, and the end of a query it asked for.
  struct Hooks {
    std::function<void(std::shared_ptr<const overlay::ServiceTable>)> table;
    std::function<void(const std::string& key, bool found)> query_done;
    // The host side is set up: the TUN device is open (ownership passes).
    std::function<void(UniqueFd tun)> ready;
  };

  NetManager(Deps deps, NetManagerOptions options);

  void setHooks(Hooks hooks) { hooks_ = std::move(hooks); }
  // Subscribes and asks the cluster for the subnets.
  void start();
  // True for the messages on this worker's net topics (handled here).
  bool handle(const mqtt::Message& m);
  // Retries, query and attach timeouts, idle interests; called periodically.
  void tick();

  // The data path met an address it has no route for (a service or instance address).
  void query(const std::string& address);
  // The data path used a job's routes (keeps the interest alive).
  void used(const std::string& job_name);

  bool ready() const { return ready_; }
  std::optional<net::Ipv4Prefix> subnet4() const { return subnet4_; }
  std::optional<net::Ipv6Prefix> subnet6() const { return subnet6_; }
  std::shared_ptr<const overlay::ServiceTable> table() const { return table_; }

  // InstanceNetwork
  void attach(const InstanceSpec& spec,
              std::function<void(Result<NetworkAttachment>)> done) override;
  void detach(const std::string& task_id) override;
  void adopt(const InstanceSpec& spec) override;
  void recovered(bool complete) override;
  boost::json::object describe(const std::string& task_id) const override;

 private:
  struct Attachment {
    std::string job_name;
    int64_t instance = 0;
    InstanceLink link;
    std::optional<net::Ipv4Address> instance_ip;
    std::optional<net::Ipv6Address> instance_ip6;
    std::vector<net::PortMapping> ports;
  };
  struct Waiting {
    InstanceSpec spec;
    std::function<void(Result<NetworkAttachment>)> done;
    Clock::TimePoint since;
  };
  struct Interest {
    overlay::JobRoutes routes;
    Clock::TimePoint last_used;
  };

  void onSubnet(const boost::json::object& body);
  void setUpHost();
  void startAttach(const InstanceSpec& spec, std::function<void(Result<NetworkAttachment>)> done);
  Result<Attachment> plan(const InstanceSpec& spec);
  void onQueryResult(const boost::json::object& body);
  void onTableChange(const boost::json::object& body);
  void rebuildTable();
  void send(std::string_view suffix, const boost::json::object& body);
  std::string recordPath(const std::string& task_id) const;
  static boost::json::object toJson(const Attachment& a);
  static Result<Attachment> attachmentFromJson(const boost::json::object& o);

  Deps deps_;
  NetManagerOptions options_;
  SerialRunner serial_;
  Hooks hooks_;
  std::optional<net::Ipv4Prefix> subnet4_;
  std::optional<net::Ipv6Prefix> subnet6_;
  bool setting_up_ = false;
  std::optional<bool> recovered_;  // set once the supervisor has adopted what survived
  bool ready_ = false;
  Clock::TimePoint subnet_asked_{};
  std::map<std::string, Attachment> attachments_;  // by task id
  std::vector<Waiting> waiting_;                   // attaches before the host side was ready
  std::set<uint32_t> used4_;                       // offsets in the subnets in use
  std::set<uint32_t> used6_;
  uint32_t cursor_ = 0;                              // next offset to try, round robin
  std::map<std::string, Interest> interests_;        // remote job routes by job name
  std::map<std::string, Clock::TimePoint> pending_;  // queries by key
  std::shared_ptr<const overlay::ServiceTable> table_;
};

}  // namespace oak::worker
