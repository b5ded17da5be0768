// deleteFlowsTo against the kernel. The test's namespace is the host: a client instance on the
// bridge sends to service addresses (10.30.0.5, fdff::5), which a dnat rule at prerouting (as the
// overlay's) translates to target A or B on `lo`. Conntrack keeps a flow's translation for the
// flow's life, so a flow stays with its target when the rule changes, until its entry is deleted.
#include "worker/net/conntrack.h"

#include <gtest/gtest.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kernel_fixture.h"
#include "net/ip.h"
#include "net_probe.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/netns.h"
#include "worker/net/nft.h"

namespace oak::worker::testing {
namespace {

constexpr uint16_t kPort = 7100;
constexpr uint16_t kClientPort = 40000;  // fixed, so that every datagram is on the same flow
constexpr milliseconds kArrival{5000};
constexpr size_t kA = 0;
constexpr size_t kB = 1;

struct Family {
  const char* name;
  const char* client;
  const char* service;
  std::array<const char*, 2> targets;  // A and B
  const char* unused;                  // no flow goes there
};
constexpr std::array<Family, 2> kFamilies{{
    {"v4", "10.18.0.2", "10.30.0.5", {"10.40.0.1", "10.40.0.2"}, "10.40.0.9"},
    {"v6", "fc00::2", "fdff::5", {"fd40::1", "fd40::2"}, "fd40::9"},
}};
constexpr const Family& kV4 = kFamilies[0];
constexpr const Family& kV6 = kFamilies[1];

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};

// address:port, for a numeric address of either family.
Result<Endpoint> endpoint(const char* address, uint16_t port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address, std::to_string(port).c_str(), &hints, &found) != 0) {
    return makeError(ErrorCode::kInvalidArgument, std::string("not an address: ") + address);
  }
  Endpoint out;
  std::memcpy(&out.address, found->ai_addr, found->ai_addrlen);
  out.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return out;
}

// A UDP socket bound to address:port in the calling thread's namespace.
Result<UniqueFd> boundUdp(const char* address, uint16_t port) {
  OAK_ASSIGN_OR_RETURN(Endpoint local, endpoint(address, port));
  UniqueFd fd(::socket(local.address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() ||
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local.address), local.length) < 0) {
    return makeError(ErrorCode::kInternal,
                     std::string("bind ") + address + ": " + std::strerror(errno));
  }
  return fd;
}

// The next datagram on `fd` within `timeout`, if any.
std::optional<std::string> receiveWithin(int fd, milliseconds timeout) {
  pollfd readable{fd, POLLIN, 0};
  if (::poll(&readable, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  char buffer[2048];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<size_t>(n));
}

// Without DAD an IPv6 address can be bound at once, but the kernel adds its local route a little
// later (IPv4 ones come with the address): packets to it find no route until then.
void awaitLocalRoute6(const std::string& address) {
  const auto deadline = std::chrono::steady_clock::now() + kArrival;
  while (sh("ip -6 route show table local to " + address).empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no local route to " << address;
    std::this_thread::sleep_for(milliseconds(1));
  }
}

// deleteFlowsTo for addresses in text.
Result<size_t> deleteFlows(std::initializer_list<const char*> v4,
                           std::initializer_list<const char*> v6) {
  std::vector<net::Ipv4Address> parsed4;
  for (const char* address : v4) parsed4.push_back(*net::Ipv4Address::parse(address));
  std::vector<net::Ipv6Address> parsed6;
  for (const char* address : v6) parsed6.push_back(*net::Ipv6Address::parse(address));
  return deleteFlowsTo(parsed4, parsed6);
}

class ConntrackTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    ASSERT_TRUE(host_.ensureBridge(bridge_));
    client_ = makeInstance("client", kV4.client, kV6.client);
    Status attached = host_.attachInstance(bridge_, client_);
    ASSERT_TRUE(attached) << attached.error().message;
    Status table = runNft(
        "add table inet test\n"
        "add chain inet test translate { type nat hook prerouting priority dstnat; }\n",
        "create the test table");
    ASSERT_TRUE(table) << table.error().message;
    translateTo(kA);
    for (size_t f = 0; f < kFamilies.size(); ++f) {
      const Family& family = kFamilies[f];
      const bool v6 = &family == &kV6;
      for (size_t t : {kA, kB}) {
        const std::string address = family.targets[t];
        ASSERT_EQ(sh("ip addr add " + address + (v6 ? "/128 nodad" : "/32") + " dev lo"), "");
        if (v6) awaitLocalRoute6(address);
        targets_[f][t] = open([&] { return boundUdp(family.targets[t], kPort); });
      }
      clients_[f] = open([&] {
        return runInNetns(client_.netns_path, [&] { return boundUdp(family.client, kClientPort); });
      });
    }
  }

  // Replaces the NAT rules: from now on, new flows to the services go to target `t`.
  static void translateTo(size_t t) {
    const std::string script = std::string("flush chain inet test translate\n") +
                               "add rule inet test translate ip daddr " + kV4.service +
                               " dnat ip to " + kV4.targets[t] +
                               "\nadd rule inet test translate ip6 daddr " + kV6.service +
                               " dnat ip6 to " + kV6.targets[t] + "\n";
    Status translated = runNft(script, "translate");
    ASSERT_TRUE(translated) << translated.error().message;
  }

  // Sends `data` on the client's flow of family `f`, to the service.
  void send(size_t f, const std::string& data) const {
    Result<Endpoint> to = endpoint(kFamilies[f].service, kPort);
    ASSERT_TRUE(to) << to.error().message;
    ASSERT_EQ(::sendto(clients_[f].get(), data.data(), data.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to->address), to->length),
              static_cast<ssize_t>(data.size()))
        << kFamilies[f].name << ": " << std::strerror(errno);
  }

  // What target `t` of family `f` receives next (nothing within kArrival: nullopt).
  std::optional<std::string> nextAt(size_t f, size_t t) const {
    return receiveWithin(targets_[f][t].get(), kArrival);
  }

  template <class Open>
  static UniqueFd open(Open&& opener) {
    Result<UniqueFd> fd = opener();
    EXPECT_TRUE(fd) << fd.error().message;
    return fd ? std::move(*fd) : UniqueFd();
  }

  NetlinkHostNetwork host_;
  BridgeConfig bridge_ = workerBridge();
  InstanceLink client_;
  UniqueFd targets_[2][2];  // [family][target], listening on kPort
  UniqueFd clients_[2];     // [family], in the client, from kClientPort
};

TEST_F(ConntrackTest, DeletingFlowsToATargetBalancesThemAgain) {
  for (size_t f : {0, 1}) {
    send(f, "first");
    EXPECT_EQ(nextAt(f, kA), "first") << kFamilies[f].name;
  }
  translateTo(kB);
  for (size_t f : {0, 1}) {
    send(f, "pinned");
    EXPECT_EQ(nextAt(f, kA), "pinned") << kFamilies[f].name << ": the flow keeps its target";
  }

  Result<size_t> deleted = deleteFlows({kV4.targets[kA]}, {kV6.targets[kA]});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 2u) << "one flow per family";
  for (size_t f : {0, 1}) {
    send(f, "rebalanced");
    EXPECT_EQ(nextAt(f, kB), "rebalanced") << kFamilies[f].name;
  }

  deleted = deleteFlows({kV4.targets[kA]}, {kV6.targets[kA]});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 0u) << "the flows now go to B";
}

TEST_F(ConntrackTest, DeletingFlowsToOtherAddressesDeletesNothing) {
  for (size_t f : {0, 1}) {
    send(f, "first");
    EXPECT_EQ(nextAt(f, kA), "first") << kFamilies[f].name;
  }
  translateTo(kB);

  // The flows' replies come from A to the client: neither the service (the destination before
  // translation) nor the client is their reply's source.
  Result<size_t> deleted = deleteFlows({kV4.unused, kV4.client, kV4.service, kV4.targets[kB]},
                                       {kV6.unused, kV6.client, kV6.service, kV6.targets[kB]});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 0u);
  deleted = deleteFlows({}, {});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 0u);

  for (size_t f : {0, 1}) {
    send(f, "still pinned");
    EXPECT_EQ(nextAt(f, kA), "still pinned") << kFamilies[f].name;
  }
}

TEST_F(ConntrackTest, DeletesTheFlowsOfEveryProtocol) {
  Result<UniqueFd> tcp = listenTcp(kPort);
  ASSERT_TRUE(tcp) << tcp.error().message;
  for (size_t f : {0, 1}) {
    const Family& family = kFamilies[f];
    send(f, "udp");
    EXPECT_EQ(nextAt(f, kA), "udp") << family.name;
    Status echoed = runInNetns(client_.netns_path, [&] { return ping(family.service); });
    EXPECT_TRUE(echoed) << family.name << ": " << echoed.error().message;
    Status sent = runInNetns(client_.netns_path,
                             [&] { return connectAndSend(family.service, kPort, "tcp"); });
    ASSERT_TRUE(sent) << family.name << ": " << sent.error().message;
    Result<Accepted> accepted = acceptOne(tcp->get());
    ASSERT_TRUE(accepted) << family.name << ": " << accepted.error().message;
    EXPECT_EQ(accepted->peer, family.client);
    EXPECT_EQ(accepted->data, "tcp");
  }

  Result<size_t> deleted = deleteFlows({kV4.targets[kA]}, {kV6.targets[kA]});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 6u) << "UDP, ICMP echo and TCP, in both families";
}

}  // namespace
}  // namespace oak::worker::testing
