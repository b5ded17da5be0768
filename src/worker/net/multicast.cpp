#include "worker/net/multicast.h"

#include <fmt/format.h>

#include <sstream>
#include <thread>

#include "common/files.h"

namespace oak::worker {

std::string solicitedNodeGroup(const net::Ipv6Address& address) {
  const auto& b = address.bytes();
  return fmt::format("ff0200000000000000000001ff{:02x}{:02x}{:02x}", b[13], b[14], b[15]);
}

bool igmp6Lists(std::string_view igmp6, std::string_view ifname, std::string_view group) {
  std::istringstream in{std::string(igmp6)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string index, name, hex;
    if (fields >> index >> name >> hex && name == ifname && hex == group) return true;
  }
  return false;
}

bool awaitSolicitedNode(std::string_view ifname, const net::Ipv6Address& address,
                        std::chrono::milliseconds timeout) {
  const std::string group = solicitedNodeGroup(address);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // thread-self: the namespace of this thread, which may differ from the process's.
    auto text = files::read("/proc/thread-self/net/igmp6");
    if (text && igmp6Lists(*text, ifname, group)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace oak::worker
