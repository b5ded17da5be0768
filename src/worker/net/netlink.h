#pragma once
// Thin RAII layer over libnl-route for the few requests the host network needs. Errors carry the
// kernel's own errno text ("File exists") and, when it gives one, its extended ack message,
// prefixed with what was attempted.

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/ip.h"
#include "overlay/address.h"

namespace oak::worker::nl {

struct Deleter {
  void operator()(nl_sock* p) const { nl_socket_free(p); }
  void operator()(rtnl_link* p) const { rtnl_link_put(p); }
  void operator()(rtnl_addr* p) const { rtnl_addr_put(p); }
  void operator()(rtnl_route* p) const { rtnl_route_put(p); }
  void operator()(nl_addr* p) const { nl_addr_put(p); }
  void operator()(nl_cache* p) const { nl_cache_free(p); }
  void operator()(rtnl_neigh* p) const { rtnl_neigh_put(p); }
};
using LinkPtr = std::unique_ptr<rtnl_link, Deleter>;
using AddrPtr = std::unique_ptr<nl_addr, Deleter>;

// A NETLINK_ROUTE socket in the namespace of the thread that opened it.
class Socket {
 public:
  static Result<Socket> open();
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();

  // The socket for the next request; forgets the previous request's kernel error.
  nl_sock* get();
  // Turns a libnl return code into a Status: ok for rc >= 0, else "<what>: <reason>".
  Status check(int rc, const std::string& what);
  // The errno the kernel answered the last request with (0: none or success).
  int kernelErrno() const;

  struct State;

 private:
  explicit Socket(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

AddrPtr toNlAddr(net::Ipv4Address address, int prefix_length = 32);
AddrPtr toNlAddr(const net::Ipv6Address& address, int prefix_length = 128);
AddrPtr toNlAddr(const overlay::IpAddress& address);  // a host address (/32, /128)

// A permanent neighbour entry on `ifindex` (created or replaced), and its removal (absent is
// fine).
Status replaceNeighbor(Socket& sock, int ifindex, const net::Ipv6Address& address,
                       const std::array<uint8_t, 6>& mac);
Status replaceNeighbor(Socket& sock, int ifindex, net::Ipv4Address address,
                       const std::array<uint8_t, 6>& mac);
Status deleteNeighbor(Socket& sock, int ifindex, const net::Ipv6Address& address);
Status deleteNeighbor(Socket& sock, int ifindex, net::Ipv4Address address);
std::string toString(nl_addr* address);  // "10.18.0.1/26"

// The link named `name`, or null if there is none.
Result<LinkPtr> findLink(Socket& sock, const std::string& name);

// Sets the MTU (when `mtu` > 0 and different) and brings the link up (when `up`).
Status changeLink(Socket& sock, rtnl_link* link, int mtu, bool up);

Status deleteLink(Socket& sock, rtnl_link* link);

// True iff the kernel reports `link` as of `kind` ("bridge", "veth", "tun").
bool isKind(rtnl_link* link, std::string_view kind);

// Creates a bridge; ok if an interface of that name appeared meanwhile (callers check its kind).
Status addBridge(Socket& sock, const std::string& name, int mtu);

// Makes `link` a port of `master`; nothing to do when it already is.
Status setMaster(Socket& sock, rtnl_link* link, rtnl_link* master);

// Addresses of one interface and family (AF_INET/AF_INET6), link-local IPv6 ones excluded.
Result<std::vector<AddrPtr>> addressesOf(Socket& sock, int ifindex, int family);

// Adds (or refreshes) an address; IPv6 addresses skip duplicate address detection, so that they
// are usable at once; IPv4 ones get the prefix's broadcast address.
Status addAddress(Socket& sock, rtnl_link* link, net::Ipv4Address address, int prefix_length);
Status addAddress(Socket& sock, rtnl_link* link, const net::Ipv6Address& address,
                  int prefix_length);
Status deleteAddress(Socket& sock, rtnl_link* link, nl_addr* address);

struct Route {
  AddrPtr destination;             // with its prefix length
  std::optional<AddrPtr> gateway;  // none: the destination is on the link
  std::optional<AddrPtr> preferred_source;
  // The gateway is reachable on `link` even though no prefix of the link contains it (a peer's
  // overlay address behind a VXLAN device).
  bool onlink = false;
};
// Adds or replaces a main-table route through `link`.
Status replaceRoute(Socket& sock, rtnl_link* link, const Route& route);
// Adds or replaces a main-table route that rejects traffic to `destination` with "No route to
// host" (either family).
Status replaceUnreachableRoute(Socket& sock, nl_addr* destination);
// Removes the main-table route to `destination` (through `link`, or of any kind and device when
// `link` is null); absent is fine.
Status deleteRoute(Socket& sock, rtnl_link* link, nl_addr* destination);

// A VXLAN device whose peers come only from FDB entries: no learning, no remote, no group.
struct VxlanConfig {
  std::string name;
  uint32_t vni = 0;            // below 2^24
  uint16_t port = 0;           // UDP port it listens on and sends to by default
  overlay::IpAddress local{};  // the underlay source address; its family is the underlay's
  int mtu = 0;                 // 0: the kernel's choice
  std::array<uint8_t, 6> mac{};
};
// Creates the device when absent. An existing VXLAN device with the same VNI, port and local
// address (and learning off) is kept (same ifindex); anything else of that name is deleted and
// replaced. Either way it ends up with `mac` and `mtu`, and up.
Status ensureVxlan(Socket& sock, const VxlanConfig& config);

// A permanent forwarding entry on the VXLAN device `ifindex`: frames for `mac` go to the
// underlay address `dst`, UDP port `port` (created or replaced). Its removal (absent is fine).
Status replaceFdb(Socket& sock, int ifindex, const std::array<uint8_t, 6>& mac,
                  const overlay::IpAddress& dst, uint16_t port);
Status deleteFdb(Socket& sock, int ifindex, const std::array<uint8_t, 6>& mac,
                 const overlay::IpAddress& dst);

// Interfaces enslaved to `master_ifindex` whose kind is `kind` ("veth"), by name.
Result<std::vector<std::string>> linksOf(Socket& sock, int master_ifindex, const std::string& kind);

// "oak0" or, when the kernel did not report a name, "ifindex 7".
std::string nameOf(rtnl_link* link);

}  // namespace oak::worker::nl
