#pragma once
// The recent control-plane records of a daemon, in memory: a bounded ring (the oldest record
// goes when it is full) with a sequence number per record, so readers can resume where they
// stopped and know how many they missed. Thread-safe: spdlog appends from any thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "logs/record.h"

namespace oak::logs {

struct LogFilter {
  std::string component;  // "" = any
  std::string node;
  std::string cluster;
  Level min_level = Level::kTrace;
  Clock::TimePoint since{};  // records at or after this time

  bool matches(const LogRecord& r) const;
};

struct LogPage {
  std::vector<LogRecord> records;  // oldest first
  uint64_t next = 0;               // the sequence to read after next time
  uint64_t missed = 0;             // records after the given sequence that the ring had dropped
};

// What a record costs on the wire, roughly.
size_t recordBytes(const LogRecord& r);

class LogBuffer {
 public:
  explicit LogBuffer(size_t capacity);

  // Runs for every appended record, under the buffer's lock (keep it short; no logging).
  void onAppend(std::function<void(const LogRecord&)> fn);

  // Returns the record's sequence number (1, 2, ...).
  uint64_t append(LogRecord r);
  // Matching records with a sequence above `after`, oldest first, at most `limit` and about
  // `max_bytes` (`recordBytes` each; at least one record).
  LogPage readAfter(uint64_t after, const LogFilter& filter, size_t limit,
                    size_t max_bytes = SIZE_MAX) const;
  // The newest `limit` matching records, oldest first; `next` is the newest sequence.
  LogPage tail(const LogFilter& filter, size_t limit) const;
  // How many matching records there are.
  size_t count(const LogFilter& filter) const;
  // Calls `fn` with every matching record, oldest first, under the lock (keep it short).
  void visit(const LogFilter& filter, const std::function<void(const LogRecord&)>& fn) const;

  uint64_t lastSequence() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<LogRecord> records_;
  uint64_t first_ = 1;  // the sequence of records_.front()
  std::function<void(const LogRecord&)> on_append_;
};

}  // namespace oak::logs
