#pragma once
// The overlay's data path without the control plane, on the real kernel: N "hosts" (network
// namespaces linked by one underlay bridge in a namespace of their own), each with the worker's
// bridge, TUN device and DataPath thread, and instance namespaces attached to it as the worker
// attaches them. Tests and benchmarks publish the routes themselves and talk between instances
// with sockets opened inside their namespaces. Needs root; everything is removed on destruction
// (and leftovers of a crashed run at creation).
//
//   auto lab = DatapathLab::create(2);
//   auto* server = (*lab)->addInstance(1, "app.ns.srv.ns", 0);
//   auto* client = (*lab)->addInstance(0, "app.ns.cli.ns", 0);
//   (*lab)->publish();  // every instance's job: RR 10.30.<job>.1 ..., see serviceAddress()
//   UniqueFd fd = lab->inInstance(*client, [] { return socket(...); });

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/ip.h"
#include "overlay/routes.h"
#include "worker/overlay/data_path.h"
#include "worker/overlay/data_plane.h"

namespace oak::testing {

struct LabInstance {
  std::string job_name;
  int64_t number = 0;
  size_t host = 0;
  std::string netns;  // path
  net::Ipv4Address nsip;
  net::Ipv6Address nsip6;
  net::Ipv4Address instance_ip;
  net::Ipv6Address instance_ip6;
};

class DatapathLab {
 public:
  // `ipv6_underlay`: the workers reach each other over IPv6 (underlayAddress gives those).
  static Result<std::unique_ptr<DatapathLab>> create(
      size_t hosts, worker::DataPlaneKind kind = worker::DataPlaneKind::kUserspace,
      bool ipv6_underlay = false);
  ~DatapathLab();
  DatapathLab(const DatapathLab&) = delete;
  DatapathLab& operator=(const DatapathLab&) = delete;

  // An instance namespace on `host`, attached to its bridge (addresses subnet + 2, + 3, ...).
  Result<LabInstance*> addInstance(size_t host, const std::string& job_name, int64_t number);
  // Removes an instance from the routes (its namespace stays until the lab goes).
  void removeInstance(const LabInstance* instance);
  // Gives every host the routes of every job that has instances: each job gets a round-robin
  // and a closest service address (serviceAddress below); instance addresses are the
  // instances' own. Returns once every host's data plane has applied them (at most 10 s).
  void publish();
  // The round-robin (policy 2) or closest (policy 1) address of a job, v4 and v6.
  std::pair<net::Ipv4Address, net::Ipv6Address> serviceAddress(const std::string& job_name,
                                                               int policy = 2) const;

  // Runs `fn` on a thread inside the namespace of an instance / a host / and returns its value.
  Result<int> inNamespace(const std::string& netns, const std::function<int()>& fn) const;
  const std::string& hostNetns(size_t host) const;
  // "172.31.<k>.<host + 2>", or "fd31:<k>::<host + 2>" with an IPv6 underlay.
  std::string underlayAddress(size_t host) const;
  worker::DataPlane& dataPath(size_t host);
  // The userspace proxy of a host (its offload statistics); null in a kernel lab.
  worker::DataPath* userspaceDataPath(size_t host);
  worker::DataPlaneKind kind() const { return kind_; }
  size_t hosts() const;

 private:
  DatapathLab() = default;
  struct Host;
  Status setUp(size_t hosts);
  std::string prefix_;
  int subnet_ = 0;  // k of 172.31.k.0/24
  worker::DataPlaneKind kind_ = worker::DataPlaneKind::kUserspace;
  bool ipv6_underlay_ = false;
  overlay::TunnelEndpoint endpointOf(size_t host) const;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<LabInstance>> instances_;
  std::vector<std::string> jobs_;  // in order of first appearance: job index → service address
};

}  // namespace oak::testing
