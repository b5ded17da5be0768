// The overlay's data path on the real kernel, without the control plane: workers as network
// namespaces linked by an underlay bridge, each with its bridge, TUN device and proxy thread;
// instances as namespaces attached to them; routes published by the test (DatapathLab). Clients
// and servers are sockets opened inside instance namespaces.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <thread>

#include "datapath_lab.h"
#include "net/address_plan.h"
#include "overlay/checksum.h"
#include "overlay/kernel_plan.h"

namespace oak::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kPort = 8080;
constexpr const char* kServer = "app.ns.srv.ns";
constexpr const char* kClient = "app.ns.cli.ns";

sockaddr_storage sockaddrOf(const std::string& address, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (auto v4 = net::Ipv4Address::parse(address)) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(v4->toUint32());
    len = sizeof(sockaddr_in);
  } else {
    auto v6 = net::Ipv6Address::parse(address).value();
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    std::memcpy(&sa->sin6_addr, v6.bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  }
  return ss;
}

std::string textOf(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  } else {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(a6) + 12, buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, a6, buf, sizeof(buf));
    }
  }
  return buf;
}

// A dual-stack socket bound to `port` on every address (listening if TCP), or -1.
int listener(int type, uint16_t port) {
  int fd = ::socket(AF_INET6, type | SOCK_CLOEXEC, 0);
  int off = 0, on = 1;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
    ::close(fd);
    return -1;
  }
  if (type == SOCK_STREAM) ::listen(fd, 128);
  return fd;
}

// A dual-stack server in an instance: answers every TCP connection and UDP datagram with
// "<name> <peer address>".
class Server {
 public:
  Server(DatapathLab& lab, const LabInstance& at, std::string name) : name_(std::move(name)) {
    auto tcp = lab.inNamespace(at.netns, [] { return listener(SOCK_STREAM, kPort); });
    auto udp = lab.inNamespace(at.netns, [] { return listener(SOCK_DGRAM, kPort); });
    tcp_ = tcp ? *tcp : -1;
    udp_ = udp ? *udp : -1;
    thread_ = std::thread([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    ::close(tcp_);
    ::close(udp_);
  }
  bool ok() const { return tcp_ >= 0 && udp_ >= 0; }

 private:
  void serve() {
    pollfd fds[2] = {{tcp_, POLLIN, 0}, {udp_, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds, 2, 50) <= 0) continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      if (fds[0].revents & POLLIN) {
        int c = ::accept(tcp_, reinterpret_cast<sockaddr*>(&peer), &len);
        if (c < 0) continue;
        char buf[64];
        (void)!::read(c, buf, sizeof(buf));
        std::string answer = name_ + " " + textOf(peer);
        (void)!::write(c, answer.data(), answer.size());
        ::close(c);
      }
      if (fds[1].revents & POLLIN) {
        std::vector<char> buf(65536);
        ssize_t n =
            ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
        if (n < 0) continue;
        std::string answer = fmt::format("{} {} {}", name_, textOf(peer), n);
        ::sendto(udp_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
      }
    }
  }

  std::string name_;
  int tcp_ = -1;
  int udp_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Echoes every TCP connection's bytes back until the client stops sending (port kEchoPort).
constexpr uint16_t kEchoPort = 9000;

class EchoServer {
 public:
  EchoServer(DatapathLab& lab, const LabInstance& at) {
    auto fd = lab.inNamespace(at.netns, [] { return listener(SOCK_STREAM, kEchoPort); });
    listener_ = fd ? *fd : -1;
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  bool ok() const { return listener_ >= 0; }

 private:
  void serve() {
    pollfd p{listener_, POLLIN, 0};
    std::vector<char> buf(1 << 16);
    while (!stop_) {
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(listener_, nullptr, nullptr);
      if (c < 0) continue;
      ssize_t n;
      while ((n = ::read(c, buf.data(), buf.size())) > 0) {
        for (ssize_t at = 0; at < n;) {
          ssize_t w = ::write(c, buf.data() + at, static_cast<size_t>(n - at));
          if (w <= 0) break;
          at += w;
        }
      }
      ::close(c);
    }
  }

  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends `size` bytes of a pattern through an echo server and says whether exactly they came
// back (both directions at once: the stream is written by a second thread).
::testing::AssertionResult echoIntact(DatapathLab& lab, const LabInstance& from,
                                      const std::string& address, size_t size) {
  bool v6 = !net::Ipv4Address::parse(address);
  auto fd = lab.inNamespace(
      from.netns, [&] { return ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
  if (!fd || *fd < 0) return ::testing::AssertionFailure() << "socket";
  int s = *fd;
  timeval tv{10, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  socklen_t len = 0;
  auto to = sockaddrOf(address, kEchoPort, len);
  if (::connect(s, reinterpret_cast<sockaddr*>(&to), len) != 0) {
    ::close(s);
    return ::testing::AssertionFailure() << "connect " << address << ": " << std::strerror(errno);
  }
  std::vector<uint8_t> sent(size);
  uint32_t x = 0x12345678;
  for (auto& b : sent) {
    x = x * 1664525 + 1013904223;
    b = static_cast<uint8_t>(x >> 24);
  }
  std::thread writer([&] {
    for (size_t at = 0; at < sent.size();) {
      ssize_t w = ::write(s, sent.data() + at, std::min<size_t>(sent.size() - at, 100000));
      if (w <= 0) break;
      at += static_cast<size_t>(w);
    }
    ::shutdown(s, SHUT_WR);
  });
  std::vector<uint8_t> got;
  got.reserve(size);
  std::vector<uint8_t> buf(1 << 16);
  ssize_t n;
  while ((n = ::read(s, buf.data(), buf.size())) > 0)
    got.insert(got.end(), buf.data(), buf.data() + n);
  writer.join();
  ::close(s);
  if (got.size() != sent.size()) {
    return ::testing::AssertionFailure()
           << address << ": " << got.size() << " of " << size << " bytes came back";
  }
  auto mismatch = std::mismatch(sent.begin(), sent.end(), got.begin());
  if (mismatch.first != sent.end()) {
    return ::testing::AssertionFailure()
           << address << ": byte " << (mismatch.first - sent.begin()) << " differs";
  }
  return ::testing::AssertionSuccess();
}

// One request from inside an instance; the answer, or "ERROR <why>".
struct Answer {
  std::string text;
  std::string from;  // UDP: the address the answer came from
};

Answer ask(DatapathLab& lab, const LabInstance& from, int type, const std::string& address,
           uint16_t src_port = 0, size_t size = 3) {
  bool v6 = !net::Ipv4Address::parse(address);
  auto fd = lab.inNamespace(from.netns, [&] {
    int s = ::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    int on = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (src_port != 0) {
      socklen_t len = 0;
      auto local = sockaddrOf(v6 ? "::" : "0.0.0.0", src_port, len);
      if (::bind(s, reinterpret_cast<sockaddr*>(&local), len) != 0) return -1;
    }
    return s;
  });
  if (!fd || *fd < 0) return {"ERROR socket", ""};
  int s = *fd;
  timeval tv{3, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  socklen_t len = 0;
  auto to = sockaddrOf(address, kPort, len);
  Answer a;
  if (::connect(s, reinterpret_cast<sockaddr*>(&to), len) != 0) {
    a.text = fmt::format("ERROR connect: {}", std::strerror(errno));
    ::close(s);
    return a;
  }
  std::string payload(size, 'x');
  payload.back() = '\n';
  if (::send(s, payload.data(), payload.size(), 0) < 0) a.text = "ERROR send";
  char buf[512];
  sockaddr_storage peer{};
  socklen_t plen = sizeof(peer);
  ssize_t n = ::recvfrom(s, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &plen);
  if (n > 0) {
    a.text.assign(buf, static_cast<size_t>(n));
    a.from = type == SOCK_DGRAM ? textOf(peer) : "";
  } else if (a.text.empty()) {
    a.text = fmt::format("ERROR receive: {}", n < 0 ? std::strerror(errno) : "closed");
  }
  ::close(s);
  return a;
}

// What each worker's proxy counted (as last published), for the message of a failed check.
std::string countersOf(DatapathLab& lab, size_t hosts) {
  std::string out;
  for (size_t h = 0; h < hosts; ++h) {
    auto c = lab.dataPath(h).counters();
    out += fmt::format(
        "\nworker {}: tun {} tunnel {} to_tun {} to_peer {} icmp {} queries {} flows {}", h,
        c.tun_packets, c.tunnel_packets, c.to_tun_packets, c.to_peer_packets, c.icmp_errors,
        c.queries, c.flows_created);
    for (size_t r = 1; r < overlay::kDropReasonCount; ++r) {
      if (c.drops[r] > 0) {
        out += fmt::format(" drop {}={}", overlay::toString(static_cast<overlay::DropReason>(r)),
                           c.drops[r]);
      }
    }
  }
  return out;
}

std::string who(const Answer& a) {
  return a.text.substr(0, a.text.find(' '));
}

// Every behaviour holds for both data planes: the kernel's (VXLAN + nftables NAT) and the
// userspace proxy's.
class OverlayDatapathTest : public ::testing::TestWithParam<worker::DataPlaneKind> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the overlay data path needs root (CI runs as root)";
    auto created = DatapathLab::create(2, GetParam());
    ASSERT_TRUE(created) << created.error().message;
    lab_ = std::move(*created);
  }
  LabInstance* add(size_t host, const char* job, int64_t n) {
    auto i = lab_->addInstance(host, job, n);
    EXPECT_TRUE(i) << (i ? "" : i.error().message);
    return i ? *i : nullptr;
  }
  std::string rr(const char* job, bool v6 = false) {
    auto [a4, a6] = lab_->serviceAddress(job);
    return v6 ? a6.toString() : a4.toString();
  }

  std::unique_ptr<DatapathLab> lab_;
};

TEST_P(OverlayDatapathTest, RoundRobinSpreadsNewConnectionsEvenlyOverWorkersInBothFamilies) {
  auto* s0 = add(1, kServer, 0);  // on the other worker
  auto* s1 = add(0, kServer, 1);  // on the client's worker
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(s0 && s1 && client);
  Server a(*lab_, *s0, "s0"), b(*lab_, *s1, "s1");
  ASSERT_TRUE(a.ok() && b.ok());
  lab_->publish();
  for (bool v6 : {false, true}) {
    std::map<std::string, int> seen;
    for (int i = 0; i < 100; ++i) {
      auto answer = ask(*lab_, *client, SOCK_STREAM, rr(kServer, v6));
      ++seen[who(answer)];
      if (who(answer) == "ERROR") ADD_FAILURE() << answer.text;
    }
    EXPECT_EQ(seen["s0"], 50) << (v6 ? "IPv6" : "IPv4");
    EXPECT_EQ(seen["s1"], 50) << (v6 ? "IPv6" : "IPv4");
  }
}

TEST_P(OverlayDatapathTest, ClosestPrefersTheInstanceOnTheClientsOwnWorker) {
  auto* remote = add(1, kServer, 0);
  auto* local = add(0, kServer, 1);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(remote && local && client);
  Server a(*lab_, *remote, "s0"), b(*lab_, *local, "s1");
  ASSERT_TRUE(a.ok() && b.ok());
  lab_->publish();
  for (bool v6 : {false, true}) {
    auto [a4, a6] = lab_->serviceAddress(kServer, net::kClosestPolicy);
    for (int i = 0; i < 10; ++i) {
      const std::string address = v6 ? a6.toString() : a4.toString();
      auto answer = ask(*lab_, *client, SOCK_STREAM, address);
      EXPECT_EQ(who(answer), "s1") << address << ": " << answer.text << countersOf(*lab_, 2);
    }
  }
}

TEST_P(OverlayDatapathTest, ServersSeeTheClientsInstanceAddressAndRepliesComeFromTheService) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  Server s(*lab_, *server, "s0");
  lab_->publish();
  for (bool v6 : {false, true}) {
    std::string address = rr(kServer, v6);
    auto tcp = ask(*lab_, *client, SOCK_STREAM, address);
    EXPECT_EQ(tcp.text, fmt::format("s0 {}", v6 ? client->instance_ip6.toString()
                                                : client->instance_ip.toString()));
    auto udp = ask(*lab_, *client, SOCK_DGRAM, address);
    EXPECT_THAT(udp.text, ::testing::StartsWith("s0 "));
    EXPECT_EQ(udp.from, address) << "the reply's source is the address the client asked";
    // The instance address always reaches that instance.
    auto direct = ask(*lab_, *client, SOCK_STREAM,
                      v6 ? server->instance_ip6.toString() : server->instance_ip.toString());
    EXPECT_EQ(who(direct), "s0") << direct.text;
  }
}

TEST_P(OverlayDatapathTest, RepliesReachTheRightClientWhenTwoClientsUseTheSamePort) {
  auto* server = add(1, kServer, 0);
  auto* c0 = add(0, kClient, 0);
  auto* c1 = add(0, kClient, 1);
  ASSERT_TRUE(server && c0 && c1);
  Server s(*lab_, *server, "s0");
  lab_->publish();
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    for (int round = 0; round < 3; ++round) {
      auto a0 = ask(*lab_, *c0, type, rr(kServer), 40000);
      auto a1 = ask(*lab_, *c1, type, rr(kServer), 40000);
      EXPECT_EQ(a0.text, "s0 " + c0->instance_ip.toString() + (type == SOCK_DGRAM ? " 3" : ""));
      EXPECT_EQ(a1.text, "s0 " + c1->instance_ip.toString() + (type == SOCK_DGRAM ? " 3" : ""));
    }
  }
}

TEST_P(OverlayDatapathTest, AnInstanceThatLeavesTheRoutesGetsNoNewConnections) {
  auto* s0 = add(1, kServer, 0);
  auto* s1 = add(0, kServer, 1);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(s0 && s1 && client);
  Server a(*lab_, *s0, "s0"), b(*lab_, *s1, "s1");
  lab_->publish();
  lab_->removeInstance(s1);
  lab_->publish();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(who(ask(*lab_, *client, SOCK_STREAM, rr(kServer))), "s0");
  }
}

TEST_P(OverlayDatapathTest, UnknownServiceAddressesAreUnreachableAtOnce) {
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(client);
  lab_->publish();
  auto started = std::chrono::steady_clock::now();
  auto answer = ask(*lab_, *client, SOCK_STREAM, "10.30.250.250");
  EXPECT_THAT(answer.text, ::testing::HasSubstr("No route to host"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "answered, not timed out";
}

TEST_P(OverlayDatapathTest, LargeDatagramsAndStreamsCrossTheTunnelIntact) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  Server s(*lab_, *server, "s0");
  lab_->publish();
  // Larger than the overlay MTU: the client's kernel fragments it, the proxy translates every
  // fragment.
  auto udp = ask(*lab_, *client, SOCK_DGRAM, rr(kServer), 0, 4000);
  EXPECT_EQ(udp.text, "s0 " + client->instance_ip.toString() + " 4000") << countersOf(*lab_, 2);
  auto udp6 = ask(*lab_, *client, SOCK_DGRAM, rr(kServer, true), 0, 1300);
  EXPECT_EQ(udp6.text, "s0 " + client->instance_ip6.toString() + " 1300") << countersOf(*lab_, 2);
  auto tcp = ask(*lab_, *client, SOCK_STREAM, rr(kServer), 0, 1 << 20);
  EXPECT_EQ(who(tcp), "s0") << tcp.text;
}

TEST_P(OverlayDatapathTest, BulkStreamsArriveIntactThroughTheOffloadsBothWays) {
  auto* remote = add(1, kServer, 0);
  auto* local = add(0, "app.ns.loc.ns", 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(remote && local && client);
  EchoServer a(*lab_, *remote), b(*lab_, *local);
  ASSERT_TRUE(a.ok() && b.ok());
  lab_->publish();
  for (bool v6 : {false, true}) {
    // Across the tunnel (segmented, joined again) and on the client's own worker (super-packets
    // back into the device whole).
    EXPECT_TRUE(echoIntact(*lab_, *client, rr(kServer, v6), 8 << 20));
    EXPECT_TRUE(echoIntact(*lab_, *client, rr("app.ns.loc.ns", v6), 8 << 20));
  }
  // The offloads did the work: super-packets read on both workers, joined on both.
  if (!lab_->userspaceDataPath(0)) return;  // the kernel's own offloads
  auto deadline = std::chrono::steady_clock::now() + 5s;
  worker::DataPathStats s0, s1;
  do {
    s0 = lab_->userspaceDataPath(0)->stats();
    s1 = lab_->userspaceDataPath(1)->stats();
    if (s0.super_packets > 0 && s0.coalesced_packets > 0 && s1.super_packets > 0 &&
        s1.coalesced_packets > 0) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(s0.tun_offload && s0.udp_gso && s0.udp_gro);
  EXPECT_GT(s0.super_packets, 0u);
  EXPECT_GT(s0.segments_sent, s0.super_packets);
  EXPECT_GT(s0.coalesced_packets, 0u);
  EXPECT_GT(s1.super_packets, 0u);
  EXPECT_GT(s1.coalesced_packets, 0u);
  EXPECT_EQ(s0.offload_errors + s1.offload_errors, 0u);
}

TEST_P(OverlayDatapathTest, SegmentedUdpSendsArriveAsSeparateDatagrams) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  Server s(*lab_, *server, "s0");
  ASSERT_TRUE(s.ok());
  lab_->publish();
  for (bool v6 : {false, true}) {
    const std::string address = rr(kServer, v6);
    auto fd = lab_->inNamespace(client->netns, [&] {
      int u = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int segment = 1000;  // one send, ten datagrams (UDP_SEGMENT)
      if (::setsockopt(u, IPPROTO_UDP, 103, &segment, sizeof(segment)) != 0) return -1;
      return u;
    });
    ASSERT_TRUE(fd && *fd >= 0);
    timeval tv{3, 0};
    ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    socklen_t len = 0;
    auto to = sockaddrOf(address, kPort, len);
    ASSERT_EQ(::connect(*fd, reinterpret_cast<sockaddr*>(&to), len), 0);
    std::vector<char> payload(10 * 1000, 'u');
    // UDP may drop under load (a slow sanitizer build on 2 cores): one complete round of ten
    // answers in three tries.
    int answers = 0;
    for (int attempt = 0; attempt < 3 && answers < 10; ++attempt) {
      ASSERT_EQ(::send(*fd, payload.data(), payload.size(), 0), 10000) << std::strerror(errno);
      answers = 0;
      char buf[256];
      ssize_t n;
      while (answers < 10 && (n = ::recv(*fd, buf, sizeof(buf), 0)) > 0) {
        EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
                  "s0 " + (v6 ? client->instance_ip6.toString() : client->instance_ip.toString()) +
                      " 1000");
        ++answers;
      }
    }
    EXPECT_EQ(answers, 10) << address;
    ::close(*fd);
  }
  // Where the device hands out UDP super-packets (Linux 6.2 on), each was cut into its ten
  // datagrams; elsewhere the kernel cut them before.
  if (!lab_->userspaceDataPath(0)) return;
  worker::DataPathStats stats;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  do {
    stats = lab_->userspaceDataPath(0)->stats();
    std::this_thread::sleep_for(50ms);
  } while (stats.super_packets < 2 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(stats.segments_sent, 10 * stats.super_packets);
}

TEST_P(OverlayDatapathTest, PingWorksThroughServiceAddresses) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  lab_->publish();
  std::string name = client->netns.substr(client->netns.rfind('/') + 1);
  for (bool v6 : {false, true}) {
    // busybox-static is installed by make deps; iputils is not.
    int rc = std::system(fmt::format("ip netns exec {} busybox {} -c 2 -W 2 {} >/dev/null 2>&1",
                                     name, v6 ? "ping6" : "ping", rr(kServer, v6))
                             .c_str());
    EXPECT_EQ(rc, 0) << (v6 ? "IPv6" : "IPv4");
  }
}

// Sends `datagram` from worker 0's host to worker 1's tunnel port.
void sendToTunnel(DatapathLab& lab, const std::vector<uint8_t>& datagram) {
  auto fd = lab.inNamespace(lab.hostNetns(0),
                            [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); });
  ASSERT_TRUE(fd && *fd >= 0);
  socklen_t len = 0;
  auto to = sockaddrOf(lab.underlayAddress(1), 50103, len);
  EXPECT_EQ(
      ::sendto(*fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), len),
      static_cast<ssize_t>(datagram.size()))
      << std::strerror(errno);
  ::close(*fd);
}

// An IPv4/UDP packet from 8.8.8.8 to `to`:8080 (UDP checksum 0: none).
std::vector<uint8_t> spoofedPacket(net::Ipv4Address to) {
  const std::string payload = "spoofed\n";
  std::vector<uint8_t> p(28 + payload.size());
  const auto total = static_cast<uint16_t>(p.size());
  p[0] = 0x45;
  overlay::store16(&p[2], total);
  p[8] = 64;
  p[9] = IPPROTO_UDP;
  overlay::store32(&p[12], net::Ipv4Address::fromOctets(8, 8, 8, 8).toUint32());
  overlay::store32(&p[16], to.toUint32());
  overlay::store16(&p[10],
                   overlay::checksumFinish(overlay::checksumAdd(0, std::span(p).first(20))));
  overlay::store16(&p[20], 40000);  // source port
  overlay::store16(&p[22], kPort);
  overlay::store16(&p[24], static_cast<uint16_t>(total - 20));
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  return p;
}

// How a worker's data plane carries `packet` in a tunnel datagram to worker 1: as it is (the
// userspace proxy), or in a VXLAN frame of VNI 1 for worker 1's device (the kernel).
std::vector<uint8_t> tunnelDatagram(worker::DataPlaneKind kind, std::vector<uint8_t> packet) {
  if (kind == worker::DataPlaneKind::kUserspace) return packet;
  std::vector<uint8_t> frame = {0x08, 0, 0, 0, 0, 0, 1, 0};  // flags: VNI present; VNI 1
  const auto mac = overlay::vxlanMac(
      net::Ipv4Prefix(net::Ipv4Address::fromOctets(10, 18, 1, 0), net::kWorkerIpv4SubnetLength));
  frame.insert(frame.end(), mac.begin(), mac.end());
  frame.insert(frame.end(), {0x02, 0, 0, 0, 0, 1, 0x08, 0x00});  // source MAC, IPv4
  frame.insert(frame.end(), packet.begin(), packet.end());
  return frame;
}

uint64_t dropped(DatapathLab& lab, size_t host, overlay::DropReason reason) {
  return lab.dataPath(host).counters().drops[static_cast<size_t>(reason)];
}

// Waits (at most 5 s: counters are published each second) until `host` counted `reason` at
// least `n` times.
bool countedDrops(DatapathLab& lab, size_t host, overlay::DropReason reason, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (dropped(lab, host, reason) < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST_P(OverlayDatapathTest, GarbageOnTheTunnelPortIsDroppedAndCounted) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  Server s(*lab_, *server, "s0");
  ASSERT_TRUE(s.ok());
  lab_->publish();
  const uint64_t before = dropped(*lab_, 1, overlay::DropReason::kNotAPacket);
  sendToTunnel(*lab_, std::vector<uint8_t>(100, 0xff));
  sendToTunnel(*lab_, std::vector<uint8_t>{0, 1, 2});
  EXPECT_TRUE(countedDrops(*lab_, 1, overlay::DropReason::kNotAPacket, before + 2))
      << countersOf(*lab_, 2);
  EXPECT_EQ(who(ask(*lab_, *client, SOCK_STREAM, rr(kServer))), "s0") << "still carrying traffic";
}

TEST_P(OverlayDatapathTest, TunnelPacketsFromOutsideTheOverlayNeverReachAnInstance) {
  auto* server = add(1, kServer, 0);
  ASSERT_TRUE(server);
  auto udp = lab_->inNamespace(server->netns, [] { return listener(SOCK_DGRAM, kPort); });
  ASSERT_TRUE(udp && *udp >= 0);
  lab_->publish();
  const overlay::DropReason reason = GetParam() == worker::DataPlaneKind::kKernel
                                         ? overlay::DropReason::kBadDestination
                                         : overlay::DropReason::kBadSource;
  const uint64_t before = dropped(*lab_, 1, reason);
  sendToTunnel(*lab_, tunnelDatagram(GetParam(), spoofedPacket(server->nsip)));
  EXPECT_TRUE(countedDrops(*lab_, 1, reason, before + 1)) << countersOf(*lab_, 2);
  // Absence: nothing arrived by the time the drop was counted, nor in the next 200 ms.
  pollfd p{*udp, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 200), 0) << "the spoofed datagram reached the instance";
  ::close(*udp);
}

// The kernel data plane between workers that reach each other over IPv6: the VXLAN device and
// its forwarding entries speak IPv6, its MTU leaves room for the longer header.
TEST(OverlayIpv6UnderlayTest, TheKernelDataPlaneCarriesBothFamiliesOverAnIpv6Underlay) {
  ASSERT_EQ(::geteuid(), 0u) << "the overlay data path needs root (CI runs as root)";
  auto lab = DatapathLab::create(2, worker::DataPlaneKind::kKernel, /*ipv6_underlay=*/true);
  ASSERT_TRUE(lab) << lab.error().message;
  auto server = (*lab)->addInstance(1, kServer, 0);
  auto client = (*lab)->addInstance(0, kClient, 0);
  ASSERT_TRUE(server && client);
  EchoServer echo(**lab, **server);
  ASSERT_TRUE(echo.ok());
  (*lab)->publish();
  for (bool v6 : {false, true}) {
    auto [a4, a6] = (*lab)->serviceAddress(kServer);
    // Full-sized segments both ways: they fit the device's MTU, or would be refused with
    // "packet too big" and resent smaller, never lost.
    EXPECT_TRUE(echoIntact(**lab, **client, v6 ? a6.toString() : a4.toString(), 1 << 20))
        << (v6 ? "IPv6" : "IPv4") << countersOf(**lab, 2);
  }
}

INSTANTIATE_TEST_SUITE_P(, OverlayDatapathTest,
                         ::testing::Values(worker::DataPlaneKind::kKernel,
                                           worker::DataPlaneKind::kUserspace),
                         [](const ::testing::TestParamInfo<worker::DataPlaneKind>& p) {
                           return p.param == worker::DataPlaneKind::kKernel ? "Kernel"
                                                                            : "Userspace";
                         });

}  // namespace
}  // namespace oak::testing
