#include "net/port_mapping.h"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <string>

namespace oak::net {
namespace {

constexpr size_t kMaxShown = 60;

// The item as it appears in messages: JSON-escaped (control characters stay visible), single
// quotes, cut after kMaxShown bytes without splitting a UTF-8 sequence.
std::string quote(std::string_view text) {
  std::string escaped = boost::json::serialize(text);
  escaped = escaped.substr(1, escaped.size() - 2);
  if (escaped.size() > kMaxShown) {
    size_t n = kMaxShown;
    while (n > 0 && (static_cast<unsigned char>(escaped[n]) & 0xC0) == 0x80) --n;
    escaped.resize(n);
    escaped += "...";
  }
  return "'" + escaped + "'";
}

Error badItem(std::string_view item, std::string_view why) {
  return makeError(ErrorCode::kUnprocessable,
                   quote(item) + " is not a valid port mapping (" + std::string(why) + ")");
}

// Accepts plain decimal digits only (no sign, no spaces), then checks the range.
Result<uint16_t> parsePort(std::string_view digits, std::string_view item) {
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || end != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return badItem(item, "expected host[:container][/tcp|/udp]");
  }
  if (ec == std::errc::result_out_of_range || port == 0 || port > 65535) {
    return badItem(item, "ports must be 1..65535");
  }
  return static_cast<uint16_t>(port);
}

Result<PortMapping> parseItem(std::string_view item) {
  PortMapping mapping;
  std::string_view ports = item;
  if (ports.ends_with("/udp")) {
    mapping.protocol = PortMapping::Protocol::kUdp;
    ports.remove_suffix(4);
  } else if (ports.ends_with("/tcp")) {
    ports.remove_suffix(4);
  }
  const size_t colon = ports.find(':');
  std::string_view host = ports.substr(0, colon);
  std::string_view container = colon == std::string_view::npos ? host : ports.substr(colon + 1);
  OAK_ASSIGN_OR_RETURN(mapping.host_port, parsePort(host, item));
  OAK_ASSIGN_OR_RETURN(mapping.container_port, parsePort(container, item));
  return mapping;
}

}  // namespace

std::string_view protocolName(PortMapping::Protocol protocol) {
  return protocol == PortMapping::Protocol::kUdp ? "udp" : "tcp";
}

Result<std::vector<PortMapping>> parsePorts(std::string_view spec) {
  std::vector<PortMapping> mappings;
  if (spec.empty()) return mappings;
  size_t start = 0;
  while (true) {
    const size_t end = spec.find(';', start);
    std::string_view item = spec.substr(start, end - start);
    if (item.empty()) {
      return makeError(ErrorCode::kUnprocessable, quote(spec) + " contains an empty port mapping");
    }
    OAK_ASSIGN_OR_RETURN(PortMapping mapping, parseItem(item));
    mappings.push_back(mapping);
    if (end == std::string_view::npos) return mappings;
    start = end + 1;
  }
}

}  // namespace oak::net
