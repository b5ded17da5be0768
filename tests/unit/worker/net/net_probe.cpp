#include "net_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace oak::worker::testing {
namespace {

using Clock = std::chrono::steady_clock;

Error fail(const std::string& what) {
  return makeError(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

// A socket address for `address` (either family).
bool toSockaddr(const std::string& address, uint16_t port, sockaddr_storage& out,
                socklen_t& length) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Milliseconds left until `deadline` (0 when passed).
int remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool waitReadable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

uint16_t checksum(const uint8_t* data, size_t size, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2) sum += static_cast<uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string text(int family, const void* address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, address, buffer, sizeof(buffer));
  return buffer;
}

}  // namespace

Status ping(const std::string& address, milliseconds timeout) {
  sockaddr_storage to;
  socklen_t length = 0;
  if (!toSockaddr(address, 0, to, length)) return makeError(ErrorCode::kInvalidArgument, address);
  const bool v6 = to.ss_family == AF_INET6;
  const int protocol = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  UniqueFd fd(::socket(to.ss_family, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) return fail("raw socket");
  const uint16_t id = static_cast<uint16_t>(::getpid());
  const auto deadline = Clock::now() + timeout;
  for (uint16_t seq = 1; remaining(deadline) > 0; ++seq) {
    uint8_t request[8] = {static_cast<uint8_t>(v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO),
                          0,
                          0,
                          0,
                          static_cast<uint8_t>(id >> 8),
                          static_cast<uint8_t>(id),
                          static_cast<uint8_t>(seq >> 8),
                          static_cast<uint8_t>(seq)};
    if (!v6) {  // the kernel fills in ICMPv6 checksums, not ICMP ones
      const uint16_t sum = checksum(request, sizeof(request));
      request[2] = static_cast<uint8_t>(sum >> 8);
      request[3] = static_cast<uint8_t>(sum);
    }
    if (::sendto(fd.get(), request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&to), length) <
            0 &&
        errno != EHOSTUNREACH && errno != ENETUNREACH) {
      return fail("send echo to " + address);
    }
    // Replies to this request (or a late one to an earlier one) within 200 ms, then resend.
    const auto resend = std::min(deadline, Clock::now() + milliseconds(200));
    while (waitReadable(fd.get(), remaining(resend))) {
      uint8_t reply[1500];
      const ssize_t n = ::recv(fd.get(), reply, sizeof(reply), 0);
      if (n <= 0) break;
      // Raw IPv4 sockets deliver the IP header too; ICMPv6 ones do not.
      const size_t offset = v6 ? 0 : static_cast<size_t>(reply[0] & 0x0f) * 4;
      if (static_cast<size_t>(n) < offset + 8) continue;
      const uint8_t* icmp = reply + offset;
      const bool is_reply = icmp[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY);
      if (is_reply && (icmp[4] << 8 | icmp[5]) == id) return {};
    }
  }
  return makeError(ErrorCode::kUnavailable, "no echo reply from " + address);
}

Result<UniqueFd> listenTcp(uint16_t port) {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail("socket");
  const int zero = 0;
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return fail("bind port " + std::to_string(port));
  }
  if (::listen(fd.get(), 8) != 0) return fail("listen");
  return fd;
}

Result<Accepted> acceptOne(int listen_fd, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!waitReadable(listen_fd, remaining(deadline))) {
    return makeError(ErrorCode::kUnavailable, "no connection arrived");
  }
  sockaddr_in6 peer{};
  socklen_t length = sizeof(peer);
  UniqueFd conn(::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC));
  if (!conn.valid()) return fail("accept");
  Accepted accepted;
  accepted.peer = text(AF_INET6, &peer.sin6_addr);
  if (accepted.peer.starts_with("::ffff:")) accepted.peer = accepted.peer.substr(7);
  char buffer[256];
  while (waitReadable(conn.get(), remaining(deadline))) {
    const ssize_t n = ::read(conn.get(), buffer, sizeof(buffer));
    if (n <= 0) return accepted;
    accepted.data.append(buffer, static_cast<size_t>(n));
  }
  return makeError(ErrorCode::kUnavailable, "the client did not close");
}

Status connectAndSend(const std::string& address, uint16_t port, const std::string& data,
                      milliseconds timeout) {
  sockaddr_storage to;
  socklen_t length = 0;
  if (!toSockaddr(address, port, to, length)) {
    return makeError(ErrorCode::kInvalidArgument, address);
  }
  UniqueFd fd(::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fail("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), length) != 0 && errno != EINPROGRESS) {
    return fail("connect");
  }
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    return makeError(ErrorCode::kUnavailable, "connect: timed out");
  }
  int error = 0;
  socklen_t error_length = sizeof(error);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length);
  if (error != 0)
    return makeError(ErrorCode::kUnavailable, std::string("connect: ") + strerror(error));
  if (::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(data.size())) {
    return fail("send");
  }
  return {};
}

Status sendUdp(const std::string& address, uint16_t port, const std::string& data) {
  sockaddr_storage to;
  socklen_t length = 0;
  if (!toSockaddr(address, port, to, length)) {
    return makeError(ErrorCode::kInvalidArgument, address);
  }
  UniqueFd fd(::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail("socket");
  if (::sendto(fd.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), length) <
      0) {
    return fail("sendto " + address);
  }
  return {};
}

Result<std::vector<uint8_t>> readPacket(
    int fd, const std::function<bool(const std::vector<uint8_t>&)>& accept, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (waitReadable(fd, remaining(deadline))) {
    std::vector<uint8_t> packet(65536);
    const ssize_t n = ::read(fd, packet.data(), packet.size());
    if (n < 0) return fail("read");
    packet.resize(static_cast<size_t>(n));
    if (accept(packet)) return packet;
  }
  return makeError(ErrorCode::kUnavailable, "no matching packet arrived");
}

bool parseIpv4(const std::vector<uint8_t>& packet, Ipv4Packet& out) {
  if (packet.size() < 20 || packet[0] >> 4 != 4) return false;
  const size_t header = static_cast<size_t>(packet[0] & 0x0f) * 4;
  out.source = text(AF_INET, &packet[12]);
  out.destination = text(AF_INET, &packet[16]);
  out.protocol = packet[9];
  if ((out.protocol == IPPROTO_TCP || out.protocol == IPPROTO_UDP) && packet.size() >= header + 4) {
    out.source_port = static_cast<uint16_t>(packet[header] << 8 | packet[header + 1]);
    out.destination_port = static_cast<uint16_t>(packet[header + 2] << 8 | packet[header + 3]);
  }
  if (out.protocol == IPPROTO_TCP && packet.size() >= header + 14)
    out.tcp_flags = packet[header + 13];
  return true;
}

std::string ipv6Source(const std::vector<uint8_t>& packet) {
  if (packet.size() < 40 || packet[0] >> 4 != 6) return "";
  return text(AF_INET6, &packet[8]);
}

std::string ipv6Destination(const std::vector<uint8_t>& packet) {
  if (packet.size() < 40 || packet[0] >> 4 != 6) return "";
  return text(AF_INET6, &packet[24]);
}

std::vector<uint8_t> tcpSyn(const std::string& source, uint16_t source_port,
                            const std::string& destination, uint16_t destination_port) {
  std::vector<uint8_t> packet(40, 0);
  uint8_t* ip = packet.data();
  uint8_t* tcp = ip + 20;
  ip[0] = 0x45;
  ip[3] = 40;  // total length
  ip[8] = 64;  // TTL
  ip[9] = IPPROTO_TCP;
  ::inet_pton(AF_INET, source.c_str(), ip + 12);
  ::inet_pton(AF_INET, destination.c_str(), ip + 16);
  const uint16_t ip_sum = checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(ip_sum >> 8);
  ip[11] = static_cast<uint8_t>(ip_sum);
  tcp[0] = static_cast<uint8_t>(source_port >> 8);
  tcp[1] = static_cast<uint8_t>(source_port);
  tcp[2] = static_cast<uint8_t>(destination_port >> 8);
  tcp[3] = static_cast<uint8_t>(destination_port);
  tcp[7] = 1;        // sequence number
  tcp[12] = 5 << 4;  // header length: 5 words
  tcp[13] = TH_SYN;  // flags
  tcp[14] = 0xff;    // window
  // Pseudo header: addresses, protocol, TCP length.
  uint32_t sum = 0;
  for (int i = 12; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  sum += IPPROTO_TCP + 20;
  const uint16_t tcp_sum = checksum(tcp, 20, sum);
  tcp[16] = static_cast<uint8_t>(tcp_sum >> 8);
  tcp[17] = static_cast<uint8_t>(tcp_sum);
  return packet;
}

}  // namespace oak::worker::testing
