#include "worker/net/conntrack.h"

#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace oak::worker {

namespace {

struct Deleter {
  void operator()(nl_sock* p) const { nl_socket_free(p); }
  void operator()(nfnl_ct* p) const { nfnl_ct_put(p); }
};
using EntryPtr = std::unique_ptr<nfnl_ct, Deleter>;

struct Scan {
  std::span<const net::Ipv4Address> v4;
  std::span<const net::Ipv6Address> v6;
  std::vector<EntryPtr> matches;
};

bool isOneOf(nl_addr* address, const Scan& scan) {
  if (address == nullptr) return false;
  const void* bytes = nl_addr_get_binary_addr(address);
  const unsigned int size = nl_addr_get_len(address);
  if (nl_addr_get_family(address) == AF_INET && size == 4) {
    return std::any_of(scan.v4.begin(), scan.v4.end(), [&](net::Ipv4Address candidate) {
      return std::memcmp(candidate.octets().data(), bytes, 4) == 0;
    });
  }
  if (nl_addr_get_family(address) == AF_INET6 && size == 16) {
    return std::any_of(scan.v6.begin(), scan.v6.end(), [&](const net::Ipv6Address& candidate) {
      return std::memcmp(candidate.bytes().data(), bytes, 16) == 0;
    });
  }
  return false;
}

// Keeps the entries of the dump that match; the rest is freed at once.
int onEntry(nl_msg* message, void* arg) {
  auto* scan = static_cast<Scan*>(arg);
  nfnl_ct* parsed = nullptr;
  if (nfnlmsg_ct_parse(nlmsg_hdr(message), &parsed) < 0) return NL_SKIP;
  EntryPtr entry(parsed);
  if (isOneOf(nfnl_ct_get_src(entry.get(), /*repl=*/1), *scan)) {
    scan->matches.push_back(std::move(entry));
  }
  return NL_OK;
}

Error failure(const std::string& step, int nl_error) {
  return makeError(ErrorCode::kInternal,
                   fmt::format("conntrack: {}: {}", step, nl_geterror(nl_error)));
}

}  // namespace

Result<size_t> deleteFlowsTo(std::span<const net::Ipv4Address> v4,
                             std::span<const net::Ipv6Address> v6) {
  if (v4.empty() && v6.empty()) return size_t{0};
  std::unique_ptr<nl_sock, Deleter> sock(nl_socket_alloc());
  if (!sock) return makeError(ErrorCode::kInternal, "conntrack: out of memory");
  // Dump messages may exceed a page; peeking sizes the buffer to each.
  nl_socket_enable_msg_peek(sock.get());
  int rc = nl_connect(sock.get(), NETLINK_NETFILTER);
  if (rc < 0) return failure("connect", rc);

  // Collected first, deleted after: the socket cannot send requests in the middle of a dump.
  Scan scan{v4, v6, {}};
  nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, onEntry, &scan);
  rc = nfnl_ct_dump_request(sock.get());
  if (rc >= 0) rc = nl_recvmsgs_default(sock.get());
  if (rc < 0) return failure("list entries", rc);
  nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);

  size_t deleted = 0;
  for (const EntryPtr& entry : scan.matches) {
    // The request names the entry by its tuples, zone and id, so a newer entry that reuses the
    // tuple is left alone.
    rc = nfnl_ct_del(sock.get(), entry.get(), 0);
    if (rc == -NLE_OBJ_NOTFOUND) continue;  // expired or deleted meanwhile
    if (rc < 0) {
      char source[64];
      nl_addr2str(nfnl_ct_get_src(entry.get(), 1), source, sizeof(source));
      return failure(fmt::format("delete a flow to {}", source), rc);
    }
    ++deleted;
  }
  return deleted;
}

}  // namespace oak::worker
