#include "logs/record.h"

#include <fmt/format.h>

#include <array>

#include "common/json.h"
#include "common/text.h"

namespace oak::logs {

namespace bj = boost::json;

namespace {

constexpr std::array<std::string_view, 6> kLevelNames = {"trace", "debug", "info",
                                                         "warn",  "error", "critical"};

Result<std::string> field(const bj::object& o, std::string_view key, size_t max, bool required) {
  const auto* s = json::findString(o, key);
  if (s == nullptr) {
    if (!required && !o.contains(key)) return std::string();
    return makeError(ErrorCode::kInvalidArgument, fmt::format("record.{}: expected a string", key));
  }
  if (s->size() > max) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("record.{}: longer than {} bytes", key, max));
  }
  return std::string(*s);
}

}  // namespace

std::string_view levelName(Level level) {
  return kLevelNames[static_cast<size_t>(level)];
}

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "warning") return Level::kWarn;
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == name) return static_cast<Level>(i);
  }
  return std::nullopt;
}

bool validComponent(std::string_view component) {
  return component == "root" || component == "cluster" || component == "worker";
}

bj::object toJson(const LogRecord& r) {
  return bj::object{{"time", formatTimestamp(r.time)},
                    {"level", levelName(r.level)},
                    {"component", r.component},
                    {"node", r.node},
                    {"cluster", r.cluster},
                    {"msg", r.msg}};
}

Result<LogRecord> recordFromJson(const bj::value& v) {
  if (!v.is_object()) {
    return makeError(ErrorCode::kInvalidArgument, "record: expected an object");
  }
  const auto& o = v.get_object();
  LogRecord r;
  OAK_ASSIGN_OR_RETURN(auto time, field(o, "time", 64, true));
  auto t = parseTimestamp(time);
  if (!t) {
    return makeError(ErrorCode::kInvalidArgument,
                     "record.time: expected an RFC 3339 UTC timestamp");
  }
  r.time = *t;
  OAK_ASSIGN_OR_RETURN(auto level, field(o, "level", 16, true));
  auto l = parseLevel(level);
  if (!l) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("record.level: '{}' is not a log level", level));
  }
  r.level = *l;
  OAK_ASSIGN_OR_RETURN(r.component, field(o, "component", kMaxNameBytes, true));
  if (!validComponent(r.component)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "record.component: expected root, cluster or worker");
  }
  OAK_ASSIGN_OR_RETURN(r.node, field(o, "node", kMaxNameBytes, false));
  OAK_ASSIGN_OR_RETURN(r.cluster, field(o, "cluster", kMaxNameBytes, false));
  // A sender may cut less than we do; cut again rather than refuse its batch.
  OAK_ASSIGN_OR_RETURN(auto msg, field(o, "msg", SIZE_MAX, true));
  msg.resize(utf8Prefix(msg, kMaxMessageBytes));
  r.msg = sanitizeUtf8(msg);
  r.node = sanitizeUtf8(r.node);
  r.cluster = sanitizeUtf8(r.cluster);
  return r;
}

bj::object toJson(const Batch& b) {
  bj::array records;
  records.reserve(b.records.size());
  for (const auto& r : b.records) records.push_back(toJson(r));
  return bj::object{{"records", std::move(records)}, {"missed", b.missed}};
}

Result<Batch> batchFromJson(const bj::object& o, size_t max_records) {
  const auto* records = json::findArray(o, "records");
  if (records == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "records: expected an array");
  }
  if (records->size() > max_records) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("records: more than {} in one batch", max_records));
  }
  Batch b;
  if (auto missed = json::getInt(o, "missed"); missed && *missed > 0) {
    b.missed = static_cast<uint64_t>(*missed);
  }
  b.records.reserve(records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    auto r = recordFromJson((*records)[i]);
    if (!r) {
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("records[{}]: {}", i, r.error().message));
    }
    b.records.push_back(std::move(*r));
  }
  return b;
}

}  // namespace oak::logs
