#pragma once
// The root's address manager. Every service gets a round-robin and a closest service IP, each an
// IPv4 from 10.30.0.0/16 plus an IPv6 from its policy's block (fdff:2000::/21, fdff:1000::/21), or
// the ones the SLA asks for in `addresses.{rr_ip,rr_ip_v6,closest_ip,closest_ip_v6}`; every
// instance gets an instance IP pair (10.30.0.0/16, fdff::/21 then fdff:800::/21); every worker a
// /26 and a /120 subnet. Each taken address is a document in the `addresses` collection (id =
// canonical text, a subnet by its first address), so "is it free?" is one lookup and releases are
// exact. Allocation cursors live in `meta/address_cursors`, so allocation continues round robin
// across restarts. Changes are collected in an `AddressTransaction` and committed with the
// request's other writes in one batch.

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"
#include "root/context.h"
#include "store/store.h"

namespace oak::root {

class AddressTransaction {
 public:
  explicit AddressTransaction(RootContext& ctx);

  // Assigns the service's round-robin addresses. `requested` is the SLA's `addresses` object
  // (may be null). `path` names that object in error messages. Returns the
  // `service_ip_list` entry {"IpType": "RR", "Address": v4, "Address_v6": v6}.
  Result<boost::json::object> assign(const std::string& service_id,
                                     const boost::json::object* requested, std::string_view path);
  // The same for the closest policy ({"IpType": "Closest", ...}; `closest_ip`, `closest_ip_v6`).
  Result<boost::json::object> assignClosest(const std::string& service_id,
                                            const boost::json::object* requested,
                                            std::string_view path);
  // Both: the whole `service_ip_list`.
  Result<boost::json::array> assignAll(const std::string& service_id,
                                       const boost::json::object* requested, std::string_view path);
  // An instance's addresses: {"instance_ip": v4, "instance_ip_v6": v6}.
  Result<boost::json::object> assignInstance(const std::string& service_id, int64_t n);
  // A worker's subnets, {"subnet": "10.18.0.0/26", "subnet_v6": "fc00::/120"}; the same ones
  // again for a worker that has them already.
  Result<boost::json::object> assignSubnets(const std::string& cluster_id,
                                            const std::string& worker_id);
  // Frees every address listed in the service's `service_ip_list` and of its instances.
  void release(const boost::json::object& service);
  // Frees only the service's `service_ip_list`.
  void releaseServiceIps(const boost::json::object& service);
  // Frees the `instance_ip` and `instance_ip_v6` of one `instance_list` entry.
  void releaseInstance(const boost::json::object& instance);
  // Frees the subnets of every worker of a cluster.
  Status releaseSubnets(const std::string& cluster_id);
  // Adds the address documents and cursors to `batch`.
  Status commitTo(store::WriteBatch& batch);

 private:
  enum class Kind { kRoundRobin, kClosest, kInstance, kSubnet };
  Result<bool> isTaken(const std::string& canonical);
  // Takes a requested or the next free address of `kind`; `doc` holds the owner's fields.
  Result<std::string> take(Kind kind, bool v6, std::optional<std::string> requested,
                           boost::json::object doc, std::string_view path);
  Result<std::string> allocate(Kind kind, bool v6);
  void free(const std::string& canonical);
  Status loadCursors();

  RootContext& ctx_;
  bool cursors_loaded_ = false;
  std::map<std::string, std::string> cursors_;  // pool name -> next address
  std::set<std::string> taken_;                 // assigned in this transaction
  std::set<std::string> released_;              // freed in this transaction
  std::vector<std::pair<std::string, boost::json::object>> new_docs_;
};

class ServiceAddresses {
 public:
  explicit ServiceAddresses(RootContext& ctx) : ctx_(ctx) {}
  AddressTransaction begin() { return AddressTransaction(ctx_); }
  // The addresses the next service would get: {"ipv4": ..., "ipv6": ...}.
  Result<boost::json::object> nextFree();

 private:
  RootContext& ctx_;
};

}  // namespace oak::root
