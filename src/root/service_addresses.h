#pragma once
// The root's service address manager: gives every service a round-robin service IP, one IPv4
// from 10.30.0.0/16 and one IPv6 from fdff:2000::/21, or the ones the SLA asks for in
// `addresses.rr_ip` / `addresses.rr_ip_v6`. Each taken address is a document in the `addresses`
// collection (id = canonical text), so "is it free?" is one lookup and releases are exact.
// Allocation cursors live in `meta/address_cursors`, so allocation continues round robin across
// restarts. Changes are collected in an `AddressTransaction` and committed with the request's
// other writes in one batch.

#include <boost/json/object.hpp>

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
  // Frees every address listed in the service's `service_ip_list`.
  void release(const boost::json::object& service);
  // Adds the address documents and cursors to `batch`.
  Status commitTo(store::WriteBatch& batch);

 private:
  Result<bool> isTaken(const std::string& canonical);
  Result<std::string> take(const std::string& service_id, std::optional<std::string> requested,
                           bool v6, std::string_view path);
  Status loadCursors();

  RootContext& ctx_;
  bool cursors_loaded_ = false;
  std::string cursor_v4_;
  std::string cursor_v6_;
  std::set<std::string> taken_;     // assigned in this transaction
  std::set<std::string> released_;  // freed in this transaction
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
