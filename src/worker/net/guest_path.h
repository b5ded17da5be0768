#pragma once
// The inside of a guest's namespace (HostNetwork::attachGuest): not an endpoint but a wire. Bridge
// br0 joins the instance's eth0 and a persistent TAP device tap0 that the guest's emulator opens;
// nothing there has an address, so the guest behind the TAP owns the instance's addresses. Both
// functions act on the network namespace of the calling thread (run them through runInNetns).

#include <netlink/route/link.h>

#include "common/result.h"
#include "worker/net/netlink.h"

namespace oak::worker {

// Creates what is missing (br0, tap0), enslaves eth0 and tap0, sets `mtu` on all three and brings
// them up; removes any address from eth0 and turns IPv6 off on the three, so that the namespace
// sends nothing of its own (no link-local addresses, router solicitations or DAD). Idempotent;
// a br0 or tap0 of another kind is kConflict.
Status buildGuestPath(nl::Socket& sock, rtnl_link* eth0, int mtu);

// Deletes tap0 and br0; ok if they are absent. Interfaces of those names but another kind stay.
Status removeGuestPath();

}  // namespace oak::worker
