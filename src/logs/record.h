#pragma once
// Control-plane log records: the lines root, clusters and workers log about themselves (not the
// services' output). Each daemon keeps its recent records; workers forward theirs to the cluster,
// clusters forward theirs and their workers' to the root, which serves them at GET /api/logs.
//
// On the wire (MQTT and the root link) a record is
//   {"time":"<RFC 3339, 9 digits>Z","level":"warn","component":"worker","node":"w1",
//    "cluster":"c1","msg":"..."}
// and a batch is {"records":[...],"missed":N} (N: records the sender lost to a full buffer).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace oak::logs {

// spdlog's levels, in order.
enum class Level : int { kTrace = 0, kDebug, kInfo, kWarn, kError, kCritical };

std::string_view levelName(Level level);
// "trace", "debug", "info", "warn" (or "warning"), "error", "critical".
std::optional<Level> parseLevel(std::string_view name);

// The daemons that log: "root", "cluster", "worker".
bool validComponent(std::string_view component);

struct LogRecord {
  Clock::TimePoint time{};
  Level level = Level::kInfo;
  std::string component;
  std::string node;     // the daemon's name: "root", the cluster's or the worker's name
  std::string cluster;  // the cluster's name for cluster and worker records; "" for the root
  std::string msg;

  bool operator==(const LogRecord&) const = default;
};

// Longer messages are cut (at a UTF-8 boundary) when a record is made or read.
inline constexpr size_t kMaxMessageBytes = 8 * 1024;
inline constexpr size_t kMaxNameBytes = 256;

boost::json::object toJson(const LogRecord& r);
// Validates every field; the message names the first bad one.
Result<LogRecord> recordFromJson(const boost::json::value& v);

struct Batch {
  std::vector<LogRecord> records;
  uint64_t missed = 0;
};

boost::json::object toJson(const Batch& b);
// At most `max_records` records; a bad record fails the whole batch.
Result<Batch> batchFromJson(const boost::json::object& o, size_t max_records);

}  // namespace oak::logs
