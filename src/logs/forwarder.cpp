#include "logs/forwarder.h"

namespace oak::logs {

LogForwarder::LogForwarder(const LogBuffer& buffer, ForwarderOptions options, Send send)
    : buffer_(buffer), options_(options), send_(std::move(send)) {}

void LogForwarder::skipExisting() {
  sent_up_to_ = buffer_.lastSequence();
}

void LogForwarder::flush() {
  LogFilter filter;
  filter.min_level = options_.min_level;
  for (size_t n = 0; n < options_.max_batches_per_flush; ++n) {
    auto page = buffer_.readAfter(sent_up_to_, filter, options_.max_batch_records,
                                  options_.max_batch_bytes);
    uint64_t next = page.next;
    if (page.records.empty() && page.missed == 0) {
      sent_up_to_ = next;
      return;
    }
    Batch batch{std::move(page.records), page.missed};
    if (!send_(batch)) return;
    forwarded_ += batch.records.size();
    missed_ += batch.missed;
    sent_up_to_ = next;
  }
}

}  // namespace oak::logs
