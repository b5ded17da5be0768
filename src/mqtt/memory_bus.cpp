#include "mqtt/memory_bus.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "http/event_loop.h"

namespace oak::mqtt {
namespace detail {

struct Endpoint {
  std::string id;
  bool connected = false;
  bool detached = false;  // its client was destroyed
  std::vector<std::pair<std::string, int>> subscriptions;
  std::deque<Message> outbox;
  std::function<void(const Message&)> on_message;
  std::function<void(bool)> on_connection;

  bool wants(const std::string& topic) const {
    return std::any_of(subscriptions.begin(), subscriptions.end(),
                       [&](const auto& s) { return topicMatches(s.first, topic); });
  }
};

struct MemoryHub {
  EventLoop* loop = nullptr;
  size_t max_queued = 1000;
  bool closed = false;  // the broker object is gone
  std::map<std::string, std::weak_ptr<Endpoint>> clients;
  std::set<std::string> rejected;
  std::deque<std::function<void()>> pending;
  std::vector<Message> log;
  uint64_t dropped = 0;

  void schedule(std::function<void()> fn) {
    if (loop) {
      loop->post(std::move(fn));
    } else {
      pending.push_back(std::move(fn));
    }
  }

  std::shared_ptr<Endpoint> find(const std::string& id) const {
    auto it = clients.find(id);
    return it == clients.end() ? nullptr : it->second.lock();
  }

  void route(const Message& m) {
    log.push_back(m);
    for (const auto& [id, weak] : clients) {
      auto ep = weak.lock();
      if (!ep || !ep->connected || !ep->wants(m.topic)) continue;
      schedule([weak = std::weak_ptr<Endpoint>(ep), m] {
        auto e = weak.lock();
        if (!e || !e->connected || e->detached) return;
        if (auto cb = e->on_message) cb(m);
      });
    }
  }

  void setState(const std::shared_ptr<Endpoint>& ep, bool up) {
    if (up && (closed || rejected.count(ep->id) > 0)) up = false;
    if (ep->connected == up) return;
    ep->connected = up;
    schedule([weak = std::weak_ptr<Endpoint>(ep), up] {
      auto e = weak.lock();
      if (!e || e->detached) return;
      if (auto cb = e->on_connection) cb(up);
    });
    while (up && !ep->outbox.empty()) {
      route(ep->outbox.front());
      ep->outbox.pop_front();
    }
  }
};

}  // namespace detail

namespace {

using detail::Endpoint;
using detail::MemoryHub;

class InMemoryClient final : public MessageBus {
 public:
  InMemoryClient(std::shared_ptr<MemoryHub> hub, std::shared_ptr<Endpoint> ep)
      : hub_(std::move(hub)), ep_(std::move(ep)) {}
  ~InMemoryClient() override {
    ep_->detached = true;
    ep_->connected = false;
    ep_->on_message = nullptr;
    ep_->on_connection = nullptr;
    auto it = hub_->clients.find(ep_->id);
    if (it != hub_->clients.end() && it->second.lock() == ep_) hub_->clients.erase(it);
  }

  void publish(const std::string& topic, std::string payload, int qos) override {
    if (topic.empty() || topic.find_first_of("+#") != std::string::npos || qos < 0 || qos > 2) {
      spdlog::error("mqtt (memory): dropped an invalid publish to '{}'", topic);
      return;
    }
    Message m{topic, std::move(payload)};
    if (ep_->connected) {
      hub_->route(m);
      return;
    }
    if (ep_->outbox.size() >= hub_->max_queued) {
      ep_->outbox.pop_front();
      ++hub_->dropped;
      spdlog::warn("mqtt (memory): offline queue of '{}' full; dropped the oldest", ep_->id);
    }
    ep_->outbox.push_back(std::move(m));
  }

  void subscribe(const std::string& pattern, int qos) override {
    if (!validFilter(pattern)) {
      spdlog::error("mqtt (memory): ignored an invalid subscription '{}'", pattern);
      return;
    }
    auto& subs = ep_->subscriptions;
    auto it =
        std::find_if(subs.begin(), subs.end(), [&](const auto& s) { return s.first == pattern; });
    if (it != subs.end()) {
      it->second = qos;
    } else {
      subs.emplace_back(pattern, qos);
    }
  }

  void onMessage(std::function<void(const Message&)> cb) override {
    ep_->on_message = std::move(cb);
  }
  void onConnectionChange(std::function<void(bool)> cb) override {
    ep_->on_connection = std::move(cb);
  }
  bool connected() const override { return ep_->connected; }

 private:
  std::shared_ptr<MemoryHub> hub_;
  std::shared_ptr<Endpoint> ep_;
};

}  // namespace

InMemoryBroker::InMemoryBroker(EventLoop* loop, size_t max_queued)
    : hub_(std::make_shared<MemoryHub>()) {
  hub_->loop = loop;
  hub_->max_queued = max_queued == 0 ? 1 : max_queued;
}

InMemoryBroker::~InMemoryBroker() {
  hub_->closed = true;
  for (const auto& [id, weak] : hub_->clients) {
    if (auto ep = weak.lock()) hub_->setState(ep, false);
  }
}

std::unique_ptr<MessageBus> InMemoryBroker::connect(const std::string& client_id) {
  if (auto previous = hub_->find(client_id)) hub_->setState(previous, false);
  auto ep = std::make_shared<Endpoint>();
  ep->id = client_id;
  hub_->clients[client_id] = ep;
  hub_->setState(ep, true);
  return std::make_unique<InMemoryClient>(hub_, ep);
}

void InMemoryBroker::setConnected(const std::string& client_id, bool connected) {
  if (auto ep = hub_->find(client_id)) hub_->setState(ep, connected);
}

void InMemoryBroker::setRejected(const std::string& client_id, bool rejected) {
  if (rejected) {
    hub_->rejected.insert(client_id);
  } else {
    hub_->rejected.erase(client_id);
  }
  if (auto ep = hub_->find(client_id)) hub_->setState(ep, !rejected);
}

bool InMemoryBroker::isConnected(const std::string& client_id) const {
  auto ep = hub_->find(client_id);
  return ep && ep->connected;
}

size_t InMemoryBroker::deliverAll() {
  size_t n = 0;
  while (!hub_->pending.empty()) {
    auto fn = std::move(hub_->pending.front());
    hub_->pending.pop_front();
    fn();
    ++n;
  }
  return n;
}

const std::vector<Message>& InMemoryBroker::published() const {
  return hub_->log;
}

uint64_t InMemoryBroker::droppedMessages() const {
  return hub_->dropped;
}

}  // namespace oak::mqtt
