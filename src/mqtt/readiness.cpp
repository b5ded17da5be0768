#include "mqtt/readiness.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/unique_fd.h"

namespace oak::mqtt::detail {
namespace {

void appendString(std::string& out, std::string_view s) {
  out += static_cast<char>((s.size() >> 8) & 0xff);
  out += static_cast<char>(s.size() & 0xff);
  out += s;
}

std::string connectPacket(const std::string& username, const std::string& password) {
  std::string body;
  appendString(body, "MQTT");
  body += '\x04';                    // protocol level 3.1.1
  body += '\xc2';                    // username, password, clean session
  body += std::string("\0\x0a", 2);  // keepalive 10 s
  appendString(body, "");            // client id assigned by the broker
  appendString(body, username);
  appendString(body, password);
  std::string packet(1, '\x10');
  size_t len = body.size();
  do {
    auto byte = static_cast<uint8_t>(len % 128);
    len /= 128;
    if (len > 0) byte |= 0x80;
    packet += static_cast<char>(byte);
  } while (len > 0);
  return packet + body;
}

Error unavailable(std::string what) {
  return makeError(ErrorCode::kUnavailable, std::move(what));
}

}  // namespace

std::string probeHost(const std::string& listen_host) {
  if (listen_host.empty() || listen_host == "0.0.0.0") return "127.0.0.1";
  if (listen_host == "::") return "::1";
  return listen_host;
}

Status probeMqtt(const std::string& host, uint16_t port, const std::string& username,
                 const std::string& password, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return unavailable(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  UniqueFd sock(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return unavailable(fmt::format("socket: {}", std::strerror(errno)));
  int fd = sock.get();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    return unavailable(fmt::format("connect: {}", std::strerror(errno)));
  }
  std::string packet = connectPacket(username, password);
  if (::send(fd, packet.data(), packet.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(packet.size())) {
    return unavailable(fmt::format("send: {}", std::strerror(errno)));
  }
  std::array<uint8_t, 4> ack{};
  size_t got = 0;
  while (got < ack.size()) {
    ssize_t n = ::recv(fd, ack.data() + got, ack.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unavailable("no CONNACK");
    got += static_cast<size_t>(n);
  }
  if (ack[0] != 0x20 || ack[1] != 0x02) return unavailable("the answer is not an MQTT CONNACK");
  if (ack[3] != 0) {
    return makeError(ErrorCode::kUnauthenticated,
                     fmt::format("the broker refused the admin account (CONNACK code {})", ack[3]));
  }
  const char disconnect[2] = {'\xe0', '\0'};
  ::send(fd, disconnect, sizeof(disconnect), MSG_NOSIGNAL);
  return {};
}

}  // namespace oak::mqtt::detail
