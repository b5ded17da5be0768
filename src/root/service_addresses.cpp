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
                     fmt::format("no free service address is left in {}", range_name));
  }
  cursor = got->next_cursor.toString();
  return got->address.toString();
}

}  // namespace

AddressTransaction::AddressTransaction(RootContext& ctx) : ctx_(ctx) {}

Status AddressTransaction::loadCursors() {
  if (cursors_loaded_) return {};
  OAK_ASSIGN_OR_RETURN(auto doc, ctx_.store.get(coll::kMeta, kCursorDoc));
  if (doc) {
    cursor_v4_ = json::getString(*doc, "rr_v4").value_or("");
    cursor_v6_ = json::getString(*doc, "rr_v6").value_or("");
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

Result<std::string> AddressTransaction::take(const std::string& service_id,
                                             std::optional<std::string> requested, bool v6,
                                             std::string_view path) {
  std::string address;
  const char* field = v6 ? "rr_ip_v6" : "rr_ip";
  if (requested) {
    std::optional<std::string> canonical;
    bool in_range = false;
    if (v6) {
      if (auto a = net::Ipv6Address::parse(*requested)) {
        canonical = a->toString();
        in_range = net::kRoundRobinIpv6Prefix.contains(*a);
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
      return makeError(
          ErrorCode::kUnprocessable,
          fmt::format(
              "{}.{}: {} is outside the round-robin service range {}", path, field, *canonical,
              v6 ? net::kRoundRobinIpv6Prefix.toString() : net::kServiceIpv4Prefix.toString()));
    }
    OAK_ASSIGN_OR_RETURN(bool taken, isTaken(*canonical));
    if (taken) {
      return makeError(
          ErrorCode::kConflict,
          fmt::format("{}.{}: {} is already used by another service", path, field, *canonical));
    }
    address = *canonical;
  } else {
    OAK_TRY(loadCursors());
    auto taken = [this](const std::string& a) { return isTaken(a); };
    if (v6) {
      OAK_ASSIGN_OR_RETURN(address, (allocateFrom<net::Ipv6Pool, net::Ipv6Address>(
                                        net::roundRobinIpv6Pool(), cursor_v6_, taken,
                                        net::kRoundRobinIpv6Prefix.toString())));
    } else {
      OAK_ASSIGN_OR_RETURN(address, (allocateFrom<net::Ipv4Pool, net::Ipv4Address>(
                                        net::serviceIpv4Pool(), cursor_v4_, taken,
                                        net::kServiceIpv4Prefix.toString())));
    }
  }
  taken_.insert(address);
  new_docs_.emplace_back(address, bj::object{{"address", address},
                                             {"family", v6 ? "ipv6" : "ipv4"},
                                             {"kind", "RR"},
                                             {"service_id", service_id}});
  return address;
}

Result<bj::object> AddressTransaction::assign(const std::string& service_id,
                                              const bj::object* requested, std::string_view path) {
  auto want = [&](const char* key) {
    return requested ? json::getString(*requested, key) : std::nullopt;
  };
  OAK_ASSIGN_OR_RETURN(auto v4, take(service_id, want("rr_ip"), false, path));
  OAK_ASSIGN_OR_RETURN(auto v6, take(service_id, want("rr_ip_v6"), true, path));
  return bj::object{{"IpType", "RR"}, {"Address", v4}, {"Address_v6", v6}};
}

void AddressTransaction::release(const bj::object& service) {
  const auto* list = json::findArray(service, "service_ip_list");
  if (list == nullptr) return;
  for (const auto& entry : *list) {
    if (!entry.is_object()) continue;
    for (const char* key : {"Address", "Address_v6"}) {
      if (auto a = json::getString(entry.get_object(), key)) {
        released_.insert(*a);
        taken_.erase(*a);
      }
    }
  }
}

Status AddressTransaction::commitTo(store::WriteBatch& batch) {
  for (const auto& a : released_) batch.erase(coll::kAddresses, a);
  for (auto& [address, doc] : new_docs_) batch.put(coll::kAddresses, address, std::move(doc));
  if (cursors_loaded_) {
    batch.put(coll::kMeta, kCursorDoc,
              bj::object{{"_id", kCursorDoc}, {"rr_v4", cursor_v4_}, {"rr_v6", cursor_v6_}});
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
