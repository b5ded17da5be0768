#include "bench_util.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <thread>

namespace oak::bench {

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

bool pollUntil(std::chrono::milliseconds timeout, std::chrono::milliseconds step,
               const std::function<bool()>& cond) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
  return {v.front(), at(0.5), at(0.9), v.back()};
}

std::string readTrimmed(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string local(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace oak::bench
