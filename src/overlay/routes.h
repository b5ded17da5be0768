#pragma once
// The services a worker knows: what the cluster sends about a job (JobRoutes, with its wire JSON)
// and the immutable, hash-indexed snapshot the data path resolves addresses in (ServiceTable).

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/ip.h"
#include "overlay/address.h"

namespace oak::overlay {

struct InstanceRoute {
  int64_t instance_number = 0;
  std::string worker_id;
  net::Ipv4Address instance_ip;  // stable service-level addresses of this instance
  net::Ipv6Address instance_ip6;
  net::Ipv4Address nsip;  // where it runs (inside its worker's subnet)
  std::optional<net::Ipv6Address> nsip6;
  TunnelEndpoint host;  // its worker's tunnel endpoint

  friend bool operator==(const InstanceRoute&, const InstanceRoute&) = default;
};

struct ServiceAddress {
  int policy = 0;  // net::kRoundRobinPolicy or net::kClosestPolicy
  net::Ipv4Address v4;
  net::Ipv6Address v6;

  friend bool operator==(const ServiceAddress&, const ServiceAddress&) = default;
};

struct JobRoutes {
  std::string job_name;
  std::vector<ServiceAddress> service_ips;
  std::vector<InstanceRoute> instances;

  friend bool operator==(const JobRoutes&, const JobRoutes&) = default;
};

// Wire form {"job_name", "service_ip_list": [{"IpType", "Address", "Address_v6"}],
// "instance_list": [{"instance_number", "worker_id", "instance_ip", "instance_ip_v6",
// "namespace_ip", "namespace_ip_v6", "host_ip", "host_port"}]}. Strict per field (the message
// names it: "instance_list[1].namespace_ip: ..."), except that instances without namespace_ip
// (not running yet) and service addresses of an unknown IpType (a newer policy) are skipped, and
// namespace_ip_v6 may be absent or null. Service and instance addresses must lie in the service
// ranges and namespace addresses in the overlay outside them (else the proxy could loop).
Result<JobRoutes> jobRoutesFromJson(const boost::json::object& o);
boost::json::object toJson(const JobRoutes& job);

// An instance running on this worker: its namespace addresses identify the sender of a packet
// read from the TUN device, its instance addresses become that packet's source.
struct LocalInstance {
  std::string job_name;
  int64_t instance_number = 0;
  net::Ipv4Address nsip;
  std::optional<net::Ipv6Address> nsip6;
  net::Ipv4Address instance_ip;
  net::Ipv6Address instance_ip6;
};

// What an address resolves to.
struct Resolution {
  IpAddress address;
  std::string_view job_name;
  int policy = 0;  // net::kInstancePolicy for an instance address
  // Candidates sorted by instance number (one for an instance address; may be empty).
  std::span<const InstanceRoute> instances;
  uint32_t index = 0;  // dense 0..addressCount()-1, for per-address state such as RR counters
};

class ServiceTable {
 public:
  class Builder {
   public:
    // A job added twice replaces its first version. An address claimed by two jobs resolves to
    // the one added last.
    Builder& add(JobRoutes job);
    Builder& addLocal(LocalInstance local);
    std::shared_ptr<const ServiceTable> build();

   private:
    std::vector<JobRoutes> jobs_;
    std::vector<LocalInstance> locals_;
  };

  ServiceTable(const ServiceTable&) = delete;
  ServiceTable& operator=(const ServiceTable&) = delete;

  // Lookups hash once and never allocate; nullptr when unknown.
  const Resolution* resolve(net::Ipv4Address a) const;
  const Resolution* resolve(const net::Ipv6Address& a) const;
  const Resolution* resolve(const IpAddress& a) const;
  const InstanceRoute* instanceAtNsip(net::Ipv4Address nsip) const;
  const InstanceRoute* instanceAtNsip(const net::Ipv6Address& nsip) const;
  const LocalInstance* localSender(net::Ipv4Address nsip) const;
  const LocalInstance* localSender(const net::Ipv6Address& nsip) const;

  std::span<const Resolution> resolutions() const { return resolutions_; }
  std::span<const LocalInstance> locals() const { return locals_; }
  size_t addressCount() const { return resolutions_.size(); }
  const std::vector<JobRoutes>& jobs() const { return jobs_; }

 private:
  ServiceTable() = default;
  void index();
  void addResolution(const IpAddress& address, std::string_view job, int policy,
                     std::span<const InstanceRoute> instances);

  std::vector<JobRoutes> jobs_;  // instances sorted by number; never resized after index()
  std::vector<LocalInstance> locals_;
  std::vector<Resolution> resolutions_;
  std::unordered_map<net::Ipv4Address, uint32_t> by_address4_;  // index into resolutions_
  std::unordered_map<net::Ipv6Address, uint32_t> by_address6_;
  std::unordered_map<net::Ipv4Address, const InstanceRoute*> by_nsip4_;
  std::unordered_map<net::Ipv6Address, const InstanceRoute*> by_nsip6_;
  std::unordered_map<net::Ipv4Address, const LocalInstance*> locals4_;
  std::unordered_map<net::Ipv6Address, const LocalInstance*> locals6_;
};

}  // namespace oak::overlay
