#include "overlay/fragment_cache.h"

namespace oak::overlay {

FragmentCache::Key FragmentCache::keyOf(const Packet& p) {
  return Key{p.source(), p.destination(), p.fragment_id, p.protocol};
}

size_t FragmentCache::slotOf(const Key& k) {
  const size_t h = std::hash<IpAddress>{}(k.source) ^ (std::hash<IpAddress>{}(k.destination) * 31);
  return (h ^ (k.id * 0x9e3779b9u) ^ k.protocol) % kSlots;
}

void FragmentCache::remember(const Packet& first, const FragmentAction& action,
                             Clock::TimePoint now) {
  const Key key = keyOf(first);
  entries_[slotOf(key)] = Entry{key, action, now + kLifetime, true};
}

const FragmentAction* FragmentCache::find(const Packet& later, Clock::TimePoint now) const {
  const Key key = keyOf(later);
  const Entry& e = entries_[slotOf(key)];
  if (!e.used || now >= e.expires || !(e.key == key)) return nullptr;
  return &e.action;
}

}  // namespace oak::overlay
