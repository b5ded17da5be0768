#pragma once
// Ships a daemon's records up the hierarchy in batches: a worker to its cluster over MQTT, a
// cluster (its own records and its workers') to the root over the root link. `flush` sends what
// is new since the last batch the transport took; while the transport is down records wait in
// the buffer, and those the ring dropped in the meantime are reported as `missed`.

#include <cstdint>
#include <functional>
#include <string>

#include "logs/log_buffer.h"

namespace oak::logs {

struct ForwarderOptions {
  Level min_level = Level::kInfo;
  size_t max_batch_records = 500;
  size_t max_batch_bytes = 256 * 1024;
  // Batches per flush, so that a backlog drains without holding up the event loop for long.
  size_t max_batches_per_flush = 8;
};

class LogForwarder {
 public:
  // `send` delivers one batch (JSON text); false when it cannot now (nothing is lost then).
  using Send = std::function<bool(const Batch& batch)>;

  LogForwarder(const LogBuffer& buffer, ForwarderOptions options, Send send);

  // Starts after what the buffer holds now: a forwarder started late does not replay history.
  void skipExisting();
  void flush();

  uint64_t forwarded() const { return forwarded_; }
  uint64_t missed() const { return missed_; }

 private:
  const LogBuffer& buffer_;
  ForwarderOptions options_;
  Send send_;
  uint64_t sent_up_to_ = 0;
  uint64_t forwarded_ = 0;
  uint64_t missed_ = 0;
};

}  // namespace oak::logs
