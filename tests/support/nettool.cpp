// oak-nettool: a static echo-who-you-are tool for network tests, copied into test images as
// /bin/nettool. No name resolution: addresses are numeric IPv4 or IPv6 literals.
//
//   nettool serve tcp|udp PORT
//     Listens on [::]:PORT, both families (0.0.0.0 when the kernel has no IPv6). Answers each TCP
//     connection (after reading one line) or UDP datagram with one line
//     "<hostname> <peer address>:<peer port>" (IPv4 peers in dotted form, IPv6 ones without
//     brackets: split at the last colon), then closes the connection. UDP answers leave from
//     the address the datagram was sent to. Prints "serving tcp|udp PORT" once listening and
//     every answer it sends.
//
//   nettool ask tcp|udp ADDR PORT COUNT [--src-port P] [--timeout-ms T]
//     COUNT sequential exchanges, each on a new socket (a new flow): prints the answer line or
//     "ERROR <reason>". --src-port binds that local port (SO_REUSEADDR) every time; --timeout-ms
//     bounds each exchange (default 2000). Exit code 0 when all were answered, 1 otherwise,
//     2 for bad usage.

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  sockaddr* raw() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* raw() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

void say(const std::string& line) {
  std::string text = line + "\n";
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string errnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

int usage() {
  std::fprintf(stderr,
               "usage: nettool serve tcp|udp PORT\n"
               "       nettool ask tcp|udp ADDR PORT COUNT [--src-port P] [--timeout-ms T]\n");
  return 2;
}

bool parseNumber(const char* text, long min, long max, long& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  out = v;
  return true;
}

// "10.0.0.1", "fc00::2", "[fc00::2]", "fe80::1%eth0".
bool parseAddress(std::string text, uint16_t port, Address& out) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  std::string scope;
  if (size_t pct = text.find('%'); pct != std::string::npos) {
    scope = text.substr(pct + 1);
    text.resize(pct);
  }
  if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) != 1) return false;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  if (!scope.empty()) {
    long index = 0;
    v6->sin6_scope_id = parseNumber(scope.c_str(), 1, 1 << 30, index)
                            ? static_cast<uint32_t>(index)
                            : ::if_nametoindex(scope.c_str());
    if (v6->sin6_scope_id == 0) return false;
  }
  out.length = sizeof(sockaddr_in6);
  return true;
}

// "addr:port"; IPv4-mapped IPv6 addresses (IPv4 peers of a dual-stack socket) in dotted form.
std::string peerText(const Address& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (a.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (a.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      ::inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
    port = ntohs(v6->sin6_port);
  }
  return std::string(text) + ":" + std::to_string(port);
}

std::string answerFor(const Address& peer) {
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + " " + peerText(peer);
}

// A socket on [::]:port accepting both families, or on 0.0.0.0:port without IPv6.
int listenSocket(int type, uint16_t port, int& family) {
  int one = 1, zero = 0;
  int fd = ::socket(AF_INET6, type | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      family = AF_INET6;
      return fd;
    }
    ::close(fd);
  }
  fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  family = AF_INET;
  return fd;
}

// Reads up to and including '\n' (or to EOF), waiting until `deadline`. False on timeout/error.
bool readLine(int fd, Clock::time_point deadline, std::string& line, std::string& error) {
  char c;
  while (line.size() < 4096) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      error = "timeout";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      error = errnoText("poll");
      return false;
    }
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errnoText("recv");
      return false;
    }
    if (n == 0 || c == '\n') return true;
    line.push_back(c);
  }
  return true;
}

void answerConnection(int fd, Address peer) {
  std::string line, error;
  readLine(fd, Clock::now() + std::chrono::seconds(5), line, error);
  std::string answer = answerFor(peer);
  std::string text = answer + "\n";
  ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  ::close(fd);
  say(answer);
}

int serveTcp(uint16_t port) {
  int family = 0;
  int fd = listenSocket(SOCK_STREAM, port, family);
  if (fd < 0 || ::listen(fd, 128) != 0) {
    std::fprintf(stderr, "nettool: listen on tcp port %u: %s\n", port, std::strerror(errno));
    return 1;
  }
  say("serving tcp " + std::to_string(port));
  while (true) {
    Address peer;
    peer.length = sizeof(peer.storage);
    int c = ::accept4(fd, peer.raw(), &peer.length, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EINTR && errno != ECONNABORTED) perror("nettool: accept");
      continue;
    }
    // One thread per connection: a client that never sends its line delays no one else.
    std::thread(answerConnection, c, peer).detach();
  }
}

int serveUdp(uint16_t port) {
  int family = 0;
  int fd = listenSocket(SOCK_DGRAM, port, family);
  if (fd < 0) {
    std::fprintf(stderr, "nettool: bind udp port %u: %s\n", port, std::strerror(errno));
    return 1;
  }
  int one = 1;
  if (family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  } else {
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  }
  say("serving udp " + std::to_string(port));
  char buffer[65536];
  alignas(cmsghdr) char control[256];
  while (true) {
    Address peer;
    iovec iov{buffer, sizeof(buffer)};
    msghdr msg{};
    msg.msg_name = &peer.storage;
    msg.msg_namelen = sizeof(peer.storage);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(fd, &msg, 0) < 0) {
      if (errno != EINTR) perror("nettool: recvmsg");
      continue;
    }
    peer.length = msg.msg_namelen;
    // The answer leaves from the address the datagram came to (a host may have several).
    alignas(cmsghdr) char reply_control[256];
    size_t reply_control_len = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      cmsghdr* out = reinterpret_cast<cmsghdr*>(reply_control);
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        if (!IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) info.ipi6_ifindex = 0;
        out->cmsg_level = IPPROTO_IPV6;
        out->cmsg_type = IPV6_PKTINFO;
        out->cmsg_len = CMSG_LEN(sizeof(info));
        std::memcpy(CMSG_DATA(out), &info, sizeof(info));
        reply_control_len = CMSG_SPACE(sizeof(info));
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        in_pktinfo reply{};
        reply.ipi_spec_dst = info.ipi_addr;
        out->cmsg_level = IPPROTO_IP;
        out->cmsg_type = IP_PKTINFO;
        out->cmsg_len = CMSG_LEN(sizeof(reply));
        std::memcpy(CMSG_DATA(out), &reply, sizeof(reply));
        reply_control_len = CMSG_SPACE(sizeof(reply));
      }
    }
    std::string answer = answerFor(peer);
    std::string text = answer + "\n";
    iovec out_iov{text.data(), text.size()};
    msghdr reply{};
    reply.msg_name = &peer.storage;
    reply.msg_namelen = peer.length;
    reply.msg_iov = &out_iov;
    reply.msg_iovlen = 1;
    reply.msg_control = reply_control_len > 0 ? reply_control : nullptr;
    reply.msg_controllen = reply_control_len;
    if (::sendmsg(fd, &reply, 0) < 0) {
      perror("nettool: sendmsg");
      continue;
    }
    say(answer);
  }
}

// A socket of the destination's family, bound to `src_port` when it is not 0.
int clientSocket(const Address& dst, int type, uint16_t src_port, std::string& error) {
  int fd = ::socket(dst.family(), type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errnoText("socket");
    return -1;
  }
  if (src_port != 0) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    Address local;
    local.storage.ss_family = static_cast<sa_family_t>(dst.family());
    if (dst.family() == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&local.storage)->sin_port = htons(src_port);
      local.length = sizeof(sockaddr_in);
    } else {
      reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_port = htons(src_port);
      local.length = sizeof(sockaddr_in6);
    }
    if (::bind(fd, local.raw(), local.length) != 0) {
      error = errnoText("bind");
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

// One TCP exchange: connect, send a line, read the answer line, wait for the server's close (so
// the server, not us, keeps TIME_WAIT and the same source port can connect again at once).
bool askTcpOnce(const Address& dst, uint16_t src_port, std::chrono::milliseconds timeout,
                std::string& out) {
  auto deadline = Clock::now() + timeout;
  int fd = clientSocket(dst, SOCK_STREAM | SOCK_NONBLOCK, src_port, out);
  if (fd < 0) return false;
  bool ok = false;
  do {
    if (::connect(fd, dst.raw(), dst.length) != 0 && errno != EINPROGRESS) {
      out = errnoText("connect");
      break;
    }
    pollfd p{fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) {
      out = "connect: timeout";
      break;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      out = std::string("connect: ") + std::strerror(err);
      break;
    }
    const char kHello[] = "ask\n";
    if (::send(fd, kHello, sizeof(kHello) - 1, MSG_NOSIGNAL) < 0) {
      out = errnoText("send");
      break;
    }
    std::string line, error;
    if (!readLine(fd, deadline, line, error)) {
      out = "answer: " + error;
      break;
    }
    if (line.empty()) {
      out = "closed without an answer";
      break;
    }
    out = line;
    ok = true;
    std::string rest;
    readLine(fd, deadline, rest, error);  // the server's FIN, best effort
  } while (false);
  ::close(fd);
  return ok;
}

bool askUdpOnce(const Address& dst, uint16_t src_port, std::chrono::milliseconds timeout,
                std::string& out) {
  int fd = clientSocket(dst, SOCK_DGRAM, src_port, out);
  if (fd < 0) return false;
  bool ok = false;
  do {
    // Connected: only the address asked answers, and ICMP errors surface as errno.
    if (::connect(fd, dst.raw(), dst.length) != 0) {
      out = errnoText("connect");
      break;
    }
    const char kHello[] = "ask\n";
    if (::send(fd, kHello, sizeof(kHello) - 1, 0) < 0) {
      out = errnoText("send");
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) {
      out = "answer: timeout";
      break;
    }
    char buffer[2048];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      out = errnoText("recv");
      break;
    }
    out.assign(buffer, static_cast<size_t>(n));
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    ok = true;
  } while (false);
  ::close(fd);
  return ok;
}

int ask(int argc, char** argv) {
  // ask PROTO ADDR PORT COUNT [options]
  if (argc < 6) return usage();
  std::string proto = argv[2];
  long port = 0, count = 0, src_port = 0, timeout_ms = 2000;
  if ((proto != "tcp" && proto != "udp") || !parseNumber(argv[4], 1, 65535, port) ||
      !parseNumber(argv[5], 0, 1000000, count)) {
    return usage();
  }
  for (int i = 6; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    if (flag == "--src-port" && parseNumber(argv[i + 1], 1, 65535, src_port)) continue;
    if (flag == "--timeout-ms" && parseNumber(argv[i + 1], 1, 3600000, timeout_ms)) continue;
    return usage();
  }
  Address dst;
  if (!parseAddress(argv[3], static_cast<uint16_t>(port), dst)) {
    std::fprintf(stderr, "nettool: '%s' is not a numeric IPv4 or IPv6 address\n", argv[3]);
    return 2;
  }
  int failed = 0;
  for (long i = 0; i < count; ++i) {
    std::string out;
    bool ok = proto == "tcp" ? askTcpOnce(dst, static_cast<uint16_t>(src_port),
                                          std::chrono::milliseconds(timeout_ms), out)
                             : askUdpOnce(dst, static_cast<uint16_t>(src_port),
                                          std::chrono::milliseconds(timeout_ms), out);
    say(ok ? out : "ERROR " + out);
    failed += ok ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

int serve(int argc, char** argv) {
  long port = 0;
  if (argc != 4 || !parseNumber(argv[3], 1, 65535, port)) return usage();
  std::string proto = argv[2];
  if (proto == "tcp") return serveTcp(static_cast<uint16_t>(port));
  if (proto == "udp") return serveUdp(static_cast<uint16_t>(port));
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) return usage();
  std::string command = argv[1];
  if (command == "serve") return serve(argc, argv);
  if (command == "ask") return ask(argc, argv);
  return usage();
}
