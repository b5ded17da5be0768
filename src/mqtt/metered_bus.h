#pragma once
// A MessageBus that counts the traffic of another: messages and payload bytes per direction and
// topic (oakestra_mqtt_messages_total, oakestra_mqtt_payload_bytes_total) and whether it is
// connected (oakestra_mqtt_connected). Worker ids in topics become "+" ("nodes/+/job"), so the
// series do not grow with the workers. Components are handed the metered bus instead of the
// client; it registers its own message and connection callbacks on the inner bus, so use only
// the metered one for those. Runs on the event loop thread, like the bus.

#include <map>
#include <string>

#include "metrics/metrics.h"
#include "mqtt/bus.h"

namespace oak::mqtt {

class MeteredBus final : public MessageBus {
 public:
  // `inner` and `registry` must outlive the metered bus.
  MeteredBus(MessageBus& inner, metrics::Registry& registry);
  ~MeteredBus() override;  // detaches from the inner bus
  MeteredBus(const MeteredBus&) = delete;
  MeteredBus& operator=(const MeteredBus&) = delete;

  void publish(const std::string& topic, std::string payload, int qos = 1) override;
  void subscribe(const std::string& pattern, int qos = 1) override;
  void onMessage(std::function<void(const Message&)> cb) override;
  void onConnectionChange(std::function<void(bool connected)> cb) override;
  bool connected() const override { return inner_.connected(); }

  // The topic label of a topic: "nodes/<id>/rest" → "nodes/+/rest".
  static std::string topicLabel(std::string_view topic);

 private:
  struct Series {
    metrics::Counter* messages = nullptr;
    metrics::Counter* bytes = nullptr;
  };
  void count(bool in, std::string_view topic, size_t bytes);

  MessageBus& inner_;
  metrics::Family<metrics::Counter>& messages_;
  metrics::Family<metrics::Counter>& bytes_;
  metrics::Gauge& connected_;
  // [direction: 0 out, 1 in][0: by whole topic, 1: nodes topics by what follows the id]
  std::map<std::string, Series, std::less<>> series_[2][2];
  Series other_[2];
  std::function<void(const Message&)> on_message_;
  std::function<void(bool)> on_connection_;
};

}  // namespace oak::mqtt
