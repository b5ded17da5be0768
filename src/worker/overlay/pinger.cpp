#include "worker/overlay/pinger.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "overlay/checksum.h"

namespace oak::worker {

namespace {

constexpr size_t kIcmpHeader = 8;
constexpr int kIcmpFilter = 1;  // ICMP_FILTER of <linux/icmp.h>: a mask of refused types
constexpr size_t kPayload = 8;  // the send time, big-endian microseconds

}  // namespace

Result<Pinger> Pinger::open(bool ipv6, uint16_t identifier) {
  const int protocol = ipv6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
  const int fd =
      ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) {
    return makeError(ErrorCode::kUnavailable,
                     std::string("ICMP socket for RTT probes: ") + std::strerror(errno));
  }
  UniqueFd owned(fd);
  if (ipv6) {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    ::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  } else {
    const uint32_t refused = ~(1U << ICMP_ECHOREPLY);
    ::setsockopt(fd, SOL_RAW, kIcmpFilter, &refused, sizeof(refused));
  }
  return Pinger(std::move(owned), ipv6, identifier);
}

void Pinger::send(const overlay::IpAddress& to, uint16_t sequence, uint64_t sent_us) {
  std::array<uint8_t, kIcmpHeader + kPayload> m{};
  m[0] = ipv6_ ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  overlay::store16(&m[4], identifier_);
  overlay::store16(&m[6], sequence);
  overlay::store64(&m[kIcmpHeader], sent_us);
  if (const auto* v6 = std::get_if<net::Ipv6Address>(&to)) {
    if (!ipv6_) return;
    sockaddr_in6 sa{};  // the kernel fills in ICMPv6's checksum
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, v6->bytes().data(), 16);
    (void)!::sendto(fd_.get(), m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    return;
  }
  if (ipv6_) return;
  overlay::store16(&m[2], overlay::checksumFinish(overlay::checksumAdd(0, m)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(std::get<net::Ipv4Address>(to).toUint32());
  (void)!::sendto(fd_.get(), m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
}

void Pinger::receive(
    const std::function<void(const overlay::IpAddress& from, uint64_t sent_us)>& reply) {
  std::array<uint8_t, 256> in{};
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    const ssize_t got = ::recvfrom(fd_.get(), in.data(), in.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_length);
    if (got < 0) return;
    size_t offset = 0;
    if (!ipv6_) {  // raw IPv4 sockets hand over the IP header too
      if (got < 20) continue;
      offset = static_cast<size_t>(in[0] & 0x0f) * 4;
    }
    if (static_cast<size_t>(got) < offset + kIcmpHeader + kPayload) continue;
    const uint8_t* m = in.data() + offset;
    const uint8_t echo_reply = ipv6_ ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
    if (m[0] != echo_reply || overlay::load16(m + 4) != identifier_) continue;
    overlay::IpAddress sender;
    if (from.ss_family == AF_INET6) {
      net::Ipv6Address::Bytes b{};
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6&>(from).sin6_addr, 16);
      sender = net::Ipv6Address(b);
    } else {
      sender = net::Ipv4Address(ntohl(reinterpret_cast<sockaddr_in&>(from).sin_addr.s_addr));
    }
    reply(sender, overlay::load64(m + kIcmpHeader));
  }
}

}  // namespace oak::worker
