#pragma once
// Non-first fragments carry no ports, so they cannot be matched to a flow. The first fragment's
// decision is remembered here under (family, protocol, source, destination, identification) and
// applied to the rest of the datagram. Small, fixed and direct-mapped: a collision only costs the
// older datagram.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "overlay/address.h"
#include "overlay/packet.h"

namespace oak::overlay {

struct FragmentAction {
  std::optional<IpAddress> source{};       // new source, if rewritten
  std::optional<IpAddress> destination{};  // new destination, if rewritten
  bool to_peer = false;                    // else to the TUN device
  TunnelEndpoint peer{};
};

class FragmentCache {
 public:
  static constexpr size_t kSlots = 256;
  // Linux gives up reassembling after 30 s (net.ipv4.ipfrag_time); so do we.
  static constexpr std::chrono::seconds kLifetime{30};

  // Called with the first fragment, before it is rewritten.
  void remember(const Packet& first, const FragmentAction& action, Clock::TimePoint now);
  // The action for a later fragment, or nullptr.
  const FragmentAction* find(const Packet& later, Clock::TimePoint now) const;

 private:
  struct Key {
    IpAddress source;
    IpAddress destination;
    uint32_t id = 0;
    uint8_t protocol = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Entry {
    Key key;
    FragmentAction action;
    Clock::TimePoint expires;
    bool used = false;
  };
  static Key keyOf(const Packet& p);
  static size_t slotOf(const Key& k);

  std::array<Entry, kSlots> entries_{};
};

}  // namespace oak::overlay
