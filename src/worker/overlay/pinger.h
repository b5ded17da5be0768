#pragma once
// ICMP echo to other workers' underlay addresses, for the round trip the "closest" policy ranks
// workers by. The kernel of the other worker answers, so nothing needs to listen there and no
// port needs to be open beyond what ping needs. A raw socket (the worker runs as root), filtered
// to echo replies; each request carries its send time, so replies need no bookkeeping.

#include <cstdint>
#include <functional>

#include "common/result.h"
#include "common/unique_fd.h"
#include "overlay/address.h"

namespace oak::worker {

class Pinger {
 public:
  // `ipv6`: the family of the underlay. `identifier` tells our replies from other programs'.
  static Result<Pinger> open(bool ipv6, uint16_t identifier);

  int fd() const { return fd_.get(); }
  // Best effort: an unreachable peer simply never answers.
  void send(const overlay::IpAddress& to, uint16_t sequence, uint64_t sent_us);
  // Every echo reply to our identifier waiting in the socket: its sender and its send time.
  void receive(const std::function<void(const overlay::IpAddress& from, uint64_t sent_us)>& reply);

 private:
  Pinger(UniqueFd fd, bool ipv6, uint16_t identifier)
      : fd_(std::move(fd)), ipv6_(ipv6), identifier_(identifier) {}
  UniqueFd fd_;
  bool ipv6_ = false;
  uint16_t identifier_ = 0;
};

}  // namespace oak::worker
