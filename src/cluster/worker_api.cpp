#include "cluster/worker_api.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "auth/password.h"
#include "common/json.h"

namespace oak::cluster {

namespace bj = boost::json;
using http::Method;

namespace {

Status checkToken(const http::Request& req, const std::string& expected) {
  OAK_ASSIGN_OR_RETURN(auto token, http::bearerToken(req));
  // The token is the only secret between a worker and the cluster.
  if (!auth::equalSecrets(token, expected)) {
    return makeError(ErrorCode::kUnauthenticated, "invalid worker token");
  }
  return {};
}

bool validWorkerName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

std::string hostOf(std::string_view host_header) {
  if (host_header.starts_with('['))
    return std::string(host_header.substr(1, host_header.find(']') - 1));
  return std::string(host_header.substr(0, host_header.rfind(':')));
}

http::Response reply(const Result<bj::value>& r) {
  return r ? http::jsonResponse(200, *r) : http::errorResponse(r.error());
}

}  // namespace

void addWorkerRoutes(http::Router& r, Orchestrator& orch, BrokerAccounts& broker,
                     WorkerApiConfig config) {
  r.add(Method::kPost, "/api/v1/workers/register",
        {"Register a worker (bearer: the cluster's worker token); returns its id and broker "
         "credentials",
         "workers", true, "", "", ""},
        [&orch, &broker, config](const http::Request& req) {
          return reply([&]() -> Result<bj::value> {
            OAK_TRY(checkToken(req, config.worker_token));
            OAK_ASSIGN_OR_RETURN(auto v, json::parse(req.body));
            if (!v.is_object())
              return makeError(ErrorCode::kUnprocessable, "body: must be a JSON object");
            auto name = json::getString(v.get_object(), "name").value_or("");
            if (!validWorkerName(name)) {
              return makeError(ErrorCode::kUnprocessable,
                               fmt::format("name: '{}' is not a valid worker name (1-64 letters, "
                                           "digits, '-', '_', '.')",
                                           name.substr(0, 64)));
            }
            OAK_ASSIGN_OR_RETURN(auto account, orch.registerWorker(name));
            std::string user = account.id;
            std::string password = account.password;
            if (config.shared_credentials) {
              std::tie(user, password) = *config.shared_credentials;
            } else {
              OAK_TRY(broker.addUser(user, password, "nodes/" + account.id));
            }
            std::string host =
                config.mqtt_host.empty() ? hostOf(req.header("host")) : config.mqtt_host;
            return bj::object{{"worker_id", account.id},
                              {"name", name},
                              {"lease_seconds", config.lease.count()},
                              {"mqtt", bj::object{{"host", host},
                                                  {"port", config.mqtt_port},
                                                  {"username", user},
                                                  {"password", password}}}};
          }());
        });
  r.add(Method::kGet, "/api/v1/resources/workers",
        {"Capacity and capabilities of every worker (bearer: the worker token)", "workers", true,
         "", "", ""},
        [&orch, config](const http::Request& req) {
          return reply([&]() -> Result<bj::value> {
            OAK_TRY(checkToken(req, config.worker_token));
            return orch.workerResources();
          }());
        });
  r.add(Method::kGet, "/api/v1/instances",
        {"Instances this cluster holds (bearer: the worker token)", "workers", true, "", "", ""},
        [&orch, config](const http::Request& req) {
          return reply([&]() -> Result<bj::value> {
            OAK_TRY(checkToken(req, config.worker_token));
            return orch.instances();
          }());
        });
  r.add(Method::kGet, "/healthz", {"Liveness probe", "meta", false, "", "", ""},
        [](const http::Request&) {
          return http::jsonResponse(200, bj::object{{"status", "ok"}});
        });
}

}  // namespace oak::cluster
