#include "logs/log_buffer.h"

#include <algorithm>

namespace oak::logs {

bool LogFilter::matches(const LogRecord& r) const {
  return r.level >= min_level && r.time >= since &&
         (component.empty() || r.component == component) && (node.empty() || r.node == node) &&
         (cluster.empty() || r.cluster == cluster);
}

LogBuffer::LogBuffer(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void LogBuffer::onAppend(std::function<void(const LogRecord&)> fn) {
  std::lock_guard lock(mu_);
  on_append_ = std::move(fn);
}

uint64_t LogBuffer::append(LogRecord r) {
  std::lock_guard lock(mu_);
  if (on_append_) on_append_(r);
  records_.push_back(std::move(r));
  if (records_.size() > capacity_) {
    records_.pop_front();
    ++first_;
  }
  return first_ + records_.size() - 1;
}

size_t recordBytes(const LogRecord& r) {
  return r.msg.size() + r.node.size() + r.cluster.size() + 96;
}

LogPage LogBuffer::readAfter(uint64_t after, const LogFilter& filter, size_t limit,
                             size_t max_bytes) const {
  std::lock_guard lock(mu_);
  LogPage page;
  uint64_t seq = std::max(after + 1, first_);
  page.missed = seq - (after + 1);
  size_t bytes = 0;
  for (; seq < first_ + records_.size() && page.records.size() < limit; ++seq) {
    const auto& r = records_[seq - first_];
    if (!filter.matches(r)) continue;
    bytes += recordBytes(r);
    if (bytes > max_bytes && !page.records.empty()) break;
    page.records.push_back(r);
  }
  page.next = seq - 1;
  return page;
}

LogPage LogBuffer::tail(const LogFilter& filter, size_t limit) const {
  std::lock_guard lock(mu_);
  LogPage page;
  page.next = first_ + records_.size() - 1;
  for (auto it = records_.rbegin(); it != records_.rend() && page.records.size() < limit; ++it) {
    if (filter.matches(*it)) page.records.push_back(*it);
  }
  std::reverse(page.records.begin(), page.records.end());
  return page;
}

size_t LogBuffer::count(const LogFilter& filter) const {
  size_t n = 0;
  visit(filter, [&n](const LogRecord&) { ++n; });
  return n;
}

void LogBuffer::visit(const LogFilter& filter,
                      const std::function<void(const LogRecord&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& r : records_) {
    if (filter.matches(r)) fn(r);
  }
}

uint64_t LogBuffer::lastSequence() const {
  std::lock_guard lock(mu_);
  return first_ + records_.size() - 1;
}

}  // namespace oak::logs
