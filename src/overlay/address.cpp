#include "overlay/address.h"

#include <fmt/format.h>

#include <ostream>

#include "net/address_plan.h"

namespace oak::overlay {

std::string toString(const IpAddress& address) {
  return std::visit([](const auto& a) { return a.toString(); }, address);
}

bool isServiceAddress(const IpAddress& address) {
  if (const auto* v4 = std::get_if<net::Ipv4Address>(&address)) {
    return net::kServiceIpv4Prefix.contains(*v4);
  }
  return net::kServiceIpv6Prefix.contains(std::get<net::Ipv6Address>(address));
}

std::string TunnelEndpoint::toString() const {
  if (std::holds_alternative<net::Ipv6Address>(address)) {
    return fmt::format("[{}]:{}", overlay::toString(address), port);
  }
  return fmt::format("{}:{}", overlay::toString(address), port);
}

std::ostream& operator<<(std::ostream& os, const TunnelEndpoint& e) {
  return os << e.toString();
}

}  // namespace oak::overlay
