#include "common/object_id.h"

#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace oak {
namespace {

struct ProcessRandom {
  uint64_t value;  // 5 bytes used
  std::atomic<uint32_t> counter;
  ProcessRandom() {
    std::random_device rd;
    value = (static_cast<uint64_t>(rd()) << 32 | rd()) & 0xffffffffffULL;
    counter = rd() & 0xffffff;
  }
};

ProcessRandom& processRandom() {
  static ProcessRandom r;
  return r;
}

}  // namespace

std::string newObjectId() {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto& r = processRandom();
  uint32_t c = r.counter.fetch_add(1) & 0xffffff;
  return fmt::format("{:08x}{:010x}{:06x}", static_cast<uint32_t>(secs), r.value, c);
}

bool isObjectId(std::string_view s) {
  if (s.size() != 24) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

boost::json::object oidJson(std::string_view hex) {
  boost::json::object o;
  o["$oid"] = hex;
  return o;
}

}  // namespace oak
