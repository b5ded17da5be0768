#include "overlay/proxy_core.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "net/address_plan.h"
#include "overlay/checksum.h"
#include "overlay/probe.h"
#include "overlay/segmenter.h"
#include "overlay/vnet_header.h"
#include "testing_packets.h"

namespace oak::overlay {

void PrintTo(DropReason r, std::ostream* os) {
  *os << toString(r);
}

namespace {

using namespace std::chrono_literals;
using testing::Bytes;
using testing::checksumsValid;
using testing::onlyAddressesChanged;

IpAddress ip(const char* text) {
  if (std::strchr(text, ':') != nullptr) return testing::v6(text);
  return testing::v4(text);
}

const TunnelEndpoint kW1{ip("172.31.0.1"), 50103};
const TunnelEndpoint kW2{ip("172.31.0.2"), 50103};
const TunnelEndpoint kW3{ip("172.31.0.3"), 50103};

struct Instance {
  int64_t number;
  const char* nsip;
  const char* nsip6;  // nullptr: none
  const char* ip;
  const char* ip6;
  TunnelEndpoint host;
};

InstanceRoute route(const Instance& i) {
  return InstanceRoute{.instance_number = i.number,
                       .worker_id = i.host.toString(),
                       .instance_ip = testing::v4(i.ip),
                       .instance_ip6 = testing::v6(i.ip6),
                       .nsip = testing::v4(i.nsip),
                       .nsip6 = i.nsip6 ? std::optional(testing::v6(i.nsip6)) : std::nullopt,
                       .host = i.host};
}

JobRoutes job(const char* name, std::vector<ServiceAddress> addresses,
              const std::vector<Instance>& instances) {
  JobRoutes j{.job_name = name, .service_ips = std::move(addresses), .instances = {}};
  for (const Instance& i : instances) j.instances.push_back(route(i));
  return j;
}

// Clients: two on W1, one on W3. Server: two instances on W2 behind a round-robin and a
// closest address. A local service on W1.
const std::vector<Instance> kClients = {
    {0, "10.18.0.2", "fc00::2", "10.30.0.10", "fdff::10", kW1},
    {1, "10.18.0.3", "fc00::3", "10.30.0.11", "fdff::11", kW1},
    {2, "10.18.0.130", "fc00::202", "10.30.0.12", "fdff::12", kW3}};
const std::vector<Instance> kServers = {
    {0, "10.18.0.66", "fc00::102", "10.30.0.3", "fdff::3", kW2},
    {1, "10.18.0.67", "fc00::103", "10.30.0.4", "fdff::4", kW2}};
const std::vector<Instance> kLocalServers = {
    {0, "10.18.0.5", "fc00::5", "10.30.0.21", "fdff::21", kW1}};

const ServiceAddress kRoundRobin{net::kRoundRobinPolicy, testing::v4("10.30.0.1"),
                                 testing::v6("fdff:2000::1")};
const ServiceAddress kClosest{net::kClosestPolicy, testing::v4("10.30.0.2"),
                              testing::v6("fdff:1000::1")};
const ServiceAddress kLocalRoundRobin{net::kRoundRobinPolicy, testing::v4("10.30.0.20"),
                                      testing::v6("fdff:2000::20")};

std::vector<JobRoutes> allJobs(std::vector<Instance> servers = kServers) {
  return {job("app.ns.client.ns", {}, kClients),
          job("app.ns.server.ns", {kRoundRobin, kClosest}, servers),
          job("app.ns.local.ns", {kLocalRoundRobin}, kLocalServers)};
}

// The table of the worker at `self`, with its local instances.
std::shared_ptr<const ServiceTable> tableFor(const TunnelEndpoint& self,
                                             const std::vector<JobRoutes>& jobs) {
  ServiceTable::Builder b;
  for (const JobRoutes& j : jobs) {
    b.add(j);
    for (const InstanceRoute& r : j.instances) {
      if (r.host != self) continue;
      b.addLocal({.job_name = j.job_name,
                  .instance_number = r.instance_number,
                  .nsip = r.nsip,
                  .nsip6 = r.nsip6,
                  .instance_ip = r.instance_ip,
                  .instance_ip6 = r.instance_ip6});
    }
  }
  return b.build();
}

struct Out {
  Verdict verdict;
  Bytes bytes;  // the packet to send, or the unchanged input for kDrop and kQuery
  Packet packet() {
    Packet p;
    EXPECT_EQ(parsePacket(bytes, p), PacketError::kOk);
    return p;
  }
};

class Worker {
 public:
  Worker(const char* subnet4, const char* subnet6, const TunnelEndpoint& self, const Clock& clock,
         size_t max_flows = 1024)
      : self_(self),
        core_(ProxyConfig{.subnet4 = *net::Ipv4Prefix::parse(subnet4),
                          .subnet6 = *net::Ipv6Prefix::parse(subnet6),
                          .self = self,
                          .max_flows = max_flows,
                          .hash_seed = 99},
              clock) {
    setJobs(allJobs());
  }
  void setJobs(const std::vector<JobRoutes>& jobs) { core_.setTable(tableFor(self_, jobs)); }

  Out fromTun(const Bytes& packet) {
    Bytes buffer(65536, 0);
    std::copy(packet.begin(), packet.end(), buffer.begin());
    Verdict v = core_.fromTun(buffer, packet.size());
    return finish(v, std::move(buffer), packet.size());
  }
  // A super-packet read from a TUN device with offloads (its checksum partial).
  Out fromTunSuper(const Bytes& packet, const TunRead& read) {
    Bytes buffer(65536 + 2048, 0);
    std::copy(packet.begin(), packet.end(), buffer.begin());
    Verdict v = core_.fromTun(buffer, packet.size(), read);
    return finish(v, std::move(buffer), packet.size());
  }
  Out fromTunnel(const Bytes& packet, const TunnelEndpoint& from) {
    Bytes buffer(65536, 0);
    std::copy(packet.begin(), packet.end(), buffer.begin());
    Verdict v = core_.fromTunnel(buffer, packet.size(), from);
    return finish(v, std::move(buffer), packet.size());
  }
  ProxyCore& core() { return core_; }
  const TunnelEndpoint& self() const { return self_; }

 private:
  static Out finish(const Verdict& v, Bytes buffer, size_t input) {
    const bool sends =
        v.kind == Verdict::kToTun || v.kind == Verdict::kToPeer || v.kind == Verdict::kIcmpToTun;
    buffer.resize(sends ? v.length : input);
    return Out{v, std::move(buffer)};
  }

  TunnelEndpoint self_;
  ProxyCore core_;
};

struct Flow5 {
  uint8_t protocol = kProtoTcp;
  uint8_t flags = kTcpSyn;
  size_t payload = 0;
  bool dont_fragment = true;
};

Bytes packet(const char* src, uint16_t sport, const char* dst, uint16_t dport, Flow5 f = {}) {
  testing::PacketSpec s{.src = ip(src), .dst = ip(dst), .protocol = f.protocol};
  s.src_port = sport;
  s.dst_port = dport;
  s.tcp_flags = f.flags;
  s.payload = f.payload;
  s.dont_fragment = f.dont_fragment;
  if (f.protocol == kProtoIcmp || f.protocol == kProtoIcmpv6) {
    // Echo: requests carry the client's port as identifier, replies come from port 0.
    const bool v4 = f.protocol == kProtoIcmp;
    const bool reply = sport == 0;
    s.icmp_type = v4 ? (reply ? 0 : 8) : (reply ? 129 : 128);
    s.echo_id = reply ? dport : sport;
  }
  return testing::buildPacket(s);
}

class ProxyCoreTest : public ::testing::Test {
 protected:
  // Why W1 drops a packet from its TUN device (kNone if it does not).
  DropReason tunDrop(const Bytes& p) { return dropOf(w1_.fromTun(p)); }
  DropReason tunnelDrop(const Bytes& p) { return dropOf(w1_.fromTunnel(p, kW2)); }
  static DropReason dropOf(const Out& out) {
    return out.verdict.kind == Verdict::kDrop ? out.verdict.reason : DropReason::kNone;
  }

  SimulatedClock clock_;
  Worker w1_{"10.18.0.0/26", "fc00::/120", kW1, clock_};
  Worker w2_{"10.18.0.64/26", "fc00::100/120", kW2, clock_};
  Worker w3_{"10.18.0.128/26", "fc00::200/120", kW3, clock_};
};

void expectAddresses(Out& out, const char* src, const char* dst) {
  Packet p = out.packet();
  EXPECT_EQ(p.source(), ip(src));
  EXPECT_EQ(p.destination(), ip(dst));
  EXPECT_TRUE(checksumsValid(out.bytes));
}

// A client on W1 talks to the round-robin address; the server instance on W2 sees the client's
// instance address and answers it; the client sees the answer come from the address it used.
TEST_F(ProxyCoreTest, RoundTripThroughTwoWorkers) {
  struct Case {
    bool v6;
    uint8_t protocol;
  };
  for (const Case& c : {Case{false, kProtoTcp}, Case{false, kProtoUdp}, Case{false, kProtoIcmp},
                        Case{true, kProtoTcp}, Case{true, kProtoUdp}, Case{true, kProtoIcmpv6}}) {
    SCOPED_TRACE(::testing::Message() << "v6 " << c.v6 << " protocol " << int(c.protocol));
    const bool echo = c.protocol == kProtoIcmp || c.protocol == kProtoIcmpv6;
    const char* client = c.v6 ? "fc00::2" : "10.18.0.2";
    const char* client_ip = c.v6 ? "fdff::10" : "10.30.0.10";
    const char* service = c.v6 ? "fdff:2000::1" : "10.30.0.1";
    const char* server_ip = c.v6 ? "fdff::3" : "10.30.0.3";
    const char* server = c.v6 ? "fc00::102" : "10.18.0.66";
    const uint16_t port = 40000;
    const uint16_t service_port = echo ? 0 : 80;
    w1_.setJobs(allJobs({kServers[0]}));  // one instance: the destination is known
    w2_.setJobs(allJobs({kServers[0]}));

    const Bytes request = packet(client, port, service, service_port, {.protocol = c.protocol});
    Out out = w1_.fromTun(request);
    ASSERT_EQ(out.verdict.kind, Verdict::kToPeer) << toString(out.verdict.reason);
    EXPECT_EQ(out.verdict.peer, kW2);
    expectAddresses(out, client_ip, server);
    EXPECT_TRUE(onlyAddressesChanged(request, out.bytes));

    const Bytes on_wire = out.bytes;
    out = w2_.fromTunnel(on_wire, kW1);
    ASSERT_EQ(out.verdict.kind, Verdict::kToTun) << toString(out.verdict.reason);
    EXPECT_EQ(out.bytes, on_wire);  // the server sees the client's instance address

    const Bytes reply = packet(server, service_port, client_ip, port,
                               {.protocol = c.protocol, .flags = kTcpSyn | 0x10});
    out = w2_.fromTun(reply);
    ASSERT_EQ(out.verdict.kind, Verdict::kToPeer) << toString(out.verdict.reason);
    EXPECT_EQ(out.verdict.peer, kW1);
    expectAddresses(out, server_ip, client);

    out = w1_.fromTunnel(out.bytes, kW2);
    ASSERT_EQ(out.verdict.kind, Verdict::kToTun) << toString(out.verdict.reason);
    expectAddresses(out, service, client);
    EXPECT_TRUE(onlyAddressesChanged(reply, out.bytes));
    Packet p = out.packet();
    EXPECT_EQ(echo ? p.echo_id : p.dst_port, port);
  }
}

TEST_F(ProxyCoreTest, RoundRobinIsExactlyEvenAndFlowsAreSticky) {
  std::map<IpAddress, int> chosen;
  for (uint16_t port = 1000; port < 1100; ++port) {
    Out out = w1_.fromTun(packet("10.18.0.2", port, "10.30.0.1", 80));
    ASSERT_EQ(out.verdict.kind, Verdict::kToPeer);
    const IpAddress first = out.packet().destination();
    ++chosen[first];
    for (int i = 0; i < 3; ++i) {
      Out again = w1_.fromTun(packet("10.18.0.2", port, "10.30.0.1", 80, {.flags = 0x10}));
      EXPECT_EQ(again.packet().destination(), first);
    }
  }
  EXPECT_EQ(chosen, (std::map<IpAddress, int>{{ip("10.18.0.66"), 50}, {ip("10.18.0.67"), 50}}));
  EXPECT_EQ(w1_.core().counters().flows_created, 100u);
}

// Quirk 20 of the original: a request from client B whose source port equals an earlier client
// A's was rewritten to carry A's address.
TEST_F(ProxyCoreTest, RepliesToTwoClientsWithTheSameSourcePort) {
  // A (W1) and B (W3) both use port 40000 towards instance 0's instance address.
  Out a = w1_.fromTun(packet("10.18.0.2", 40000, "10.30.0.3", 80));
  ASSERT_EQ(a.verdict.kind, Verdict::kToPeer);
  ASSERT_EQ(w2_.fromTunnel(a.bytes, kW1).verdict.kind, Verdict::kToTun);
  Out reply_a = w2_.fromTun(packet("10.18.0.66", 80, "10.30.0.10", 40000, {.flags = 0x12}));
  ASSERT_EQ(reply_a.verdict.peer, kW1);
  expectAddresses(reply_a, "10.30.0.3", "10.18.0.2");

  Out b = w3_.fromTun(packet("10.18.0.130", 40000, "10.30.0.3", 80));
  ASSERT_EQ(b.verdict.kind, Verdict::kToPeer);
  Out at_server = w2_.fromTunnel(b.bytes, kW3);
  expectAddresses(at_server, "10.30.0.12", "10.18.0.66");  // B stays B
  Out reply_b = w2_.fromTun(packet("10.18.0.66", 80, "10.30.0.12", 40000, {.flags = 0x12}));
  ASSERT_EQ(reply_b.verdict.peer, kW3);
  expectAddresses(reply_b, "10.30.0.3", "10.18.0.130");
  Out at_a = w1_.fromTunnel(reply_a.bytes, kW2);
  expectAddresses(at_a, "10.30.0.3", "10.18.0.2");
  Out at_b = w3_.fromTunnel(reply_b.bytes, kW2);
  expectAddresses(at_b, "10.30.0.3", "10.18.0.130");
}

TEST_F(ProxyCoreTest, TwoLocalClientsWithTheSameSourcePort) {
  Out c0 = w1_.fromTun(packet("10.18.0.2", 40000, "10.30.0.1", 80));
  Out c1 = w1_.fromTun(packet("10.18.0.3", 40000, "10.30.0.1", 80));
  expectAddresses(c0, "10.30.0.10", "10.18.0.66");  // round robin: instance 0, then 1
  expectAddresses(c1, "10.30.0.11", "10.18.0.67");
  Out r1 = w1_.fromTunnel(packet("10.30.0.4", 80, "10.18.0.3", 40000, {.flags = 0x12}), kW2);
  expectAddresses(r1, "10.30.0.1", "10.18.0.3");
  Out r0 = w1_.fromTunnel(packet("10.30.0.3", 80, "10.18.0.2", 40000, {.flags = 0x12}), kW2);
  expectAddresses(r0, "10.30.0.1", "10.18.0.2");

  // Only the chosen instance's replies, of the same protocol, are translated.
  Out other = w1_.fromTunnel(packet("10.30.0.4", 80, "10.18.0.2", 40000, {.flags = 0x12}), kW2);
  expectAddresses(other, "10.30.0.4", "10.18.0.2");
  Out udp =
      w1_.fromTunnel(packet("10.30.0.3", 80, "10.18.0.2", 40000, {.protocol = kProtoUdp}), kW2);
  expectAddresses(udp, "10.30.0.3", "10.18.0.2");
  Out port = w1_.fromTunnel(packet("10.30.0.3", 81, "10.18.0.2", 40000, {.flags = 0x12}), kW2);
  expectAddresses(port, "10.30.0.3", "10.18.0.2");
}

// The translations of the reference proxy tests, on a worker with subnet 10.19.1.0/26.
TEST_F(ProxyCoreTest, ReferenceExamples) {
  const TunnelEndpoint self{ip("10.0.0.2"), 50103};
  const TunnelEndpoint remote{ip("10.0.0.1"), 50103};
  Worker w("10.19.1.0/26", "fc00::/120", self, clock_);
  w.setJobs(
      {job("a.a.client.a", {},
           {{0, "10.19.1.1", "fc00::1", "10.30.255.253", "fdff::fd", self},
            {1, "10.19.1.15", "fc00::15", "10.30.0.50", "fdff::50", self}}),
       job("a.a.server.a",
           {{net::kClosestPolicy, testing::v4("10.30.255.255"), testing::v6("fdff:1000::ff")},
            {net::kRoundRobinPolicy, testing::v4("10.30.255.251"), testing::v6("fdff:2000::ff")}},
           {{0, "10.19.2.12", "fd00::12", "10.30.255.254", "fdff::fe", remote}})});

  Out out = w.fromTun(packet("10.19.1.1", 666, "10.30.255.255", 80));
  ASSERT_EQ(out.verdict.kind, Verdict::kToPeer);
  EXPECT_EQ(out.verdict.peer, remote);
  expectAddresses(out, "10.30.255.253", "10.19.2.12");
  EXPECT_EQ(out.packet().src_port, 666);
  EXPECT_EQ(out.packet().dst_port, 80);
  EXPECT_EQ(w.fromTun(packet("10.19.1.1", 666, "10.20.1.1", 80)).verdict.reason,
            DropReason::kNotServiceDestination);

  out = w.fromTun(packet("fc00::1", 666, "fdff:2000::ff", 80));
  expectAddresses(out, "fdff::fd", "fd00::12");
  EXPECT_EQ(w.fromTun(packet("fc00::1", 666, "fd00::12", 80)).verdict.reason,
            DropReason::kNotServiceDestination);

  // Incoming: the reply of 10.19.1.15's flow gets the address it used as source.
  ASSERT_EQ(w.fromTun(packet("10.19.1.15", 777, "10.30.255.255", 666)).verdict.kind,
            Verdict::kToPeer);
  out = w.fromTunnel(packet("10.30.255.254", 666, "10.19.1.15", 777, {.flags = 0x12}), remote);
  expectAddresses(out, "10.30.255.255", "10.19.1.15");
  EXPECT_EQ(w.fromTunnel(packet("10.19.2.1", 666, "10.19.1.12", 80), remote).verdict.reason,
            DropReason::kBadSource);
  ASSERT_EQ(w.fromTun(packet("fc00::15", 777, "fdff:1000::ff", 666)).verdict.kind,
            Verdict::kToPeer);
  out = w.fromTunnel(packet("fdff::fe", 666, "fc00::15", 777, {.flags = 0x12}), remote);
  expectAddresses(out, "fdff:1000::ff", "fc00::15");
  EXPECT_EQ(w.fromTunnel(packet("fc00::1", 666, "fd00::12", 80), remote).verdict.reason,
            DropReason::kBadDestination);
}

TEST_F(ProxyCoreTest, UnknownDestinationIsQueried) {
  w1_.setJobs({job("app.ns.client.ns", {}, kClients)});
  const Bytes request = packet("10.18.0.2", 40000, "10.30.0.1", 80);
  Out out = w1_.fromTun(request);
  ASSERT_EQ(out.verdict.kind, Verdict::kQuery);
  EXPECT_EQ(out.verdict.query, ip("10.30.0.1"));
  EXPECT_EQ(out.bytes, request);  // untouched, to be resubmitted
  EXPECT_EQ(w1_.core().counters().queries, 1u);

  // No answer: the caller turns it into "host unreachable".
  Bytes buffer(65536, 0);
  std::memcpy(buffer.data(), request.data(), request.size());
  const Verdict v = w1_.core().buildUnreachable(buffer, request.size());
  ASSERT_EQ(v.kind, Verdict::kIcmpToTun);
  buffer.resize(v.length);
  Out icmp{v, buffer};
  expectAddresses(icmp, "10.30.0.1", "10.18.0.2");
  EXPECT_EQ(icmp.packet().icmp_type, 3);
  EXPECT_EQ(icmp.packet().icmp_code, 1);

  // An answer: the same packet goes through.
  w1_.setJobs(allJobs());
  out = w1_.fromTun(request);
  ASSERT_EQ(out.verdict.kind, Verdict::kToPeer);
  expectAddresses(out, "10.30.0.10", "10.18.0.66");

  const Bytes v6_request = packet("fc00::2", 40000, "fdff:2000::99", 80);
  out = w1_.fromTun(v6_request);
  ASSERT_EQ(out.verdict.kind, Verdict::kQuery);
  EXPECT_EQ(out.verdict.query, ip("fdff:2000::99"));
}

TEST_F(ProxyCoreTest, DropsWithReasons) {
  auto reason = [this](const Bytes& p) { return tunDrop(p); };
  EXPECT_EQ(reason(packet("10.18.0.2", 1, "10.20.1.1", 80)), DropReason::kNotServiceDestination);
  EXPECT_EQ(reason(packet("10.18.0.2", 1, "10.18.0.66", 80)), DropReason::kNotServiceDestination);
  EXPECT_EQ(reason(packet("10.18.0.9", 1, "10.30.0.1", 80)), DropReason::kUnknownSender);
  EXPECT_EQ(reason(packet("10.30.0.3", 1, "10.30.0.1", 80)), DropReason::kUnknownSender);
  EXPECT_EQ(reason(packet("fc00::9", 1, "fdff:2000::1", 80)), DropReason::kUnknownSender);
  EXPECT_EQ(reason(packet("10.18.0.2", 1, "10.30.0.1", 80, {.protocol = 47})),
            DropReason::kUnsupportedProtocol);
  testing::PacketSpec error{.src = ip("10.18.0.2"), .dst = ip("10.30.0.1"), .protocol = kProtoIcmp};
  error.icmp_type = 3;
  EXPECT_EQ(reason(testing::buildPacket(error)), DropReason::kUnsupportedProtocol);
  Bytes bad = packet("10.18.0.2", 1, "10.30.0.1", 80);
  bad[0] = 0x46;
  EXPECT_EQ(reason(bad), DropReason::kMalformed);
  EXPECT_EQ(reason({}), DropReason::kMalformed);

  Bytes small(10, 0);
  EXPECT_EQ(w1_.core().fromTun(small, 11).reason, DropReason::kMalformed);
  const auto& c = w1_.core().counters();
  EXPECT_EQ(c.drops[size_t(DropReason::kNotServiceDestination)], 2u);
  EXPECT_EQ(c.drops[size_t(DropReason::kUnknownSender)], 3u);
  EXPECT_EQ(c.drops[size_t(DropReason::kUnsupportedProtocol)], 2u);
  EXPECT_EQ(c.drops[size_t(DropReason::kMalformed)], 3u);
  EXPECT_EQ(c.tun_packets, 10u);
  EXPECT_EQ(c.flows_created, 0u);
}

TEST_F(ProxyCoreTest, TooBigPacketsGetIcmp) {
  // 1450 bytes fit; 1451 with DF do not.
  Out out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80, {.payload = 1450 - 40}));
  EXPECT_EQ(out.verdict.kind, Verdict::kToPeer);
  const Bytes big = packet("10.18.0.2", 2, "10.30.0.1", 80, {.payload = 1451 - 40});
  out = w1_.fromTun(big);
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  EXPECT_EQ(out.verdict.reason, DropReason::kNone);
  expectAddresses(out, "10.30.0.1", "10.18.0.2");
  EXPECT_EQ(out.packet().icmp_type, 3);
  EXPECT_EQ(out.packet().icmp_code, 4);
  EXPECT_EQ(load16(&out.bytes[26]), 1450);
  EXPECT_EQ(Bytes(out.bytes.begin() + 28, out.bytes.end()), Bytes(big.begin(), big.begin() + 28));

  // Without DF the tunnel's own IP layer fragments the datagram.
  out = w1_.fromTun(packet("10.18.0.2", 3, "10.30.0.1", 80,
                           {.protocol = kProtoUdp, .payload = 1472, .dont_fragment = false}));
  EXPECT_EQ(out.verdict.kind, Verdict::kToPeer);

  out = w1_.fromTun(packet("fc00::2", 4, "fdff:2000::1", 80, {.payload = 1451 - 60}));
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  expectAddresses(out, "fdff:2000::1", "fc00::2");
  EXPECT_EQ(out.packet().icmp_type, 2);
  EXPECT_EQ(load32(&out.bytes[44]), 1450u);

  EXPECT_EQ(w1_.fromTun(packet("10.18.0.9", 5, "10.30.0.1", 80, {.payload = 2000})).verdict.reason,
            DropReason::kUnknownSender);
  EXPECT_EQ(w1_.core().counters().icmp_errors, 2u);
}

TEST_F(ProxyCoreTest, LocalDeliveryTranslatesBothWays) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    Out out = w1_.fromTun(
        packet(v6 ? "fc00::2" : "10.18.0.2", 40000, v6 ? "fdff:2000::20" : "10.30.0.20", 8080));
    ASSERT_EQ(out.verdict.kind, Verdict::kToTun);
    expectAddresses(out, v6 ? "fdff::10" : "10.30.0.10", v6 ? "fc00::5" : "10.18.0.5");
    out = w1_.fromTun(packet(v6 ? "fc00::5" : "10.18.0.5", 8080, v6 ? "fdff::10" : "10.30.0.10",
                             40000, {.flags = 0x12}));
    ASSERT_EQ(out.verdict.kind, Verdict::kToTun);
    expectAddresses(out, v6 ? "fdff:2000::20" : "10.30.0.20", v6 ? "fc00::2" : "10.18.0.2");
  }
  EXPECT_EQ(w1_.core().counters().to_peer_packets, 0u);
  EXPECT_EQ(w1_.core().counters().to_tun_packets, 4u);
}

// A TCP super-packet of `segments` segments of `size` bytes, as a TUN device with offloads
// hands it out, and its layout.
std::pair<Bytes, TunRead> superPacket(const char* src, const char* dst, size_t size,
                                      size_t segments) {
  Bytes b = packet(src, 40000, dst, 80, {.flags = 0x18, .payload = size * segments});
  testing::makeChecksumPartial(b);
  const bool v4 = b[0] >> 4 == 4;
  const uint16_t l4 = v4 ? 20 : 40;
  TunRead read;
  const VnetHeader h{.flags = VnetHeader::kNeedsChecksum,
                     .gso_type = v4 ? VnetHeader::kGsoTcpV4 : VnetHeader::kGsoTcpV6,
                     .gso_size = static_cast<uint16_t>(size),
                     .csum_start = l4,
                     .csum_offset = 16};
  EXPECT_EQ(prepareTunRead(h, b, read), VnetError::kOk);
  EXPECT_TRUE(read.isSuper());
  return {b, read};
}

// The rewritten super-packet, its checksum completed, is valid and differs from the original
// in addresses (and checksums) only.
void expectSuperAddresses(const Out& out, const Bytes& original, const char* src, const char* dst) {
  Bytes whole = out.bytes;
  testing::completePartialChecksum(whole);
  EXPECT_TRUE(checksumsValid(whole));
  EXPECT_TRUE(onlyAddressesChanged(original, out.bytes));
  Packet p;
  ASSERT_EQ(parsePacket(whole, p), PacketError::kOk);
  EXPECT_EQ(p.source(), ip(src));
  EXPECT_EQ(p.destination(), ip(dst));
}

TEST_F(ProxyCoreTest, SuperPacketsAreDecidedOnceAndKeepTheirChecksumPartial) {
  w1_.setJobs(allJobs({kServers[0]}));
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    auto [request, read] =
        superPacket(v6 ? "fc00::2" : "10.18.0.2", v6 ? "fdff:2000::1" : "10.30.0.1", 1390, 40);
    Out out = w1_.fromTunSuper(request, read);
    ASSERT_EQ(out.verdict.kind, Verdict::kToPeer) << toString(out.verdict.reason);
    EXPECT_EQ(out.verdict.peer, kW2);
    EXPECT_EQ(out.verdict.length, request.size());
    expectSuperAddresses(out, request, v6 ? "fdff::10" : "10.30.0.10",
                         v6 ? "fc00::102" : "10.18.0.66");
    // Its segments are what a plain packet of the same flow would have become.
    Segmenter segmenter(out.bytes, read);
    ASSERT_EQ(segmenter.count(), 40u);
    for (size_t i : {size_t{0}, size_t{39}}) {
      Bytes segment(read.header_length);
      auto payload = segmenter.segment(i, segment);
      segment.insert(segment.end(), payload.begin(), payload.end());
      Out one{out.verdict, segment};
      expectAddresses(one, v6 ? "fdff::10" : "10.30.0.10", v6 ? "fc00::102" : "10.18.0.66");
    }

    // Delivered on this worker (both ends local): rewritten both ways, still partial.
    auto [local, local_read] =
        superPacket(v6 ? "fc00::2" : "10.18.0.2", v6 ? "fdff:2000::20" : "10.30.0.20", 1390, 3);
    out = w1_.fromTunSuper(local, local_read);
    ASSERT_EQ(out.verdict.kind, Verdict::kToTun);
    expectSuperAddresses(out, local, v6 ? "fdff::10" : "10.30.0.10", v6 ? "fc00::5" : "10.18.0.5");
  }
  EXPECT_EQ(w1_.core().counters().tun_packets, 4u) << "a super-packet counts once";
}

TEST_F(ProxyCoreTest, SuperPacketsAreTooBigWhenTheirSegmentsAre) {
  auto [fits, fits_read] = superPacket("10.18.0.2", "10.30.0.1", 1450 - 40, 20);
  EXPECT_EQ(w1_.fromTunSuper(fits, fits_read).verdict.kind, Verdict::kToPeer);
  auto [big, big_read] = superPacket("10.18.0.2", "10.30.0.1", 1451 - 40, 20);
  Out out = w1_.fromTunSuper(big, big_read);
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  EXPECT_EQ(out.packet().icmp_code, 4);
  EXPECT_EQ(load16(&out.bytes[26]), 1450);
  auto [big6, big6_read] = superPacket("fc00::2", "fdff:2000::1", 1451 - 60, 20);
  out = w1_.fromTunSuper(big6, big6_read);
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  EXPECT_EQ(out.packet().icmp_type, 2);
}

TEST_F(ProxyCoreTest, IdleFlowsExpire) {
  const Flow5 udp{.protocol = kProtoUdp};
  Out out = w1_.fromTun(packet("10.18.0.2", 5000, "10.30.0.1", 53, udp));
  expectAddresses(out, "10.30.0.10", "10.18.0.66");
  clock_.advance(59s);
  out = w1_.fromTun(packet("10.18.0.2", 5000, "10.30.0.1", 53, udp));
  expectAddresses(out, "10.30.0.10", "10.18.0.66");
  clock_.advance(60s);
  // Expired: the reply is no longer translated, and the next packet starts a new flow.
  out = w1_.fromTunnel(packet("10.30.0.3", 53, "10.18.0.2", 5000, udp), kW2);
  expectAddresses(out, "10.30.0.3", "10.18.0.2");
  out = w1_.fromTun(packet("10.18.0.2", 5000, "10.30.0.1", 53, udp));
  expectAddresses(out, "10.30.0.10", "10.18.0.67");
  EXPECT_EQ(w1_.core().counters().flows_created, 2u);
  EXPECT_EQ(w1_.core().counters().flows_expired, 1u);

  // Replies alone keep a flow alive.
  for (int i = 0; i < 10; ++i) {
    clock_.advance(30s);
    out = w1_.fromTunnel(packet("10.30.0.4", 53, "10.18.0.2", 5000, udp), kW2);
    expectAddresses(out, "10.30.0.1", "10.18.0.2");
  }
  EXPECT_EQ(w1_.core().counters().flows_created, 2u);

  // TCP after FIN: 10 s.
  w1_.fromTun(packet("10.18.0.2", 6000, "10.30.0.1", 80));
  w1_.fromTun(packet("10.18.0.2", 6000, "10.30.0.1", 80, {.flags = kTcpFin | 0x10}));
  EXPECT_EQ(w1_.core().flowCount(), 2u);
  clock_.advance(11s);
  w1_.core().sweep();
  EXPECT_EQ(w1_.core().flowCount(), 1u);
  clock_.advance(50s);
  w1_.core().sweep();
  EXPECT_EQ(w1_.core().flowCount(), 0u);
  EXPECT_EQ(w1_.core().counters().flows_expired, 3u);
}

TEST_F(ProxyCoreTest, FullFlowTableRefusesNewFlows) {
  Worker w("10.18.0.0/26", "fc00::/120", kW1, clock_, 4);
  const Flow5 udp{.protocol = kProtoUdp};
  for (uint16_t port = 1; port <= 4; ++port) {
    EXPECT_EQ(w.fromTun(packet("10.18.0.2", port, "10.30.0.1", 53, udp)).verdict.kind,
              Verdict::kToPeer);
  }
  Out out = w.fromTun(packet("10.18.0.2", 5, "10.30.0.1", 53, udp));
  EXPECT_EQ(out.verdict.reason, DropReason::kFlowTableFull);
  EXPECT_EQ(w.core().counters().flows_refused, 1u);
  // Existing flows go on.
  EXPECT_EQ(w.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 53, udp)).verdict.kind, Verdict::kToPeer);
  clock_.advance(60s);
  EXPECT_EQ(w.fromTun(packet("10.18.0.2", 5, "10.30.0.1", 53, udp)).verdict.kind, Verdict::kToPeer);
}

TEST_F(ProxyCoreTest, FlowsMoveWhenTheirInstanceLeaves) {
  Out out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80));
  expectAddresses(out, "10.30.0.10", "10.18.0.66");
  // The same table again: the flow stays where it is.
  w1_.setJobs(allJobs());
  out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80, {.flags = 0x10}));
  expectAddresses(out, "10.30.0.10", "10.18.0.66");
  EXPECT_EQ(w1_.core().counters().flows_rebalanced, 0u);

  w1_.setJobs(allJobs({kServers[1]}));
  out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80, {.flags = 0x10}));
  expectAddresses(out, "10.30.0.10", "10.18.0.67");
  EXPECT_EQ(w1_.core().counters().flows_rebalanced, 1u);
  EXPECT_EQ(w1_.core().counters().flows_created, 1u);
  out = w1_.fromTunnel(packet("10.30.0.4", 80, "10.18.0.2", 1, {.flags = 0x10}), kW2);
  expectAddresses(out, "10.30.0.1", "10.18.0.2");
  out = w1_.fromTunnel(packet("10.30.0.3", 80, "10.18.0.2", 1, {.flags = 0x10}), kW2);
  expectAddresses(out, "10.30.0.3", "10.18.0.2");

  // An instance that moved to W3 keeps its instance address.
  Instance moved = kServers[1];
  moved.nsip = "10.18.0.131";
  moved.nsip6 = "fc00::203";
  moved.host = kW3;
  ASSERT_EQ(w1_.fromTun(packet("10.18.0.2", 2, "10.30.0.4", 80)).verdict.peer, kW2);
  w1_.setJobs(allJobs({moved}));
  out = w1_.fromTun(packet("10.18.0.2", 2, "10.30.0.4", 80, {.flags = 0x10}));
  EXPECT_EQ(out.verdict.peer, kW3);
  expectAddresses(out, "10.30.0.10", "10.18.0.131");

  // The service is gone: ask again. The sender is gone: drop.
  w1_.setJobs({job("app.ns.client.ns", {}, kClients)});
  EXPECT_EQ(w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80)).verdict.kind, Verdict::kQuery);
  w1_.setJobs({job("app.ns.server.ns", {kRoundRobin}, kServers)});
  EXPECT_EQ(w1_.fromTun(packet("10.18.0.2", 2, "10.30.0.4", 80)).verdict.reason,
            DropReason::kUnknownSender);
}

TEST_F(ProxyCoreTest, ServiceWithoutUsableInstanceIsUnreachable) {
  Instance no_v6 = kServers[0];
  no_v6.nsip6 = nullptr;
  w1_.setJobs(allJobs({no_v6}));
  EXPECT_EQ(w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80)).verdict.kind, Verdict::kToPeer);
  Out out = w1_.fromTun(packet("fc00::2", 1, "fdff:2000::1", 80));
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  EXPECT_EQ(out.verdict.reason, DropReason::kNoInstance);
  expectAddresses(out, "fdff:2000::1", "fc00::2");
  EXPECT_EQ(out.packet().icmp_type, 1);
  EXPECT_EQ(out.packet().icmp_code, 3);

  w1_.setJobs(allJobs({}));
  out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80));
  ASSERT_EQ(out.verdict.kind, Verdict::kIcmpToTun);
  EXPECT_EQ(out.packet().icmp_type, 3);
}

TEST_F(ProxyCoreTest, TableClaimingThisWorkerForAForeignSubnetIsALoop) {
  Instance confused = kServers[0];
  confused.host = kW1;
  w1_.setJobs(allJobs({confused}));
  EXPECT_EQ(w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.1", 80)).verdict.reason, DropReason::kLoop);
}

TEST_F(ProxyCoreTest, FragmentsFollowTheirFirstFragment) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "v6" : "v4");
    const char* client = v6 ? "fc00::2" : "10.18.0.2";
    const char* client_ip = v6 ? "fdff::10" : "10.30.0.10";
    const char* service = v6 ? "fdff:2000::1" : "10.30.0.1";
    const char* server = v6 ? "fc00::102" : "10.18.0.66";
    const char* server_ip = v6 ? "fdff::3" : "10.30.0.3";
    const Flow5 big{.protocol = kProtoUdp, .payload = 3000, .dont_fragment = false};
    auto fragments = testing::fragmentPacket(packet(client, 7000, service, 53, big), 1232, 77);
    ASSERT_EQ(fragments.size(), 3u);

    // A later fragment before the first cannot be placed.
    EXPECT_EQ(w1_.fromTun(fragments[1]).verdict.reason, DropReason::kUnknownFragment);
    std::vector<Bytes> sent;
    for (const Bytes& f : fragments) {
      Out out = w1_.fromTun(f);
      ASSERT_EQ(out.verdict.kind, Verdict::kToPeer);
      EXPECT_EQ(out.verdict.peer, kW2);
      expectAddresses(out, client_ip, server);
      sent.push_back(out.bytes);
    }
    Bytes whole = testing::reassemble(sent);
    EXPECT_TRUE(checksumsValid(whole));
    std::vector<Bytes> at_server;
    for (const Bytes& f : sent) at_server.push_back(w2_.fromTunnel(f, kW1).bytes);
    EXPECT_EQ(at_server, sent);

    // The fragmented reply comes back from the service address.
    auto reply = testing::fragmentPacket(packet(server, 53, client_ip, 7000, big), 1232, 78);
    std::vector<Bytes> delivered;
    for (const Bytes& f : reply) {
      Out out = w2_.fromTun(f);
      ASSERT_EQ(out.verdict.kind, Verdict::kToPeer);
      expectAddresses(out, server_ip, client);
      Out in = w1_.fromTunnel(out.bytes, kW2);
      ASSERT_EQ(in.verdict.kind, Verdict::kToTun);
      expectAddresses(in, service, client);
      delivered.push_back(in.bytes);
    }
    EXPECT_TRUE(checksumsValid(testing::reassemble(delivered)));
  }
}

TEST_F(ProxyCoreTest, TunnelInputIsValidated) {
  auto reason = [this](const Bytes& p) { return tunnelDrop(p); };
  EXPECT_EQ(reason(packet("10.30.0.3", 80, "10.18.0.66", 1)), DropReason::kBadDestination);
  EXPECT_EQ(reason(packet("10.30.0.3", 80, "10.30.0.10", 1)), DropReason::kBadDestination);
  EXPECT_EQ(reason(packet("10.18.0.66", 80, "10.18.0.2", 1)), DropReason::kBadSource);
  EXPECT_EQ(reason(packet("fdff::3", 80, "fc00::102", 1)), DropReason::kBadDestination);
  EXPECT_EQ(reason(packet("fc00::102", 80, "fc00::2", 1)), DropReason::kBadSource);
  EXPECT_EQ(reason(packet("10.30.0.3", 80, "10.18.0.2", 1, {.protocol = 47})),
            DropReason::kUnsupportedProtocol);
  EXPECT_EQ(reason(Bytes{0x00, 1, 2, 3}), DropReason::kNotAPacket);
  EXPECT_EQ(reason(Bytes{0x01, 1, 2, 3}), DropReason::kNotAPacket);  // a short probe
  EXPECT_EQ(reason(Bytes{0x45, 0, 0}), DropReason::kMalformed);
  EXPECT_EQ(reason(Bytes{}), DropReason::kMalformed);
  Bytes truncated = packet("10.30.0.3", 80, "10.18.0.2", 1);
  truncated.resize(truncated.size() - 1);
  EXPECT_EQ(reason(truncated), DropReason::kMalformed);
  Bytes buffer(8, 0);
  EXPECT_EQ(w1_.core().fromTunnel(buffer, 9, kW2).reason, DropReason::kMalformed);
  EXPECT_EQ(w1_.core().counters().tunnel_packets, 12u);
}

TEST_F(ProxyCoreTest, ProbesMeasureTheRtt) {
  Bytes probe(64, 0);
  const size_t n = w1_.core().buildProbe(probe, kW2);
  ASSERT_EQ(n, kProbeSize);
  probe.resize(n);
  Out answered = w2_.fromTunnel(probe, kW1);
  ASSERT_EQ(answered.verdict.kind, Verdict::kToPeer);
  EXPECT_EQ(answered.verdict.peer, kW1);
  ASSERT_EQ(answered.bytes.size(), kProbeSize);
  EXPECT_EQ(answered.bytes[0], kProbeReply);
  EXPECT_EQ(Bytes(answered.bytes.begin() + 1, answered.bytes.end()),
            Bytes(probe.begin() + 1, probe.end()));
  clock_.advance(4ms);
  EXPECT_EQ(w1_.fromTunnel(answered.bytes, kW2).verdict.kind, Verdict::kConsumed);
  EXPECT_EQ(w1_.core().rtt().get(kW2), 4ms);
  EXPECT_EQ(w1_.core().counters().probe_replies, 1u);
  EXPECT_EQ(w2_.core().counters().probes_answered, 1u);

  // Replies from an endpoint never probed, or too old, change nothing.
  EXPECT_EQ(w1_.fromTunnel(answered.bytes, kW3).verdict.kind, Verdict::kConsumed);
  EXPECT_FALSE(w1_.core().rtt().get(kW3));
  clock_.advance(20s);
  w1_.fromTunnel(answered.bytes, kW2);
  EXPECT_EQ(w1_.core().rtt().get(kW2), 4ms);
}

TEST_F(ProxyCoreTest, ClosestUsesMeasuredRtts) {
  const std::vector<Instance> servers = {
      kServers[0],
      {1, "10.18.0.131", "fc00::203", "10.30.0.4", "fdff::4", kW3},
      {2, "10.18.0.6", "fc00::6", "10.30.0.5", "fdff::5", kW1}};
  w1_.setJobs(allJobs(servers));
  w1_.core().setRtt(kW2, 20ms);
  w1_.core().setRtt(kW3, 5ms);
  // This worker is closest of all.
  Out out = w1_.fromTun(packet("10.18.0.2", 1, "10.30.0.2", 80));
  EXPECT_EQ(out.verdict.kind, Verdict::kToTun);
  expectAddresses(out, "10.30.0.10", "10.18.0.6");
  w1_.setJobs(allJobs({servers[0], servers[1]}));
  for (uint16_t port = 2; port < 6; ++port) {
    out = w1_.fromTun(packet("10.18.0.2", port, "10.30.0.2", 80));
    EXPECT_EQ(out.verdict.peer, kW3);
  }
}

}  // namespace
}  // namespace oak::overlay
