#include "common/clock.h"

namespace oak {

int64_t Clock::nowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
}

const Clock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace oak
