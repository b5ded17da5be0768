#include "mqtt/metered_bus.h"

namespace oak::mqtt {

namespace {

// More distinct topics than this (per direction, for node topics and for the others) share the
// label "other": a peer publishing on made-up topics must not grow the series without bound.
constexpr size_t kMaxTopics = 64;

}  // namespace

MeteredBus::MeteredBus(MessageBus& inner, metrics::Registry& registry)
    : inner_(inner),
      messages_(registry.counter("oakestra_mqtt_messages_total",
                                 "MQTT messages sent (out) and received (in), by topic.",
                                 {"direction", "topic"})),
      bytes_(registry.counter("oakestra_mqtt_payload_bytes_total",
                              "Payload bytes of MQTT messages sent and received, by topic.",
                              {"direction", "topic"})),
      connected_(registry
                     .gauge("oakestra_mqtt_connected",
                            "1 while the connection to the MQTT broker is up, else 0.")
                     .get()) {
  connected_.set(inner_.connected() ? 1 : 0);
  inner_.onMessage([this](const Message& m) {
    count(true, m.topic, m.payload.size());
    if (on_message_) on_message_(m);
  });
  inner_.onConnectionChange([this](bool up) {
    connected_.set(up ? 1 : 0);
    if (on_connection_) on_connection_(up);
  });
}

MeteredBus::~MeteredBus() {
  inner_.onMessage(nullptr);
  inner_.onConnectionChange(nullptr);
}

std::string MeteredBus::topicLabel(std::string_view topic) {
  constexpr std::string_view kNodes = "nodes/";
  if (!topic.starts_with(kNodes)) return std::string(topic);
  size_t slash = topic.find('/', kNodes.size());
  if (slash == std::string_view::npos) return "nodes/+";
  return "nodes/+" + std::string(topic.substr(slash));
}

void MeteredBus::count(bool in, std::string_view topic, size_t bytes) {
  // Looked up without building the label: a message costs a map lookup and two atomic adds.
  std::string_view key = topic;
  bool nodes = topic.starts_with("nodes/");
  if (nodes) {
    size_t slash = topic.find('/', 6);
    key = slash == std::string_view::npos ? std::string_view() : topic.substr(slash);
  }
  auto& cache = series_[in][nodes];
  auto it = cache.find(key);
  Series* s = it != cache.end() ? &it->second : nullptr;
  if (s == nullptr) {
    std::string_view direction = in ? "in" : "out";
    if (cache.size() >= kMaxTopics) {
      s = &other_[in];
      if (s->messages == nullptr) {
        *s = {&messages_.labels({direction, "other"}), &bytes_.labels({direction, "other"})};
      }
    } else {
      std::string label = topicLabel(topic);
      Series made{&messages_.labels({direction, label}), &bytes_.labels({direction, label})};
      s = &cache.emplace(std::string(key), made).first->second;
    }
  }
  s->messages->inc();
  s->bytes->inc(static_cast<double>(bytes));
}

void MeteredBus::publish(const std::string& topic, std::string payload, int qos) {
  count(false, topic, payload.size());
  inner_.publish(topic, std::move(payload), qos);
}

void MeteredBus::subscribe(const std::string& pattern, int qos) {
  inner_.subscribe(pattern, qos);
}

void MeteredBus::onMessage(std::function<void(const Message&)> cb) {
  on_message_ = std::move(cb);
}

void MeteredBus::onConnectionChange(std::function<void(bool connected)> cb) {
  on_connection_ = std::move(cb);
}

}  // namespace oak::mqtt
