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

#include <atomic>
#include <cstring>
#include <map>
#include <thread>

#include "datapath_lab.h"
#include "net/address_plan.h"

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

// A dual-stack server in an instance: answers every TCP connection and UDP datagram with
// "<name> <peer address>".
class Server {
 public:
  Server(DatapathLab& lab, const LabInstance& at, std::string name) : name_(std::move(name)) {
    auto tcp = lab.inNamespace(at.netns, [] { return listener(SOCK_STREAM); });
    auto udp = lab.inNamespace(at.netns, [] { return listener(SOCK_DGRAM); });
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
  static int listener(int type) {
    int fd = ::socket(AF_INET6, type | SOCK_CLOEXEC, 0);
    int off = 0, on = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_port = htons(kPort);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) return -1;
    if (type == SOCK_STREAM) ::listen(fd, 128);
    return fd;
  }
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

std::string who(const Answer& a) {
  return a.text.substr(0, a.text.find(' '));
}

class OverlayDatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the overlay data path needs root (CI runs as root)";
    auto created = DatapathLab::create(2);
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

TEST_F(OverlayDatapathTest, RoundRobinSpreadsNewConnectionsEvenlyOverWorkersInBothFamilies) {
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

TEST_F(OverlayDatapathTest, ServersSeeTheClientsInstanceAddressAndRepliesComeFromTheService) {
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

TEST_F(OverlayDatapathTest, RepliesReachTheRightClientWhenTwoClientsUseTheSamePort) {
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

TEST_F(OverlayDatapathTest, AnInstanceThatLeavesTheRoutesGetsNoNewConnections) {
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

TEST_F(OverlayDatapathTest, UnknownServiceAddressesAreUnreachableAtOnce) {
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(client);
  lab_->publish();
  auto started = std::chrono::steady_clock::now();
  auto answer = ask(*lab_, *client, SOCK_STREAM, "10.30.250.250");
  EXPECT_THAT(answer.text, ::testing::HasSubstr("No route to host"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "answered, not timed out";
}

TEST_F(OverlayDatapathTest, LargeDatagramsAndStreamsCrossTheTunnelIntact) {
  auto* server = add(1, kServer, 0);
  auto* client = add(0, kClient, 0);
  ASSERT_TRUE(server && client);
  Server s(*lab_, *server, "s0");
  lab_->publish();
  // Larger than the overlay MTU: the client's kernel fragments it, the proxy translates every
  // fragment.
  auto udp = ask(*lab_, *client, SOCK_DGRAM, rr(kServer), 0, 4000);
  EXPECT_EQ(udp.text, "s0 " + client->instance_ip.toString() + " 4000");
  auto udp6 = ask(*lab_, *client, SOCK_DGRAM, rr(kServer, true), 0, 1300);
  EXPECT_EQ(udp6.text, "s0 " + client->instance_ip6.toString() + " 1300");
  auto tcp = ask(*lab_, *client, SOCK_STREAM, rr(kServer), 0, 1 << 20);
  EXPECT_EQ(who(tcp), "s0") << tcp.text;
}

TEST_F(OverlayDatapathTest, PingWorksThroughServiceAddresses) {
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

}  // namespace
}  // namespace oak::testing
