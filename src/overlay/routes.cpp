#include "overlay/routes.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/json.h"
#include "net/address_plan.h"

namespace oak::overlay {
namespace bj = boost::json;
namespace {

constexpr std::string_view kRoundRobinType = "RR";
constexpr std::string_view kClosestType = "Closest";

Error fieldError(std::string_view path, std::string_view what) {
  return makeError(ErrorCode::kInvalidArgument, fmt::format("{}: {}", path, what));
}

// Present and not null.
const bj::value* field(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

template <class Address>
Result<Address> addressField(const bj::object& o, std::string_view key, std::string_view path) {
  constexpr std::string_view kind =
      std::is_same_v<Address, net::Ipv4Address> ? "an IPv4 address" : "an IPv6 address";
  const bj::value* v = field(o, key);
  if (v == nullptr) return fieldError(path, fmt::format("missing; expected {}", kind));
  if (!v->is_string()) {
    return fieldError(path, fmt::format("expected {}, got {}", kind, json::typeName(*v)));
  }
  auto a = Address::parse(v->get_string());
  if (!a) return fieldError(path, fmt::format("expected {}, got {}", kind, json::preview(*v)));
  return *a;
}

// A service or instance address: inside the service range of its family.
template <class Address, class Prefix>
Result<Address> serviceAddressField(const bj::object& o, std::string_view key,
                                    std::string_view path, const Prefix& range) {
  OAK_ASSIGN_OR_RETURN(Address a, addressField<Address>(o, key, path));
  if (!range.contains(a)) {
    return fieldError(path, fmt::format("{} is not inside {}", a.toString(), range.toString()));
  }
  return a;
}

// A namespace address: inside the overlay but outside the service range, or a translated packet
// would come back to the proxy.
template <class Address, class Prefix>
Result<Address> namespaceAddressField(const bj::object& o, std::string_view key,
                                      std::string_view path, const Prefix& overlay,
                                      const Prefix& services) {
  OAK_ASSIGN_OR_RETURN(Address a, addressField<Address>(o, key, path));
  if (!overlay.contains(a) || services.contains(a)) {
    return fieldError(path, fmt::format("{} is not inside {} outside {}", a.toString(),
                                        overlay.toString(), services.toString()));
  }
  return a;
}

Result<int64_t> integerField(const bj::object& o, std::string_view key, std::string_view path,
                             int64_t min, int64_t max) {
  const auto n = json::getInt(o, key);
  if (!n || *n < min || *n > max) {
    const bj::value* v = o.if_contains(key);
    return fieldError(path, fmt::format("expected an integer {}..{}, got {}", min, max,
                                        v ? json::preview(*v) : "nothing"));
  }
  return *n;
}

Result<const bj::array*> arrayField(const bj::object& o, std::string_view key) {
  const auto* a = json::findArray(o, key);
  if (a == nullptr) return fieldError(key, "expected an array");
  return a;
}

Result<const bj::object*> objectAt(const bj::value& v, std::string_view path) {
  if (!v.is_object())
    return fieldError(path, fmt::format("expected an object, got {}", json::typeName(v)));
  return &v.get_object();
}

// Skips (nullopt) entries of an IpType this worker does not know.
Result<std::optional<ServiceAddress>> parseServiceAddress(const bj::value& v,
                                                          const std::string& path) {
  OAK_ASSIGN_OR_RETURN(const bj::object* o, objectAt(v, path));
  const auto* type = json::findString(*o, "IpType");
  if (type == nullptr) return fieldError(path + ".IpType", "expected a string");
  ServiceAddress out;
  if (*type == kRoundRobinType) {
    out.policy = net::kRoundRobinPolicy;
  } else if (*type == kClosestType) {
    out.policy = net::kClosestPolicy;
  } else {
    return std::optional<ServiceAddress>();
  }
  OAK_ASSIGN_OR_RETURN(out.v4, (serviceAddressField<net::Ipv4Address>(
                                   *o, "Address", path + ".Address", net::kServiceIpv4Prefix)));
  OAK_ASSIGN_OR_RETURN(
      out.v6, (serviceAddressField<net::Ipv6Address>(*o, "Address_v6", path + ".Address_v6",
                                                     net::kServiceIpv6Prefix)));
  return std::optional<ServiceAddress>(out);
}

// Skips (nullopt) instances that do not run yet (no namespace address).
Result<std::optional<InstanceRoute>> parseInstance(const bj::value& v, const std::string& path) {
  OAK_ASSIGN_OR_RETURN(const bj::object* o, objectAt(v, path));
  if (field(*o, "namespace_ip") == nullptr) return std::optional<InstanceRoute>();
  InstanceRoute r;
  OAK_ASSIGN_OR_RETURN(r.instance_number, integerField(*o, "instance_number",
                                                       path + ".instance_number", 0, INT64_MAX));
  const auto* worker = json::findString(*o, "worker_id");
  if (worker == nullptr) return fieldError(path + ".worker_id", "expected a string");
  r.worker_id = std::string(*worker);
  OAK_ASSIGN_OR_RETURN(r.instance_ip,
                       (serviceAddressField<net::Ipv4Address>(
                           *o, "instance_ip", path + ".instance_ip", net::kServiceIpv4Prefix)));
  OAK_ASSIGN_OR_RETURN(r.instance_ip6, (serviceAddressField<net::Ipv6Address>(
                                           *o, "instance_ip_v6", path + ".instance_ip_v6",
                                           net::kServiceIpv6Prefix)));
  OAK_ASSIGN_OR_RETURN(r.nsip, (namespaceAddressField<net::Ipv4Address>(
                                   *o, "namespace_ip", path + ".namespace_ip",
                                   net::kOverlayIpv4Prefix, net::kServiceIpv4Prefix)));
  if (field(*o, "namespace_ip_v6") != nullptr) {
    OAK_ASSIGN_OR_RETURN(r.nsip6, (namespaceAddressField<net::Ipv6Address>(
                                      *o, "namespace_ip_v6", path + ".namespace_ip_v6",
                                      net::kOverlayIpv6Prefix, net::kServiceIpv6Prefix)));
  }
  const bj::value* host = field(*o, "host_ip");
  const auto* host_text = host && host->is_string() ? &host->get_string() : nullptr;
  if (auto h4 = host_text ? net::Ipv4Address::parse(*host_text) : std::nullopt) {
    r.host.address = *h4;
  } else if (auto h6 = host_text ? net::Ipv6Address::parse(*host_text) : std::nullopt) {
    r.host.address = *h6;
  } else {
    return fieldError(path + ".host_ip", fmt::format("expected an IP address, got {}",
                                                     host ? json::preview(*host) : "nothing"));
  }
  OAK_ASSIGN_OR_RETURN(const int64_t port,
                       integerField(*o, "host_port", path + ".host_port", 1, 65535));
  r.host.port = static_cast<uint16_t>(port);
  return std::optional<InstanceRoute>(std::move(r));
}

std::string_view policyName(int policy) {
  if (policy == net::kRoundRobinPolicy) return kRoundRobinType;
  if (policy == net::kClosestPolicy) return kClosestType;
  return {};
}

}  // namespace

Result<JobRoutes> jobRoutesFromJson(const bj::object& o) {
  JobRoutes job;
  const auto* name = json::findString(o, "job_name");
  if (name == nullptr || name->empty()) {
    return fieldError("job_name", "expected a non-empty string");
  }
  job.job_name = std::string(*name);
  OAK_ASSIGN_OR_RETURN(const bj::array* ips, arrayField(o, "service_ip_list"));
  for (size_t i = 0; i < ips->size(); ++i) {
    OAK_ASSIGN_OR_RETURN(auto address,
                         parseServiceAddress((*ips)[i], fmt::format("service_ip_list[{}]", i)));
    if (address) job.service_ips.push_back(*address);
  }
  OAK_ASSIGN_OR_RETURN(const bj::array* instances, arrayField(o, "instance_list"));
  for (size_t i = 0; i < instances->size(); ++i) {
    OAK_ASSIGN_OR_RETURN(auto instance,
                         parseInstance((*instances)[i], fmt::format("instance_list[{}]", i)));
    if (instance) job.instances.push_back(std::move(*instance));
  }
  return job;
}

bj::object toJson(const JobRoutes& job) {
  bj::array ips;
  for (const auto& a : job.service_ips) {
    const std::string_view type = policyName(a.policy);
    if (type.empty()) continue;  // no wire name (yet)
    ips.push_back(bj::object{
        {"IpType", type}, {"Address", a.v4.toString()}, {"Address_v6", a.v6.toString()}});
  }
  bj::array instances;
  for (const auto& r : job.instances) {
    bj::object i{{"instance_number", r.instance_number},
                 {"worker_id", r.worker_id},
                 {"instance_ip", r.instance_ip.toString()},
                 {"instance_ip_v6", r.instance_ip6.toString()},
                 {"namespace_ip", r.nsip.toString()},
                 {"host_ip", toString(r.host.address)},
                 {"host_port", r.host.port}};
    if (r.nsip6) i["namespace_ip_v6"] = r.nsip6->toString();
    instances.push_back(std::move(i));
  }
  return bj::object{{"job_name", job.job_name},
                    {"service_ip_list", std::move(ips)},
                    {"instance_list", std::move(instances)}};
}

ServiceTable::Builder& ServiceTable::Builder::add(JobRoutes job) {
  std::erase_if(jobs_, [&job](const JobRoutes& j) { return j.job_name == job.job_name; });
  jobs_.push_back(std::move(job));
  return *this;
}

ServiceTable::Builder& ServiceTable::Builder::addLocal(LocalInstance local) {
  locals_.push_back(std::move(local));
  return *this;
}

std::shared_ptr<const ServiceTable> ServiceTable::Builder::build() {
  std::shared_ptr<ServiceTable> table(new ServiceTable());
  table->jobs_ = std::move(jobs_);
  table->locals_ = std::move(locals_);
  jobs_.clear();
  locals_.clear();
  table->index();
  return table;
}

void ServiceTable::addResolution(const IpAddress& address, std::string_view job, int policy,
                                 std::span<const InstanceRoute> instances) {
  const auto next = static_cast<uint32_t>(resolutions_.size());
  uint32_t index = next;
  if (const auto* v4 = std::get_if<net::Ipv4Address>(&address)) {
    index = by_address4_.try_emplace(*v4, next).first->second;
  } else {
    index = by_address6_.try_emplace(std::get<net::Ipv6Address>(address), next).first->second;
  }
  const Resolution r{address, job, policy, instances, index};
  if (index == next) {
    resolutions_.push_back(r);
  } else {
    resolutions_[index] = r;  // the later job wins
  }
}

void ServiceTable::index() {
  for (auto& job : jobs_) {
    std::stable_sort(job.instances.begin(), job.instances.end(),
                     [](const InstanceRoute& a, const InstanceRoute& b) {
                       return a.instance_number < b.instance_number;
                     });
  }
  for (const auto& job : jobs_) {
    for (const auto& a : job.service_ips) {
      addResolution(a.v4, job.job_name, a.policy, job.instances);
      addResolution(a.v6, job.job_name, a.policy, job.instances);
    }
    for (const auto& r : job.instances) {
      const std::span<const InstanceRoute> one(&r, 1);
      addResolution(r.instance_ip, job.job_name, net::kInstancePolicy, one);
      addResolution(r.instance_ip6, job.job_name, net::kInstancePolicy, one);
      by_nsip4_[r.nsip] = &r;
      if (r.nsip6) by_nsip6_[*r.nsip6] = &r;
    }
  }
  for (const auto& l : locals_) {
    locals4_[l.nsip] = &l;
    if (l.nsip6) locals6_[*l.nsip6] = &l;
  }
}

namespace {
template <class Map, class Key>
auto findIn(const Map& map, const Key& key) -> decltype(map.begin()->second) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}
}  // namespace

const Resolution* ServiceTable::resolve(net::Ipv4Address a) const {
  auto it = by_address4_.find(a);
  return it == by_address4_.end() ? nullptr : &resolutions_[it->second];
}

const Resolution* ServiceTable::resolve(const net::Ipv6Address& a) const {
  auto it = by_address6_.find(a);
  return it == by_address6_.end() ? nullptr : &resolutions_[it->second];
}

const Resolution* ServiceTable::resolve(const IpAddress& a) const {
  return std::visit([this](const auto& address) { return resolve(address); }, a);
}

const InstanceRoute* ServiceTable::instanceAtNsip(net::Ipv4Address nsip) const {
  return findIn(by_nsip4_, nsip);
}

const InstanceRoute* ServiceTable::instanceAtNsip(const net::Ipv6Address& nsip) const {
  return findIn(by_nsip6_, nsip);
}

const LocalInstance* ServiceTable::localSender(net::Ipv4Address nsip) const {
  return findIn(locals4_, nsip);
}

const LocalInstance* ServiceTable::localSender(const net::Ipv6Address& nsip) const {
  return findIn(locals6_, nsip);
}

}  // namespace oak::overlay
