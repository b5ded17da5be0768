#pragma once
// The kernel's connection tracking table (ctnetlink, libnl-nf). A NAT binding lives as long as the
// conntrack entry of its flow: the flow's later packets keep their translation even after the
// rules changed, until the entry expires or is deleted.

#include <cstddef>
#include <span>

#include "common/result.h"
#include "net/ip.h"

namespace oak::worker {

// Deletes every conntrack entry (any protocol) in the calling thread's network namespace whose
// reply-direction source is one of `v4`/`v6`: the flows whose destination was translated to one of
// these addresses, or that went to it directly. Their next packets start new entries, so they meet
// the current NAT rules. Returns how many entries it deleted; entries that vanished meanwhile are
// not counted. Entries created while it runs may survive: remove the addresses from the NAT rules
// first. Blocks while it reads the whole table.
Result<size_t> deleteFlowsTo(std::span<const net::Ipv4Address> v4,
                             std::span<const net::Ipv6Address> v6);

}  // namespace oak::worker
