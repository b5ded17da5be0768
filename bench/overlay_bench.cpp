// Cost per packet of the overlay proxy's data path (ProxyCore) with a warm flow table: a request
// read from the TUN device on the client's worker (fromTun: parse, flow lookup, rewrite) and the
// reply received from the tunnel (fromTunnel: parse, reverse lookup, rewrite). The copy of the
// packet into the buffer is included, as a real read would write it there.

#include <benchmark/benchmark.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/clock.h"
#include "net/address_plan.h"
#include "overlay/checksum.h"
#include "overlay/proxy_core.h"

namespace oak::overlay {
namespace {

using Bytes = std::vector<uint8_t>;

const TunnelEndpoint kSelf{net::Ipv4Address::fromOctets(172, 31, 0, 1), net::kTunnelPort};
const TunnelEndpoint kPeer{net::Ipv4Address::fromOctets(172, 31, 0, 2), net::kTunnelPort};
constexpr int kClients = 32;  // local instances, 10.18.0.2 …

net::Ipv4Address clientNsip(int i) {
  return net::Ipv4Address::fromOctets(10, 18, 0, 2) + static_cast<uint32_t>(i);
}
net::Ipv4Address clientIp(int i) {
  return net::Ipv4Address::fromOctets(10, 30, 1, 2) + static_cast<uint32_t>(i);
}
const net::Ipv4Address kService = net::Ipv4Address::fromOctets(10, 30, 0, 1);

// An IPv4 TCP ACK with `payload` bytes and correct checksums.
Bytes tcp(net::Ipv4Address src, uint16_t sport, net::Ipv4Address dst, uint16_t dport,
          size_t payload) {
  Bytes p(40 + payload, 0);
  p[0] = 0x45;
  store16(&p[2], static_cast<uint16_t>(p.size()));
  store16(&p[6], 0x4000);
  p[8] = 64;
  p[9] = kProtoTcp;
  store32(&p[12], src.toUint32());
  store32(&p[16], dst.toUint32());
  store16(&p[10], checksumFinish(checksumAdd(0, std::span<const uint8_t>(p.data(), 20))));
  store16(&p[20], sport);
  store16(&p[22], dport);
  p[32] = 5 << 4;
  p[33] = 0x10;
  store16(&p[34], 65000);
  for (size_t i = 0; i < payload; ++i) p[40 + i] = static_cast<uint8_t>(i);
  uint64_t sum = checksumAdd(0, std::span<const uint8_t>(&p[12], 8)) + kProtoTcp + p.size() - 20;
  store16(&p[36],
          checksumFinish(checksumAdd(sum, std::span<const uint8_t>(&p[20], p.size() - 20))));
  return p;
}

std::shared_ptr<const ServiceTable> table() {
  JobRoutes server{
      .job_name = "app.ns.server.ns",
      .service_ips = {{net::kRoundRobinPolicy, kService, *net::Ipv6Address::parse("fdff:2000::1")}},
      .instances = {}};
  for (int i = 0; i < 4; ++i) {
    server.instances.push_back(InstanceRoute{
        .instance_number = i,
        .worker_id = "w2",
        .instance_ip = net::Ipv4Address::fromOctets(10, 30, 0, 3) + static_cast<uint32_t>(i),
        .instance_ip6 = *net::Ipv6Address::parse("fdff::3") + static_cast<net::Uint128>(i),
        .nsip = net::Ipv4Address::fromOctets(10, 18, 0, 66) + static_cast<uint32_t>(i),
        .nsip6 = std::nullopt,
        .host = kPeer});
  }
  ServiceTable::Builder b;
  b.add(server);
  for (int i = 0; i < kClients; ++i) {
    b.addLocal(
        {.job_name = "app.ns.client.ns",
         .instance_number = i,
         .nsip = clientNsip(i),
         .nsip6 = std::nullopt,
         .instance_ip = clientIp(i),
         .instance_ip6 = *net::Ipv6Address::parse("fdff::1:0") + static_cast<net::Uint128>(i)});
  }
  return b.build();
}

// Arguments: live flows (each packet goes to the next one, so large tables miss the caches) and
// TCP payload bytes.
void BM_RequestAndReply(benchmark::State& state) {
  const auto flows = static_cast<int>(state.range(0));
  const auto payload = static_cast<size_t>(state.range(1));
  ProxyCore core(ProxyConfig{.subnet4 = {clientNsip(0), 26},
                             .subnet6 = {*net::Ipv6Address::parse("fc00::"), 120},
                             .self = kSelf,
                             .max_flows = 65536,
                             .hash_seed = 0x5eed},
                 SystemClock::instance());
  core.setTable(table());

  std::vector<Bytes> requests;
  std::vector<Bytes> replies;
  Bytes buffer(65536);
  for (int f = 0; f < flows; ++f) {
    const int client = f % kClients;
    const auto port = static_cast<uint16_t>(1024 + f / kClients);
    requests.push_back(tcp(clientNsip(client), port, kService, 80, payload));
    std::memcpy(buffer.data(), requests.back().data(), requests.back().size());
    const Verdict v = core.fromTun(buffer, requests.back().size());
    if (v.kind != Verdict::kToPeer) throw std::runtime_error("setup: request not forwarded");
    // The chosen instance answers the client's instance address.
    net::Ipv4Address server(load32(&buffer[16]));
    const net::Ipv4Address server_ip = net::Ipv4Address::fromOctets(10, 30, 0, 3) +
                                       (server - net::Ipv4Address::fromOctets(10, 18, 0, 66));
    replies.push_back(tcp(server_ip, 80, clientNsip(client), port, payload));
    std::memcpy(buffer.data(), replies.back().data(), replies.back().size());
    if (core.fromTunnel(buffer, replies.back().size(), kPeer).kind != Verdict::kToTun ||
        load32(&buffer[12]) != kService.toUint32()) {
      throw std::runtime_error("setup: reply not translated");
    }
  }

  size_t i = 0;
  for (auto _ : state) {
    const Bytes& request = requests[i];
    std::memcpy(buffer.data(), request.data(), request.size());
    Verdict out = core.fromTun(buffer, request.size());
    benchmark::DoNotOptimize(out);
    const Bytes& reply = replies[i];
    std::memcpy(buffer.data(), reply.data(), reply.size());
    Verdict in = core.fromTunnel(buffer, reply.size(), kPeer);
    benchmark::DoNotOptimize(in);
    if (++i == requests.size()) i = 0;
  }
  const auto& c = core.counters();
  if (c.to_peer_packets != c.to_tun_packets || c.flows_created != static_cast<uint64_t>(flows)) {
    state.SkipWithError("a packet was not translated");
  }
  state.SetItemsProcessed(2 * state.iterations());
  // Seconds per packet (printed as e.g. "45n").
  state.counters["per_packet"] =
      benchmark::Counter(2.0 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RequestAndReply)
    ->ArgsProduct({{1, 1024, 60000}, {20, 1400}})
    ->ArgNames({"flows", "payload"});

}  // namespace
}  // namespace oak::overlay

BENCHMARK_MAIN();
