#pragma once
// Traffic for the kernel tests, sent and received in the network namespace of the calling thread
// (wrap calls in runInNetns to act inside an instance). Every wait is bounded by `timeout`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace oak::worker::testing {

using std::chrono::milliseconds;
inline constexpr milliseconds kProbeTimeout{5000};

// ICMP (v4) or ICMPv6 echo to `address` until one reply arrives.
Status ping(const std::string& address, milliseconds timeout = kProbeTimeout);

// A dual-stack TCP listener on [::]:port.
Result<UniqueFd> listenTcp(uint16_t port);

struct Accepted {
  std::string peer;  // address of the client as the server sees it ("10.18.0.1")
  std::string data;  // what the client sent before closing
};
Result<Accepted> acceptOne(int listen_fd, milliseconds timeout = kProbeTimeout);

// Connects, sends `data` and closes; the error names errno ("Connection refused").
Status connectAndSend(const std::string& address, uint16_t port, const std::string& data,
                      milliseconds timeout = kProbeTimeout);

Status sendUdp(const std::string& address, uint16_t port, const std::string& data);

// Reads packets from `fd` (a TUN) until `accept` returns true for one; that one is returned.
Result<std::vector<uint8_t>> readPacket(
    int fd, const std::function<bool(const std::vector<uint8_t>&)>& accept,
    milliseconds timeout = kProbeTimeout);

// Raw IPv4 packets.
struct Ipv4Packet {
  std::string source;
  std::string destination;
  uint8_t protocol = 0;
  uint16_t source_port = 0;  // TCP/UDP only
  uint16_t destination_port = 0;
  uint8_t tcp_flags = 0;
};
bool parseIpv4(const std::vector<uint8_t>& packet, Ipv4Packet& out);
// Source address of an IPv6 packet, or "" when `packet` is none.
std::string ipv6Source(const std::vector<uint8_t>& packet);
std::string ipv6Destination(const std::vector<uint8_t>& packet);
// A TCP SYN with valid checksums.
std::vector<uint8_t> tcpSyn(const std::string& source, uint16_t source_port,
                            const std::string& destination, uint16_t destination_port);

}  // namespace oak::worker::testing
