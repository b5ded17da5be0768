#pragma once
// An in-process MQTT hub for unit tests of components that speak MQTT. It routes with the same
// wildcard rules as the real broker and simulates what matters to a client: disconnects and
// reconnects (publishes queue, subscriptions survive) and refused credentials.
//
// Deliveries (messages and connection changes) never run inside the call that caused them:
// with an EventLoop they are posted to it; without one they wait until `deliverAll()`, which
// lets a test step through a conversation deterministically on its own thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/bus.h"

namespace oak {
class EventLoop;
}

namespace oak::mqtt {

namespace detail {
struct MemoryHub;
}

class InMemoryBroker {
 public:
  explicit InMemoryBroker(EventLoop* loop = nullptr, size_t max_queued = 1000);
  ~InMemoryBroker();
  InMemoryBroker(const InMemoryBroker&) = delete;
  InMemoryBroker& operator=(const InMemoryBroker&) = delete;

  // A new client, connected unless `client_id` is rejected. A second client with the same id
  // takes the session over: the first one is disconnected, as with a real broker.
  // Clients may outlive the broker (they then stay disconnected).
  std::unique_ptr<MessageBus> connect(const std::string& client_id);

  // Simulates losing and regaining the connection of a client.
  void setConnected(const std::string& client_id, bool connected);
  // Simulates refused credentials: a rejected client is disconnected and cannot connect; when
  // accepted again it connects (as a real client does on its next retry).
  void setRejected(const std::string& client_id, bool rejected);
  bool isConnected(const std::string& client_id) const;

  // Manual mode only: runs queued deliveries, including those they cause, until none is left.
  // Returns how many ran.
  size_t deliverAll();

  // Every message the broker accepted, in order (for assertions on what a component sent).
  const std::vector<Message>& published() const;
  // Publishes dropped from full offline queues, over all clients.
  uint64_t droppedMessages() const;

 private:
  std::shared_ptr<detail::MemoryHub> hub_;
};

}  // namespace oak::mqtt
