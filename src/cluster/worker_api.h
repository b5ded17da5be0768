#pragma once
// The cluster's HTTP API for workers (port 10100): registration with the cluster's worker token,
// which hands out the worker's id and its own broker credentials, and the resource view of the
// workers (the cluster's resource abstractor).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/orchestrator.h"
#include "common/result.h"
#include "http/router.h"

namespace oak::cluster {

// Broker accounts, so that each worker gets credentials limited to its own topics.
class BrokerAccounts {
 public:
  virtual ~BrokerAccounts() = default;
  // Gives `user` this password, creating the account (bound to `client_id`) if it does not exist;
  // `likely_new` says which is expected. `done` runs on the loop once the broker applied the
  // change — the registration is answered only then — or with the reason it did not.
  virtual void setPassword(const std::string& user, const std::string& password,
                           const std::string& client_id, bool likely_new,
                           std::function<void(Status)> done) = 0;
};

// The MQTT client id a worker uses, which its account is bound to.
std::string workerClientId(const std::string& worker_id);

// What a worker's account may do on the broker (mosquitto ACL patterns, %u = the worker id):
// publish its reports and log replies, read everything addressed to it.
std::vector<std::string> workerAclPatterns();

struct WorkerApiConfig {
  std::string worker_token;
  std::string mqtt_host;  // empty: the host the worker used to reach this API
  uint16_t mqtt_port = 10003;
  std::chrono::seconds lease{30};
  // With an external broker (--mqtt-url) every worker gets these instead of its own account.
  std::optional<std::pair<std::string, std::string>> shared_credentials;
};

void addWorkerRoutes(http::Router& r, Orchestrator& orchestrator, BrokerAccounts& broker,
                     WorkerApiConfig config);

}  // namespace oak::cluster
