// Throughput and round trip between two instances on different workers, through the overlay's
// service address, against the floor: the same traffic between the two workers directly over
// their underlay veth, measured in the same lab. Each data plane in its own lab, one after the
// other: the kernel's (nftables NAT, VXLAN) and the userspace proxy's (TUN, UDP tunnel). Real
// kernel, workers and instances as network namespaces (tests/support/datapath_lab.h); iperf3 for
// throughput, a TCP ping-pong for the round trip. Needs root and iperf3.
//
//   build/bin/overlay_net [--seconds 5] [--round-trips 20000] [--data-plane kernel|userspace|both]

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "datapath_lab.h"

namespace {

using oak::testing::DatapathLab;
using oak::testing::LabInstance;
constexpr uint16_t kPingPort = 7000;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string nsName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// Gbit/s of a single iperf3 TCP stream from `client_ns` to `address`, server in `server_ns`.
double iperf(const std::string& server_ns, const std::string& client_ns, const std::string& address,
             int seconds) {
  std::string server =
      fmt::format("ip netns exec {} iperf3 -s -1 -p 5201 >/dev/null 2>&1 &", nsName(server_ns));
  std::system(server.c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server binds
  auto json = run(fmt::format("ip netns exec {} iperf3 -c {} -p 5201 -t {} -J 2>/dev/null",
                              nsName(client_ns), address, seconds));
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return -1;
  const auto* end = v.as_object().if_contains("end");
  if (!end) return -1;
  double bps = end->at("sum_received").at("bits_per_second").to_number<double>();
  return bps / 1e9;
}

// Round trips of one byte over one TCP connection, in microseconds, sorted.
std::vector<double> pingPong(DatapathLab& lab, const std::string& server_ns,
                             const std::string& client_ns, const std::string& address, int count) {
  auto listener = lab.inNamespace(server_ns, [] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(kPingPort);
    ::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any));
    ::listen(fd, 1);
    return fd;
  });
  std::thread server([fd = *listener, count] {
    int c = ::accept(fd, nullptr, nullptr);
    int on = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    char b;
    for (int i = 0; i < count && ::read(c, &b, 1) == 1; ++i) (void)!::write(c, &b, 1);
    ::close(c);
    ::close(fd);
  });
  auto client =
      lab.inNamespace(client_ns, [] { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
  int fd = *client;
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kPingPort);
  to.sin_addr.s_addr = htonl(oak::net::Ipv4Address::parse(address)->toUint32());
  std::vector<double> rtts;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    char b = 'x';
    for (int i = 0; i < count; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      if (::write(fd, &b, 1) != 1 || ::read(fd, &b, 1) != 1) break;
      rtts.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  ::close(fd);
  server.join();
  std::sort(rtts.begin(), rtts.end());
  return rtts;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return -1;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("overlay throughput and round trip against the underlay veth");
  int seconds = 5;
  int round_trips = 20000;
  app.add_option("--seconds", seconds, "iperf3 duration");
  app.add_option("--round-trips", round_trips, "ping-pong round trips");
  std::string data_plane = "both";
  app.add_option("--data-plane", data_plane, "kernel, userspace or both")
      ->check(CLI::IsMember({"kernel", "userspace", "both"}));
  CLI11_PARSE(app, argc, argv);

  std::printf("%-44s %12s %10s %10s\n", "path", "Gbit/s", "p50 µs", "p99 µs");
  auto report = [&](const std::string& name, double gbps, const std::vector<double>& rtt) {
    std::printf("%-44s %12.2f %10.1f %10.1f\n", name.c_str(), gbps, percentile(rtt, 0.5),
                percentile(rtt, 0.99));
  };
  for (oak::worker::DataPlaneKind kind :
       {oak::worker::DataPlaneKind::kKernel, oak::worker::DataPlaneKind::kUserspace}) {
    const bool in_kernel = kind == oak::worker::DataPlaneKind::kKernel;
    if (data_plane != "both" && data_plane != (in_kernel ? "kernel" : "userspace")) continue;
    auto lab = DatapathLab::create(2, kind);
    if (!lab) {
      std::fprintf(stderr, "%s\n", lab.error().message.c_str());
      return 1;
    }
    auto server = (*lab)->addInstance(1, "bench.ns.srv.ns", 0);
    auto client = (*lab)->addInstance(0, "bench.ns.cli.ns", 0);
    if (!server || !client) return 1;
    (*lab)->publish();
    std::string service = (*lab)->serviceAddress("bench.ns.srv.ns").first.toString();
    std::string underlay = (*lab)->underlayAddress(1);
    const std::string& host0 = (*lab)->hostNetns(0);
    const std::string& host1 = (*lab)->hostNetns(1);
    const char* plane = in_kernel ? "kernel" : "userspace";
    report(fmt::format("{}: underlay veth (floor)", plane), iperf(host1, host0, underlay, seconds),
           pingPong(**lab, host1, host0, underlay, round_trips));
    report(fmt::format("{}: overlay, service IP, 2 workers", plane),
           iperf((*server)->netns, (*client)->netns, service, seconds),
           pingPong(**lab, (*server)->netns, (*client)->netns, service, round_trips));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1100));  // counters are published each second
    for (size_t host : {0, 1}) {
      auto c = (*lab)->dataPath(host).counters();
      std::printf("  %s worker: %llu packets from TUN, %llu into it, %llu to peers, %llu flows\n",
                  host == 0 ? "client" : "server", static_cast<unsigned long long>(c.tun_packets),
                  static_cast<unsigned long long>(c.to_tun_packets),
                  static_cast<unsigned long long>(c.to_peer_packets),
                  static_cast<unsigned long long>(c.flows_created));
      const oak::worker::DataPath* proxy = (*lab)->userspaceDataPath(host);
      if (!proxy) continue;
      auto st = proxy->stats();
      std::printf(
          "    %llu super-packets from TUN, %llu segments sent; %llu super-packets into TUN from "
          "%llu tunnel packets; offloads: TUN %s, UDP GSO %s, GRO %s\n",
          static_cast<unsigned long long>(st.super_packets),
          static_cast<unsigned long long>(st.segments_sent),
          static_cast<unsigned long long>(st.coalesced_packets),
          static_cast<unsigned long long>(st.coalesced_segments), st.tun_offload ? "on" : "off",
          st.udp_gso ? "on" : "off", st.udp_gro ? "on" : "off");
    }
  }
  return 0;
}
