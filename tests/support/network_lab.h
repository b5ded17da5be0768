#pragma once
// A small network of "hosts" for black-box tests of the overlay: each host is a named network
// namespace with its own underlay addresses, linked by a veth to one bridge in the test's own
// namespace, where root, cluster, containerd and the registry run (and reach the hosts through the
// bridge's address, the hosts' gateway).
//
//   auto lab = NetworkLab::create(2);
//   ASSERT_TRUE(lab) << lab.error().message;
//   const auto& h0 = (*lab)->host(0);  // h0.netns, h0.address "172.31.K.2", h0.address6
//   Process worker(binaryPath("oakestra"), {"worker", ...}, {}, log_file, h0.netns);
//   EXPECT_EQ((*lab)->ping(1, h0.address6).exit_code, 0);
//
// Layout, K chosen per lab so that labs of parallel test processes never share a subnet:
//
//   test namespace   bridge olabTTTT   172.31.K.1/24       2001:db8:K::1/64
//   host i           eth0              172.31.K.(i+2)/24   2001:db8:K::(i+2)/64, lo up,
//                                      default routes via 172.31.K.1 and 2001:db8:K::1
//
// The IPv6 underlay lies in the documentation prefix, outside the overlay's fc00::/7, which a
// worker routes into its TUN. Everything is named olabTTTT* (TTTT: 4 random hex digits); the
// lab holds a lock file under /run/oak-netlab while it lives, so `create` removes what crashed
// test processes left behind and never touches the lab of a running one. Needs root.
// Processes started in a host must be stopped before the lab is destroyed.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "process.h"

namespace oak::testing {

struct NetworkLabOptions {
  int mtu = 1500;  // of the bridge and every veth
};

class NetworkLab {
 public:
  struct Host {
    std::string netns;     // name under /run/netns: Process(..., netns), `ip -n`, `ip netns exec`
    std::string link;      // host end of its veth, a port of the bridge (test namespace)
    std::string address;   // 172.31.K.(i+2), on eth0 in the host
    std::string address6;  // 2001:db8:K::(i+2)
  };

  static Result<std::unique_ptr<NetworkLab>> create(size_t hosts, NetworkLabOptions options = {});
  ~NetworkLab();  // removes the namespaces, links and the lock file
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  size_t size() const { return hosts_.size(); }
  const Host& host(size_t i) const { return hosts_.at(i); }
  const std::string& bridge() const { return bridge_; }
  // The bridge's addresses in the test namespace: the hosts' default gateways, and where daemons
  // of the test namespace (cluster, registry) listen to be reachable from the hosts.
  std::string gateway() const;   // 172.31.K.1
  std::string gateway6() const;  // 2001:db8:K::1
  std::string subnet() const;    // 172.31.K.0/24
  std::string subnet6() const;   // 2001:db8:K::/64
  int mtu() const { return mtu_; }

  // Runs a short command inside host i (network namespace only, see Process), bounded.
  CommandResult run(size_t host, const std::vector<std::string>& argv,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // One ICMP echo (v4 or v6, after the address) from host i, waiting up to 2 s for the reply.
  CommandResult ping(size_t host, const std::string& address) const;

 private:
  NetworkLab() = default;
  Status build(size_t hosts);

  std::string tag_;
  int k_ = 0;
  int mtu_ = 1500;
  std::string bridge_;
  std::vector<Host> hosts_;
  int lock_fd_ = -1;
};

}  // namespace oak::testing
