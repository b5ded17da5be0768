#include "worker/net/netlink.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/nexthop.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <variant>

namespace oak::worker::nl {

struct Socket::State {
  std::unique_ptr<nl_sock, Deleter> sock;
  int error = 0;            // errno of the kernel's last error answer
  std::string ext_message;  // its extended ack message, if any
};

namespace {

using CachePtr = std::unique_ptr<nl_cache, Deleter>;
using RoutePtr = std::unique_ptr<rtnl_route, Deleter>;
using NeighborPtr = std::unique_ptr<rtnl_neigh, Deleter>;

// The kernel's explanation attached to an error (NLMSGERR_ATTR_MSG), if it sent one.
std::string extendedMessage(const nlmsgerr* e) {
  const auto* header =
      reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
  if (!(header->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(header->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
  offset = NLMSG_ALIGN(offset);
  const char* base = reinterpret_cast<const char*>(header);
  while (offset + NLA_HDRLEN <= header->nlmsg_len) {
    const auto* attr = reinterpret_cast<const nlattr*>(base + offset);
    if (attr->nla_len < NLA_HDRLEN || offset + attr->nla_len > header->nlmsg_len) break;
    if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* text = base + offset + NLA_HDRLEN;
      return std::string(text, strnlen(text, attr->nla_len - NLA_HDRLEN));
    }
    offset += NLA_ALIGN(attr->nla_len);
  }
  return "";
}

int onKernelError(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* state = static_cast<Socket::State*>(arg);
  state->error = -e->error;
  state->ext_message = extendedMessage(e);
  return NL_STOP;  // libnl then reports the error as usual
}

ErrorCode codeFor(int error) {
  switch (error) {
    case EEXIST:
      return ErrorCode::kConflict;
    case ENODEV:
    case ENOENT:
      return ErrorCode::kNotFound;
    default:
      return ErrorCode::kInternal;
  }
}

AddrPtr buildAddr(int family, const void* bytes, size_t size, int prefix_length) {
  AddrPtr addr(nl_addr_build(family, bytes, size));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefix_length);
  return addr;
}

AddrPtr macAddr(const std::array<uint8_t, 6>& mac) {
  return AddrPtr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
}

// True when the kernel answered "no such entry" (routes: ESRCH, neighbours and FDB: ENOENT).
bool wasAbsent(const Socket& sock) {
  return sock.kernelErrno() == ENOENT || sock.kernelErrno() == ESRCH;
}

Status addLocalAddress(Socket& sock, rtnl_link* link, nl_addr* local, nl_addr* broadcast) {
  std::unique_ptr<rtnl_addr, Deleter> addr(rtnl_addr_alloc());
  if (!addr || !local) return makeError(ErrorCode::kInternal, "add address: out of memory");
  rtnl_addr_set_link(addr.get(), link);
  rtnl_addr_set_local(addr.get(), local);
  if (broadcast) rtnl_addr_set_broadcast(addr.get(), broadcast);
  if (nl_addr_get_family(local) == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  return sock.check(rtnl_addr_add(sock.get(), addr.get(), NLM_F_REPLACE),
                    "add address " + toString(local) + " to " + nameOf(link));
}

}  // namespace

Socket::Socket(std::unique_ptr<State> state) : state_(std::move(state)) {}
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

Result<Socket> Socket::open() {
  auto state = std::make_unique<State>();
  state->sock.reset(nl_socket_alloc());
  if (!state->sock) return makeError(ErrorCode::kInternal, "netlink: out of memory");
  if (int rc = nl_connect(state->sock.get(), NETLINK_ROUTE); rc < 0) {
    return makeError(ErrorCode::kInternal, std::string("open netlink socket: ") + nl_geterror(rc));
  }
  // Best effort: kernels without these options still answer with plain errnos.
  const int one = 1;
  const int fd = nl_socket_get_fd(state->sock.get());
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  nl_socket_modify_err_cb(state->sock.get(), NL_CB_CUSTOM, onKernelError, state.get());
  return Socket(std::move(state));
}

nl_sock* Socket::get() {
  state_->error = 0;
  state_->ext_message.clear();
  return state_->sock.get();
}

int Socket::kernelErrno() const {
  return state_->error;
}

Status Socket::check(int rc, const std::string& what) {
  if (rc >= 0) return {};
  std::string reason = state_->error != 0 ? std::strerror(state_->error) : nl_geterror(rc);
  if (!state_->ext_message.empty()) reason += " (" + state_->ext_message + ")";
  return makeError(codeFor(state_->error), what + ": " + reason);
}

AddrPtr toNlAddr(net::Ipv4Address address, int prefix_length) {
  const auto octets = address.octets();
  return buildAddr(AF_INET, octets.data(), octets.size(), prefix_length);
}

AddrPtr toNlAddr(const net::Ipv6Address& address, int prefix_length) {
  return buildAddr(AF_INET6, address.bytes().data(), address.bytes().size(), prefix_length);
}

AddrPtr toNlAddr(const overlay::IpAddress& address) {
  return std::visit([](const auto& a) { return toNlAddr(a); }, address);
}

std::string toString(nl_addr* address) {
  char buffer[INET6_ADDRSTRLEN + 8];
  return nl_addr2str(address, buffer, sizeof(buffer));
}

std::string nameOf(rtnl_link* link) {
  const char* name = rtnl_link_get_name(link);
  return name ? std::string(name) : "ifindex " + std::to_string(rtnl_link_get_ifindex(link));
}

Result<LinkPtr> findLink(Socket& sock, const std::string& name) {
  rtnl_link* link = nullptr;
  const int rc = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &link);
  if (rc >= 0) return LinkPtr(link);
  if (sock.kernelErrno() == ENODEV || rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) {
    return LinkPtr();
  }
  OAK_TRY(sock.check(rc, "look up interface " + name));
  return LinkPtr();
}

Status changeLink(Socket& sock, rtnl_link* link, int mtu, bool up) {
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return makeError(ErrorCode::kInternal, "change link: out of memory");
  std::string what;
  if (mtu > 0 && static_cast<unsigned>(mtu) != rtnl_link_get_mtu(link)) {
    rtnl_link_set_mtu(changes.get(), static_cast<unsigned>(mtu));
    what = "set mtu " + std::to_string(mtu);
  }
  if (up && !(rtnl_link_get_flags(link) & IFF_UP)) {
    rtnl_link_set_flags(changes.get(), IFF_UP);
    what += what.empty() ? "bring up" : " and bring up";
  }
  if (what.empty()) return {};
  return sock.check(rtnl_link_change(sock.get(), link, changes.get(), 0),
                    what + " " + nameOf(link));
}

Status deleteLink(Socket& sock, rtnl_link* link) {
  return sock.check(rtnl_link_delete(sock.get(), link), "delete interface " + nameOf(link));
}

bool isKind(rtnl_link* link, std::string_view kind) {
  const char* type = rtnl_link_get_type(link);
  return type != nullptr && kind == type;
}

Status addBridge(Socket& sock, const std::string& name, int mtu) {
  LinkPtr link(rtnl_link_alloc());
  if (!link || rtnl_link_set_type(link.get(), "bridge") < 0) {
    return makeError(ErrorCode::kInternal, "create bridge " + name + ": no bridge support");
  }
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_mtu(link.get(), static_cast<unsigned>(mtu));
  const int rc = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc < 0 && sock.kernelErrno() == EEXIST) return {};
  return sock.check(rc, "create bridge " + name);
}

Status setMaster(Socket& sock, rtnl_link* link, rtnl_link* master) {
  const int master_ifindex = rtnl_link_get_ifindex(master);
  if (rtnl_link_get_master(link) == master_ifindex) return {};
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return makeError(ErrorCode::kInternal, "change link: out of memory");
  rtnl_link_set_master(changes.get(), master_ifindex);
  return sock.check(rtnl_link_change(sock.get(), link, changes.get(), 0),
                    "add " + nameOf(link) + " to bridge " + nameOf(master));
}

Result<std::vector<AddrPtr>> addressesOf(Socket& sock, int ifindex, int family) {
  nl_cache* raw = nullptr;
  OAK_TRY(sock.check(rtnl_addr_alloc_cache(sock.get(), &raw), "list addresses"));
  CachePtr cache(raw);
  std::vector<AddrPtr> found;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != family) continue;
    if (family == AF_INET6 && rtnl_addr_get_scope(addr) == RT_SCOPE_LINK) continue;
    if (nl_addr* local = rtnl_addr_get_local(addr)) found.emplace_back(nl_addr_get(local));
  }
  return found;
}

Status addAddress(Socket& sock, rtnl_link* link, net::Ipv4Address address, int prefix_length) {
  const net::Ipv4Prefix prefix(address, prefix_length);
  AddrPtr broadcast = prefix_length < 31 ? toNlAddr(prefix.last()) : AddrPtr();
  return addLocalAddress(sock, link, toNlAddr(address, prefix_length).get(), broadcast.get());
}

Status addAddress(Socket& sock, rtnl_link* link, const net::Ipv6Address& address,
                  int prefix_length) {
  return addLocalAddress(sock, link, toNlAddr(address, prefix_length).get(), nullptr);
}

Status deleteAddress(Socket& sock, rtnl_link* link, nl_addr* address) {
  std::unique_ptr<rtnl_addr, Deleter> addr(rtnl_addr_alloc());
  if (!addr) return makeError(ErrorCode::kInternal, "delete address: out of memory");
  rtnl_addr_set_link(addr.get(), link);
  rtnl_addr_set_local(addr.get(), address);
  return sock.check(rtnl_addr_delete(sock.get(), addr.get(), 0),
                    "remove address " + toString(address) + " from " + nameOf(link));
}

namespace {

// A main-table route of `type` to `destination`, with nothing else set.
RoutePtr newRoute(nl_addr* destination, uint8_t type) {
  RoutePtr r(rtnl_route_alloc());
  if (!r || !destination) return nullptr;
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(nl_addr_get_family(destination)));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_type(r.get(), type);
  rtnl_route_set_dst(r.get(), destination);
  return r;
}

std::string routeName(nl_addr* destination) {
  return nl_addr_get_prefixlen(destination) == 0 ? "default" : toString(destination);
}

// Attaches a next hop through `link`; the route owns it from here on.
rtnl_nexthop* addHop(rtnl_route* route, rtnl_link* link) {
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  if (!hop) return nullptr;
  rtnl_route_nh_set_ifindex(hop, rtnl_link_get_ifindex(link));
  rtnl_route_add_nexthop(route, hop);
  return hop;
}

}  // namespace

Status replaceRoute(Socket& sock, rtnl_link* link, const Route& route) {
  RoutePtr r = newRoute(route.destination.get(), RTN_UNICAST);
  rtnl_nexthop* hop = r ? addHop(r.get(), link) : nullptr;
  if (!hop) return makeError(ErrorCode::kInternal, "add route: out of memory");
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_scope(r.get(), route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  if (route.preferred_source) rtnl_route_set_pref_src(r.get(), route.preferred_source->get());
  if (route.gateway) rtnl_route_nh_set_gateway(hop, route.gateway->get());
  // libnl moves the flags of a route's only hop into the header, where the kernel looks.
  if (route.onlink) rtnl_route_nh_set_flags(hop, RTNH_F_ONLINK);

  std::string what = "add route " + routeName(route.destination.get());
  if (route.gateway) what += " via " + toString(route.gateway->get());
  what += " dev " + nameOf(link);
  if (route.onlink) what += " onlink";
  return sock.check(rtnl_route_add(sock.get(), r.get(), NLM_F_REPLACE), what);
}

Status replaceUnreachableRoute(Socket& sock, nl_addr* destination) {
  RoutePtr r = newRoute(destination, RTN_UNREACHABLE);
  if (!r) return makeError(ErrorCode::kInternal, "add route: out of memory");
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
  return sock.check(rtnl_route_add(sock.get(), r.get(), NLM_F_REPLACE),
                    "add route unreachable " + routeName(destination));
}

Status deleteRoute(Socket& sock, rtnl_link* link, nl_addr* destination) {
  // Unspecified type and protocol and scope "nowhere" match whatever the route has.
  RoutePtr r = newRoute(destination, RTN_UNSPEC);
  if (!r || (link && !addHop(r.get(), link))) {
    return makeError(ErrorCode::kInternal, "delete route: out of memory");
  }
  rtnl_route_set_protocol(r.get(), RTPROT_UNSPEC);
  rtnl_route_set_scope(r.get(), RT_SCOPE_NOWHERE);
  const int rc = rtnl_route_delete(sock.get(), r.get(), 0);
  if (rc < 0 && wasAbsent(sock)) return {};
  std::string what = "delete route " + routeName(destination);
  if (link) what += " dev " + nameOf(link);
  return sock.check(rc, what);
}

namespace {

// A neighbour (or, for AF_BRIDGE, FDB) entry on `ifindex`; null when out of memory. Without
// `lladdr` it names an entry for deletion, which the kernel finds by `dst` alone.
NeighborPtr neighborOf(int family, int ifindex, nl_addr* dst, nl_addr* lladdr) {
  NeighborPtr n(rtnl_neigh_alloc());
  if (!n || !dst) return nullptr;
  rtnl_neigh_set_ifindex(n.get(), ifindex);
  // libnl refuses a destination whose family differs from one set before: family last.
  rtnl_neigh_set_dst(n.get(), dst);
  rtnl_neigh_set_family(n.get(), family);
  if (lladdr) rtnl_neigh_set_lladdr(n.get(), lladdr);
  return n;
}

Status replaceIpNeighbor(Socket& sock, int ifindex, const AddrPtr& address,
                         const std::array<uint8_t, 6>& mac) {
  AddrPtr lladdr = macAddr(mac);
  const int family = address ? nl_addr_get_family(address.get()) : AF_UNSPEC;
  auto n = neighborOf(family, ifindex, address.get(), lladdr.get());
  if (!n || !lladdr) return makeError(ErrorCode::kInternal, "add neighbour: out of memory");
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  return sock.check(rtnl_neigh_add(sock.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE),
                    "add neighbour " + toString(address.get()));
}

// Removes `n` (a neighbour or FDB entry); absent is fine.
Status deleteEntry(Socket& sock, rtnl_neigh* n, const std::string& what) {
  const int rc = rtnl_neigh_delete(sock.get(), n, 0);
  if (rc < 0 && wasAbsent(sock)) return {};
  return sock.check(rc, what);
}

Status deleteIpNeighbor(Socket& sock, int ifindex, const AddrPtr& address) {
  const int family = address ? nl_addr_get_family(address.get()) : AF_UNSPEC;
  auto n = neighborOf(family, ifindex, address.get(), nullptr);
  if (!n) return makeError(ErrorCode::kInternal, "delete neighbour: out of memory");
  return deleteEntry(sock, n.get(), "delete neighbour " + toString(address.get()));
}

}  // namespace

Status replaceNeighbor(Socket& sock, int ifindex, const net::Ipv6Address& address,
                       const std::array<uint8_t, 6>& mac) {
  return replaceIpNeighbor(sock, ifindex, toNlAddr(address), mac);
}

Status replaceNeighbor(Socket& sock, int ifindex, net::Ipv4Address address,
                       const std::array<uint8_t, 6>& mac) {
  return replaceIpNeighbor(sock, ifindex, toNlAddr(address), mac);
}

Status deleteNeighbor(Socket& sock, int ifindex, const net::Ipv6Address& address) {
  return deleteIpNeighbor(sock, ifindex, toNlAddr(address));
}

Status deleteNeighbor(Socket& sock, int ifindex, net::Ipv4Address address) {
  return deleteIpNeighbor(sock, ifindex, toNlAddr(address));
}

namespace {

// The FDB entry `mac` -> `dst` of the device `ifindex` itself (not of a bridge it is a port of).
NeighborPtr fdbEntry(int ifindex, const AddrPtr& mac, const AddrPtr& dst) {
  auto n = neighborOf(AF_BRIDGE, ifindex, dst.get(), mac.get());
  if (n) rtnl_neigh_set_flags(n.get(), NTF_SELF);
  return n;
}

std::string fdbName(const AddrPtr& mac, const AddrPtr& dst) {
  return "fdb entry " + toString(mac.get()) + " dst " + toString(dst.get());
}

}  // namespace

Status replaceFdb(Socket& sock, int ifindex, const std::array<uint8_t, 6>& mac,
                  const overlay::IpAddress& dst, uint16_t port) {
  AddrPtr lladdr = macAddr(mac);
  AddrPtr remote = toNlAddr(dst);
  auto n = fdbEntry(ifindex, lladdr, remote);
  if (!n || !lladdr) return makeError(ErrorCode::kInternal, "add fdb entry: out of memory");
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  // libnl has no NDA_PORT: build its request and append the attribute (network byte order).
  const std::string what = "add " + fdbName(lladdr, remote) + " port " + std::to_string(port);
  nl_msg* msg = nullptr;
  const int built = rtnl_neigh_build_add_request(n.get(), NLM_F_CREATE | NLM_F_REPLACE, &msg);
  if (built < 0) return makeError(ErrorCode::kInternal, what + ": " + nl_geterror(built));
  if (nla_put_u16(msg, NDA_PORT, htons(port)) < 0) {
    nlmsg_free(msg);
    return makeError(ErrorCode::kInternal, what + ": message too long");
  }
  return sock.check(nl_send_sync(sock.get(), msg), what);  // frees msg
}

Status deleteFdb(Socket& sock, int ifindex, const std::array<uint8_t, 6>& mac,
                 const overlay::IpAddress& dst) {
  AddrPtr lladdr = macAddr(mac);
  AddrPtr remote = toNlAddr(dst);
  auto n = fdbEntry(ifindex, lladdr, remote);
  if (!n || !lladdr) return makeError(ErrorCode::kInternal, "delete fdb entry: out of memory");
  return deleteEntry(sock, n.get(), "delete " + fdbName(lladdr, remote));
}

namespace {

// True iff `link` is a VXLAN device as `config` describes (the MAC and MTU aside).
bool isVxlanLike(rtnl_link* link, const VxlanConfig& config, nl_addr* local) {
  if (!isKind(link, "vxlan")) return false;
  uint32_t vni = 0;
  uint32_t port = 0;
  nl_addr* raw_local = nullptr;
  if (rtnl_link_vxlan_get_id(link, &vni) < 0 || rtnl_link_vxlan_get_port(link, &port) < 0 ||
      rtnl_link_vxlan_get_local(link, &raw_local) < 0) {
    return false;
  }
  AddrPtr current(raw_local);
  return vni == config.vni && port == config.port && nl_addr_cmp(current.get(), local) == 0 &&
         rtnl_link_vxlan_get_learning(link) == 0;
}

Status addVxlan(Socket& sock, const VxlanConfig& config, nl_addr* local, nl_addr* mac) {
  const std::string what = "create vxlan " + config.name;
  LinkPtr link(rtnl_link_vxlan_alloc());
  if (!link) return makeError(ErrorCode::kInternal, what + ": out of memory");
  rtnl_link_set_name(link.get(), config.name.c_str());
  if (config.mtu > 0) rtnl_link_set_mtu(link.get(), static_cast<unsigned>(config.mtu));
  rtnl_link_set_addr(link.get(), mac);
  if (rtnl_link_vxlan_set_id(link.get(), config.vni) < 0 ||
      rtnl_link_vxlan_set_port(link.get(), config.port) < 0 ||
      rtnl_link_vxlan_set_local(link.get(), local) < 0 ||
      rtnl_link_vxlan_set_learning(link.get(), 0) < 0) {
    return makeError(ErrorCode::kInternal, what + ": libnl refused the settings");
  }
  return sock.check(rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL), what);
}

Status setMac(Socket& sock, rtnl_link* link, nl_addr* mac) {
  nl_addr* current = rtnl_link_get_addr(link);
  if (current && nl_addr_cmp(current, mac) == 0) return {};
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return makeError(ErrorCode::kInternal, "change link: out of memory");
  rtnl_link_set_addr(changes.get(), mac);
  return sock.check(rtnl_link_change(sock.get(), link, changes.get(), 0),
                    "set address " + toString(mac) + " of " + nameOf(link));
}

}  // namespace

Status ensureVxlan(Socket& sock, const VxlanConfig& config) {
  if (config.name.empty() || config.name.size() >= IFNAMSIZ) {
    return makeError(ErrorCode::kInvalidArgument, "vxlan name: 1 to 15 characters");
  }
  if (config.vni >= (1u << 24)) {
    return makeError(ErrorCode::kInvalidArgument, "vxlan vni: must be below 2^24");
  }
  if (config.port == 0) return makeError(ErrorCode::kInvalidArgument, "vxlan port: must be set");
  AddrPtr local = toNlAddr(config.local);
  AddrPtr mac = macAddr(config.mac);
  if (!local || !mac) return makeError(ErrorCode::kInternal, "vxlan: out of memory");

  OAK_ASSIGN_OR_RETURN(LinkPtr link, findLink(sock, config.name));
  if (link && !isVxlanLike(link.get(), config, local.get())) {
    OAK_TRY(deleteLink(sock, link.get()));
    link.reset();
  }
  if (!link) {
    OAK_TRY(addVxlan(sock, config, local.get(), mac.get()));
    OAK_ASSIGN_OR_RETURN(link, findLink(sock, config.name));
    if (!link) {
      return makeError(ErrorCode::kInternal, "vxlan " + config.name + ": gone after creation");
    }
  }
  OAK_TRY(setMac(sock, link.get(), mac.get()));
  return changeLink(sock, link.get(), config.mtu, true);
}

Result<std::vector<std::string>> linksOf(Socket& sock, int master_ifindex,
                                         const std::string& kind) {
  nl_cache* raw = nullptr;
  OAK_TRY(sock.check(rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw), "list interfaces"));
  CachePtr cache(raw);
  std::vector<std::string> names;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    const char* type = rtnl_link_get_type(link);
    if (rtnl_link_get_master(link) == master_ifindex && type && kind == type) {
      names.push_back(nameOf(link));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace oak::worker::nl
