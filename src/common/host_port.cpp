#include "common/host_port.h"

#include <fmt/format.h>

#include <charconv>

namespace oak {

Result<std::pair<std::string, uint16_t>> parseHostPort(std::string_view text,
                                                       std::string_view flag) {
  auto bad = [&] {
    return makeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: '{}' is not HOST:PORT (e.g. 0.0.0.0:10000 or [::]:10000)", flag, text));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint16_t port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || p != port_text.data() + port_text.size()) return bad();
  return std::pair<std::string, uint16_t>(std::string(host), port);
}

}  // namespace oak
