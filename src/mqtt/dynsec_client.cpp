#include "mqtt/dynsec_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "mqtt/broker_config.h"

namespace oak::mqtt {

namespace {

std::string randomPrefix() {
  std::random_device rd;
  return fmt::format("oak-{:08x}{:08x}", rd(), rd());
}

Status outcome(const DynsecClient::Responses& r, const std::string& username) {
  if (!r) return r.error();
  if (r->size() != 1) {
    return makeError(ErrorCode::kInternal, "dynamic security: unexpected number of responses");
  }
  const auto& resp = r->front();
  if (resp.error.empty()) return {};
  return makeError(ErrorCode::kInternal, fmt::format("the broker refused {} for '{}': {}",
                                                     resp.command, username, resp.error));
}

}  // namespace

DynsecClient::DynsecClient(MessageBus& bus, const Clock& clock, Options options)
    : bus_(bus), clock_(clock), options_(options), prefix_(randomPrefix()) {
  bus_.subscribe(std::string(dynsec::kResponseTopic), 1);
}

bool DynsecClient::handle(const Message& m) {
  if (m.topic != dynsec::kResponseTopic) return false;
  if (!in_flight_) return true;
  auto responses = dynsec::decodeResponses(m.payload);
  if (!responses) {
    spdlog::warn("dynamic security: unreadable response: {}", responses.error().message);
    return true;
  }
  for (auto& r : *responses) {
    auto it = in_flight_->ids.find(r.correlation);
    if (it == in_flight_->ids.end()) continue;  // another admin's, or an expired request's
    auto [job, index] = it->second;
    job->responses[index] = std::move(r);
    in_flight_->ids.erase(it);
    --in_flight_->unanswered;
  }
  if (in_flight_->unanswered == 0) finish(std::nullopt);
  return true;
}

void DynsecClient::tick() {
  if (!in_flight_ || clock_.now() < in_flight_->deadline) return;
  spdlog::warn("dynamic security: no answer from the broker within {} ms",
               options_.timeout.count());
  finish(makeError(ErrorCode::kUnavailable,
                   fmt::format("the broker did not confirm the account change within {} ms",
                               options_.timeout.count())));
}

void DynsecClient::run(std::vector<boost::json::object> commands,
                       std::function<void(Responses)> done) {
  auto job = std::make_shared<Job>();
  job->commands = std::move(commands);
  job->done = std::move(done);
  job->responses.resize(job->commands.size());
  queue_.push_back(std::move(job));
  if (!in_flight_) sendNext();
}

void DynsecClient::sendNext() {
  if (in_flight_ || queue_.empty()) return;
  Request req;
  std::vector<boost::json::object> commands;
  while (!queue_.empty()) {
    auto& job = queue_.front();
    if (!commands.empty() && commands.size() + job->commands.size() > options_.max_batch) break;
    for (size_t i = 0; i < job->commands.size(); ++i) {
      std::string id = fmt::format("{}-{}", prefix_, ++sequence_);
      boost::json::object c = job->commands[i];
      c["correlationData"] = id;
      commands.push_back(std::move(c));
      req.ids.emplace(std::move(id), std::pair{job.get(), i});
    }
    req.jobs.push_back(std::move(job));
    queue_.pop_front();
  }
  req.unanswered = req.ids.size();
  req.deadline = clock_.now() + options_.timeout;
  in_flight_ = std::move(req);
  if (in_flight_->unanswered == 0) return finish(std::nullopt);  // only empty jobs
  bus_.publish(std::string(dynsec::kControlTopic), dynsec::encodeRequest(commands), 1);
}

// Completes every job of the request in flight (with its responses, or with `failure`), then
// sends what queued up meanwhile. Callbacks may call `run`.
void DynsecClient::finish(std::optional<Error> failure) {
  auto jobs = std::move(in_flight_->jobs);
  in_flight_.reset();
  for (auto& job : jobs) {
    if (failure) {
      job->done(*failure);
    } else {
      job->done(std::move(job->responses));
    }
  }
  sendNext();
}

void DynsecClient::setPassword(const std::string& username, const std::string& password,
                               const std::string& client_id, bool likely_new,
                               std::function<void(Status)> done) {
  // A user name with '/' or a wildcard would widen the `%u` ACL patterns.
  if (auto valid = validateUsername(username); !valid) return done(valid.error());
  if (auto valid = validatePassword(password); !valid) return done(valid.error());
  auto first = likely_new ? dynsec::createClient(username, password, client_id)
                          : dynsec::setClientPassword(username, password);
  run({std::move(first)}, [this, username, password, client_id, likely_new,
                           done = std::move(done)](Responses r) mutable {
    bool other_way =
        r && r->size() == 1 &&
        r->front().error == (likely_new ? dynsec::kClientExists : dynsec::kClientNotFound);
    if (!other_way) return done(outcome(r, username));
    auto second = likely_new ? dynsec::setClientPassword(username, password)
                             : dynsec::createClient(username, password, client_id);
    run({std::move(second)},
        [username, done = std::move(done)](Responses r2) { done(outcome(r2, username)); });
  });
}

void DynsecClient::remove(const std::string& username, std::function<void(Status)> done) {
  run({dynsec::deleteClient(username)}, [username, done = std::move(done)](Responses r) {
    if (r && r->size() == 1 && r->front().error == dynsec::kClientNotFound) return done({});
    done(outcome(r, username));
  });
}

size_t DynsecClient::pending() const {
  size_t n = in_flight_ ? in_flight_->ids.size() : 0;
  for (const auto& job : queue_) n += job->commands.size();
  return n;
}

}  // namespace oak::mqtt
