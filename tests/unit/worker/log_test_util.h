#pragma once
// Helpers for the tests of instance logs: file contents and fixed points in time.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "worker/logs/log_format.h"

namespace oak::worker {

// 2023-11-14T22:13:20Z, SimulatedClock's default start.
inline Clock::TimePoint epochPlus(std::chrono::nanoseconds d = {}) {
  return Clock::TimePoint(std::chrono::seconds(1'700'000'000)) +
         std::chrono::duration_cast<Clock::TimePoint::duration>(d);
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void appendRaw(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << bytes;
}

// The line parts of a file's records.
inline std::vector<std::string> recordLines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::stringstream ss(slurp(p));
  for (std::string rec; std::getline(ss, rec);) {
    std::string_view line;
    splitRecord(rec, line);
    out.emplace_back(line);
  }
  return out;
}

inline std::vector<std::string> textOf(const std::vector<LogLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.line);
  return out;
}

}  // namespace oak::worker
