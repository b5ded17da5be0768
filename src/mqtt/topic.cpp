#include "mqtt/bus.h"

namespace oak::mqtt {
namespace {

// Walks the '/'-separated levels of a topic or filter without allocating.
class Levels {
 public:
  explicit Levels(std::string_view s) : rest_(s) {}
  bool more() const { return more_; }
  std::string_view next() {
    size_t slash = rest_.find('/');
    std::string_view level = rest_.substr(0, slash);
    if (slash == std::string_view::npos) {
      more_ = false;
      rest_ = {};
    } else {
      rest_.remove_prefix(slash + 1);
    }
    return level;
  }

 private:
  std::string_view rest_;
  bool more_ = true;
};

bool wildcardFree(std::string_view s) {
  return s.find_first_of("+#") == std::string_view::npos;
}

}  // namespace

bool validFilter(std::string_view pattern) {
  if (pattern.empty()) return false;
  Levels p(pattern);
  while (p.more()) {
    std::string_view level = p.next();
    if (level.size() > 1 && !wildcardFree(level)) return false;
    if (level == "#" && p.more()) return false;
  }
  return true;
}

bool topicMatches(std::string_view pattern, std::string_view topic) {
  if (topic.empty() || !wildcardFree(topic) || !validFilter(pattern)) return false;
  if (topic.front() == '$' && !wildcardFree(pattern.substr(0, 1))) return false;
  Levels p(pattern);
  Levels t(topic);
  while (p.more()) {
    std::string_view level = p.next();
    if (level == "#") return true;
    if (!t.more()) return false;
    std::string_view actual = t.next();
    if (level != "+" && level != actual) return false;
  }
  return !t.more();
}

}  // namespace oak::mqtt
