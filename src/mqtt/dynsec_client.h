#pragma once
// Account changes through mosquitto's dynamic security plugin, sent over a MessageBus whose
// account may use the plugin's control topic (the cluster's own connection). Nothing is reloaded:
// the broker applies a change when it reads the command, and answers.
//
// One request is in flight at a time; what callers ask for meanwhile goes out together in the
// next request (the plugin takes a list of commands), up to `max_batch` commands. The plugin
// rewrites its whole account file after every command (~30 ms of the broker's loop with 10,000
// accounts), so a long batch would stall the broker for every client: batches stay short, and the
// broker serves other clients between requests. A request the broker does not answer within
// `timeout` fails with kUnavailable — its commands may or may not have been applied, so callers
// retry idempotently (`setPassword` does).
//
// Loop-bound: call everything on the thread that delivers the bus's messages. The owner routes
// bus messages to `handle` and calls `tick` periodically (the bus has one message callback).

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "mqtt/bus.h"
#include "mqtt/dynsec.h"

namespace oak::mqtt {

class DynsecClient {
 public:
  struct Options {
    std::chrono::milliseconds timeout{10'000};
    size_t max_batch = 10;
  };
  using Responses = Result<std::vector<dynsec::Response>>;

  // Subscribes to the plugin's response topic.
  DynsecClient(MessageBus& bus, const Clock& clock, Options options);
  DynsecClient(const DynsecClient&) = delete;
  DynsecClient& operator=(const DynsecClient&) = delete;

  // True when `m` is on the plugin's response topic (consumed, whoever it answers).
  bool handle(const Message& m);
  // Fails the request in flight once its time is up.
  void tick();

  // Runs `commands` in order in one request; `done` gets one response per command.
  void run(std::vector<boost::json::object> commands, std::function<void(Responses)> done);

  // Gives `username` this password, creating the account (bound to `client_id` if not empty)
  // when it does not exist. `likely_new` picks the command tried first; the other one follows
  // when the plugin says the account does (not) exist. Names and passwords that
  // validateUsername/validatePassword refuse fail at once with kInvalidArgument.
  void setPassword(const std::string& username, const std::string& password,
                   const std::string& client_id, bool likely_new, std::function<void(Status)> done);
  // Deletes the account (and its live sessions); an unknown account is not an error.
  void remove(const std::string& username, std::function<void(Status)> done);

  // Commands waiting or in flight.
  size_t pending() const;

 private:
  struct Job {
    std::vector<boost::json::object> commands;
    std::function<void(Responses)> done;
    std::vector<dynsec::Response> responses;
  };
  struct Request {
    std::vector<std::shared_ptr<Job>> jobs;
    std::map<std::string, std::pair<Job*, size_t>> ids;  // correlationData → command
    size_t unanswered = 0;
    Clock::TimePoint deadline;
  };

  void sendNext();
  void finish(std::optional<Error> failure);

  MessageBus& bus_;
  const Clock& clock_;
  Options options_;
  std::string prefix_;  // tells this client's correlation ids from other admins'
  uint64_t sequence_ = 0;
  std::deque<std::shared_ptr<Job>> queue_;
  std::optional<Request> in_flight_;
};

}  // namespace oak::mqtt
