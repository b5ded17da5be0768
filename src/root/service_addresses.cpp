#include "root/service_addresses.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "net/address_plan.h"

namespace oak::root {

namespace bj = boost::json;

namespace {

constexpr std::string_view kCursorDoc = "address_cursors";

template <class Pool, class Address>
Result<std::string> allocateFrom(const Pool& pool, std::string& cursor,
                                 const std::function<Result<bool>(const std::string&)>& taken,
                                 std::string_view range_name) {
  std::optional<Address> start;
  if (!cursor.empty()) start = Address::parse(cursor);
  Error lookup_error;
  bool failed = false;
  auto is_taken = [&](const Address& a) {
    auto t = taken(a.toString());
    if (!t) {
      failed = true;
      lookup_error = t.error();
      return true;
    }
    return *t;
  };
  auto got = pool.allocate(start, is_taken);
  if (failed) return lookup_error;
  if (!got) {
    return makeError(ErrorCode::kExhausted,
                     fmt::format("no free address is left in {}", range_name));
  }
  cursor = got->next_cursor.toString();
  return got->address.toString();
}

// The SLA keys and the IpType of the two balancing policies.
struct PolicyNames {
  const char* ip_type;
  const char* v4_key;
  const char* v6_key;
  const char* range_name;
};
constexpr PolicyNames kRoundRobinNames{"RR", "rr_ip", "rr_ip_v6", "round-robin"};
constexpr PolicyNames kClosestNames{"Closest", "closest_ip", "closest_ip_v6", "closest"};

}  // namespace

AddressTransaction::AddressTransaction(RootContext& ctx) : ctx_(ctx) {}

Status AddressTransaction::loadCursors() {
  if (cursors_loaded_) return {};
  OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kMeta, kCursorDoc));
  if (doc) {
    for (const auto& [key, value] : *doc) {
      if (value.is_string() && key != "_id") cursors_[key] = std::string(value.get_string());
    }
  }
  cursors_loaded_ = true;
  return {};
}

Result<bool> AddressTransaction::isTaken(const std::string& canonical) {
  if (taken_.count(canonical)) return true;
  if (released_.count(canonical)) return false;
  OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kAddresses, canonical));
  return doc.has_value();
}

Result<std::string> AddressTransaction::allocate(Kind kind, bool v6) {
  OAK_TRY(loadCursors());
  auto taken = [this](const std::string& a) { return isTaken(a); };
  auto v4From = [&](const net::Ipv4Pool& pool, const char* cursor, const std::string& range) {
    return allocateFrom<net::Ipv4Pool, net::Ipv4Address>(pool, cursors_[cursor], taken, range);
  };
  auto v6From = [&](const net::Ipv6Pool& pool, const char* cursor, const std::string& range) {
    return allocateFrom<net::Ipv6Pool, net::Ipv6Address>(pool, cursors_[cursor], taken, range);
  };
  if (kind == Kind::kSubnet) {
    return v6 ? v6From(net::workerIpv6SubnetPool(), "subnet_v6", "the worker subnets of fc00::/7")
              : v4From(net::workerIpv4SubnetPool(), "subnet_v4",
                       "the worker subnets of 10.18.0.0-10.29.255.255");
  }
  // Service and instance IPv4 addresses share one pool, as in the original.
  if (!v6) return v4From(net::serviceIpv4Pool(), "rr_v4", net::kServiceIpv4Prefix.toString());
  switch (kind) {
    case Kind::kRoundRobin:
      return v6From(net::roundRobinIpv6Pool(), "rr_v6", net::kRoundRobinIpv6Prefix.toString());
    case Kind::kClosest:
      return v6From(*net::balancingPolicyIpv6Pool(net::kClosestPolicy), "closest_v6",
                    net::kClosestIpv6Prefix.toString());
    default:
      return v6From(net::instanceIpv6Pool(), "instance_v6", "fdff::/21 and fdff:800::/21");
  }
}

Result<std::string> AddressTransaction::take(Kind kind, bool v6,
                                             std::optional<std::string> requested, bj::object doc,
                                             std::string_view path) {
  std::string address;
  if (requested) {
    const auto& names = kind == Kind::kClosest ? kClosestNames : kRoundRobinNames;
    const auto& v6_range =
        kind == Kind::kClosest ? net::kClosestIpv6Prefix : net::kRoundRobinIpv6Prefix;
    const char* field = v6 ? names.v6_key : names.v4_key;
    std::optional<std::string> canonical;
    bool in_range = false;
    if (v6) {
      if (auto a = net::Ipv6Address::parse(*requested)) {
        canonical = a->toString();
        in_range = v6_range.contains(*a);
      }
    } else if (auto a = net::Ipv4Address::parse(*requested)) {
      canonical = a->toString();
      in_range = net::kServiceIpv4Prefix.contains(*a);
    }
    if (!canonical) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("{}.{}: '{}' is not an {} address", path, field, *requested,
                                   v6 ? "IPv6" : "IPv4"));
    }
    if (!in_range) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("{}.{}: {} is outside the {} service range {}", path, field,
                                   *canonical, names.range_name,
                                   v6 ? v6_range.toString() : net::kServiceIpv4Prefix.toString()));
    }
    OAK_ASSIGN_OR_RETURN(bool taken, isTaken(*canonical));
    if (taken) {
      return makeError(
          ErrorCode::kConflict,
          fmt::format("{}.{}: {} is already used by another service", path, field, *canonical));
    }
    address = *canonical;
  } else {
    OAK_ASSIGN_OR_RETURN(address, allocate(kind, v6));
  }
  taken_.insert(address);
  doc["address"] = address;
  doc["family"] = v6 ? "ipv6" : "ipv4";
  new_docs_.emplace_back(address, std::move(doc));
  return address;
}

Result<bj::object> AddressTransaction::assign(const std::string& service_id,
                                              const bj::object* requested, std::string_view path) {
  auto want = [&](const char* key) {
    return requested ? json::getString(*requested, key) : std::nullopt;
  };
  bj::object owner{{"kind", "RR"}, {"service_id", service_id}};
  OAK_ASSIGN_OR_RETURN(auto v4, take(Kind::kRoundRobin, false, want("rr_ip"), owner, path));
  OAK_ASSIGN_OR_RETURN(auto v6, take(Kind::kRoundRobin, true, want("rr_ip_v6"), owner, path));
  return bj::object{{"IpType", "RR"}, {"Address", v4}, {"Address_v6", v6}};
}

Result<bj::object> AddressTransaction::assignClosest(const std::string& service_id,
                                                     const bj::object* requested,
                                                     std::string_view path) {
  auto want = [&](const char* key) {
    return requested ? json::getString(*requested, key) : std::nullopt;
  };
  bj::object owner{{"kind", "Closest"}, {"service_id", service_id}};
  OAK_ASSIGN_OR_RETURN(auto v4, take(Kind::kClosest, false, want("closest_ip"), owner, path));
  OAK_ASSIGN_OR_RETURN(auto v6, take(Kind::kClosest, true, want("closest_ip_v6"), owner, path));
  return bj::object{{"IpType", "Closest"}, {"Address", v4}, {"Address_v6", v6}};
}

Result<bj::array> AddressTransaction::assignAll(const std::string& service_id,
                                                const bj::object* requested,
                                                std::string_view path) {
  OAK_ASSIGN_OR_RETURN(auto rr, assign(service_id, requested, path));
  OAK_ASSIGN_OR_RETURN(auto closest, assignClosest(service_id, requested, path));
  bj::array list;
  list.emplace_back(std::move(rr));
  list.emplace_back(std::move(closest));
  return list;
}

Result<bj::object> AddressTransaction::assignInstance(const std::string& service_id, int64_t n) {
  bj::object owner{{"kind", "instance"}, {"service_id", service_id}, {"instance_number", n}};
  OAK_ASSIGN_OR_RETURN(auto v4, take(Kind::kInstance, false, std::nullopt, owner, ""));
  OAK_ASSIGN_OR_RETURN(auto v6, take(Kind::kInstance, true, std::nullopt, owner, ""));
  return bj::object{{"instance_ip", v4}, {"instance_ip_v6", v6}};
}

Result<bj::object> AddressTransaction::assignSubnets(const std::string& cluster_id,
                                                     const std::string& worker_id) {
  std::string owner_key = cluster_id + "/" + worker_id;
  OAK_ASSIGN_OR_RETURN(auto held,
                       ctx_.store.find(coll::kAddresses, "worker", bj::value(owner_key)));
  std::optional<std::string> v4, v6;
  for (const auto& doc : held) {
    auto address = json::getString(doc, "address");
    if (!address || released_.count(*address)) continue;
    (json::getString(doc, "family") == "ipv6" ? v6 : v4) = *address;
  }
  bj::object owner{{"kind", "subnet"}, {"cluster_id", cluster_id}, {"worker", owner_key}};
  if (!v4) {
    OAK_ASSIGN_OR_RETURN(v4, take(Kind::kSubnet, false, std::nullopt, owner, ""));
  }
  if (!v6) {
    OAK_ASSIGN_OR_RETURN(v6, take(Kind::kSubnet, true, std::nullopt, owner, ""));
  }
  return bj::object{{"subnet", fmt::format("{}/{}", *v4, net::kWorkerIpv4SubnetLength)},
                    {"subnet_v6", fmt::format("{}/{}", *v6, net::kWorkerIpv6SubnetLength)}};
}

void AddressTransaction::free(const std::string& canonical) {
  released_.insert(canonical);
  taken_.erase(canonical);
}

void AddressTransaction::releaseServiceIps(const bj::object& service) {
  const auto* list = json::findArray(service, "service_ip_list");
  if (list == nullptr) return;
  for (const auto& entry : *list) {
    if (!entry.is_object()) continue;
    for (const char* key : {"Address", "Address_v6"}) {
      if (auto a = json::getString(entry.get_object(), key)) free(*a);
    }
  }
}

void AddressTransaction::release(const bj::object& service) {
  releaseServiceIps(service);
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& entry : *list) {
      if (entry.is_object()) releaseInstance(entry.get_object());
    }
  }
}

void AddressTransaction::releaseInstance(const bj::object& instance) {
  for (const char* key : {"instance_ip", "instance_ip_v6"}) {
    if (auto a = json::getString(instance, key)) free(*a);
  }
}

Status AddressTransaction::releaseSubnets(const std::string& cluster_id) {
  OAK_ASSIGN_OR_RETURN(auto held,
                       ctx_.store.find(coll::kAddresses, "cluster_id", bj::value(cluster_id)));
  for (const auto& doc : held) {
    if (auto a = json::getString(doc, "address")) free(*a);
  }
  return {};
}

Status AddressTransaction::commitTo(store::WriteBatch& batch) {
  for (const auto& a : released_) batch.erase(coll::kAddresses, a);
  for (auto& [address, doc] : new_docs_) batch.put(coll::kAddresses, address, std::move(doc));
  if (cursors_loaded_) {
    bj::object doc{{"_id", kCursorDoc}};
    for (const auto& [pool, cursor] : cursors_) doc[pool] = cursor;
    batch.put(coll::kMeta, kCursorDoc, std::move(doc));
  }
  new_docs_.clear();
  return {};
}

Result<bj::object> ServiceAddresses::nextFree() {
  auto tx = begin();
  OAK_ASSIGN_OR_RETURN(auto ips, tx.assign("", nullptr, "addresses"));
  return bj::object{{"ipv4", ips["Address"]}, {"ipv6", ips["Address_v6"]}};
}

}  // namespace oak::root
