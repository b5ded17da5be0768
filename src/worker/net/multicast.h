#pragma once
// IPv6 solicited-node multicast membership (RFC 4291 §2.7.1). The kernel joins an address's group
// in deferred work that needs the RTNL lock; until it runs, neighbor solicitations for the
// address are dropped. Instance set-up waits for the join, so that an attached instance can be
// resolved at once even while the lock is contended (namespaces created and deleted around it).

#include <chrono>
#include <string>
#include <string_view>

#include "net/ip.h"

namespace oak::worker {

// The group of `address` as /proc/net/igmp6 spells it: 32 lower-case hex digits.
std::string solicitedNodeGroup(const net::Ipv6Address& address);
// Whether `igmp6` (the text of /proc/net/igmp6: index, interface, group, ...) lists `group` on
// `ifname`.
bool igmp6Lists(std::string_view igmp6, std::string_view ifname, std::string_view group);
// Waits (polling this thread's namespace, up to `timeout`) until `ifname` has joined the
// solicited-node group of `address`; false on timeout.
bool awaitSolicitedNode(std::string_view ifname, const net::Ipv6Address& address,
                        std::chrono::milliseconds timeout);

}  // namespace oak::worker
