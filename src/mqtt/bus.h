#pragma once
// The MQTT side of cluster <-> worker communication, as components see it: one client connection
// that publishes, subscribes and reports connectivity. Production uses `MosquittoClient`; unit
// tests of components that speak MQTT use `InMemoryBroker` (src/mqtt/memory_bus.h).

#include <functional>
#include <string>
#include <string_view>

namespace oak::mqtt {

struct Message {
  std::string topic;
  std::string payload;  // arbitrary bytes
};

// One client connection. All callbacks are delivered on the EventLoop thread, never from inside a
// call to the bus itself, so a callback may publish or even destroy the bus.
class MessageBus {
 public:
  virtual ~MessageBus() = default;
  // Queued while disconnected (bounded queue: the oldest message is dropped, with a warning and a
  // counter) and sent in order after the next connect.
  virtual void publish(const std::string& topic, std::string payload, int qos = 1) = 0;
  // Kept and re-sent after every reconnect (sessions are clean).
  virtual void subscribe(const std::string& pattern, int qos = 1) = 0;
  virtual void onMessage(std::function<void(const Message&)> cb) = 0;
  virtual void onConnectionChange(std::function<void(bool connected)> cb) = 0;
  virtual bool connected() const = 0;
};

// MQTT topic filter matching: `+` is exactly one level, a trailing `#` is the parent level and
// everything below it; wildcards at the first level never match `$`-topics. Malformed filters
// (`a/#/b`, `a+`) and topics containing wildcards match nothing.
bool topicMatches(std::string_view pattern, std::string_view topic);

// Whether `pattern` is a well-formed subscription filter (non-empty, wildcards as whole levels,
// `#` last).
bool validFilter(std::string_view pattern);

}  // namespace oak::mqtt
