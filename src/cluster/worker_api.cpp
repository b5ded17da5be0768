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

// The registration's account, once the checks passed.
struct Registered {
  Orchestrator::WorkerAccount account;
  std::string host;
};

Result<Registered> registerFrom(const http::Request& req, Orchestrator& orch,
                                const WorkerApiConfig& config) {
  OAK_TRY(checkToken(req, config.worker_token));
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(req.body));
  if (!v.is_object()) return makeError(ErrorCode::kUnprocessable, "body: must be a JSON object");
  auto name = json::getString(v.get_object(), "name").value_or("");
  if (!validWorkerName(name)) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("name: '{}' is not a valid worker name (1-64 letters, "
                                 "digits, '-', '_', '.')",
                                 name.substr(0, 64)));
  }
  OAK_ASSIGN_OR_RETURN(auto account, orch.registerWorker(name));
  std::string host = config.mqtt_host.empty() ? hostOf(req.header("host")) : config.mqtt_host;
  return Registered{std::move(account), std::move(host)};
}

bj::object registrationAnswer(const Registered& r, const WorkerApiConfig& config) {
  std::string user = r.account.id;
  std::string password = r.account.password;
  if (config.shared_credentials) std::tie(user, password) = *config.shared_credentials;
  return bj::object{{"worker_id", r.account.id},
                    {"name", r.account.name},
                    {"lease_seconds", config.lease.count()},
                    {"mqtt", bj::object{{"host", r.host},
                                        {"port", config.mqtt_port},
                                        {"username", user},
                                        {"password", password},
                                        {"client_id", workerClientId(r.account.id)}}}};
}

}  // namespace

std::string workerClientId(const std::string& worker_id) {
  return worker_id + "-ne";
}

std::vector<std::string> workerAclPatterns() {
  return {"read nodes/%u/#",
          "write nodes/%u/information",
          "write nodes/%u/heartbeat",
          "write nodes/%u/job",
          "write nodes/%u/jobs/resources",
          "write nodes/%u/leave",
          "write nodes/%u/logs/reply",
          "write nodes/%u/logs/control",
          "write nodes/%u/net/subnet",
          "write nodes/%u/net/tablequery/request",
          "write nodes/%u/net/interest/remove"};
}

void addWorkerRoutes(http::Router& r, Orchestrator& orch, BrokerAccounts& broker,
                     WorkerApiConfig config) {
  r.addAsync(Method::kPost, "/api/v1/workers/register",
             {"Register a worker (bearer: the cluster's worker token); returns its id and broker "
              "credentials once the broker accepts them",
              "workers", true, "", "", ""},
             [&orch, &broker, config](const http::Request& req, http::Responder respond) {
               auto joined = registerFrom(req, orch, config);
               if (!joined) return respond.send(http::errorResponse(joined.error()));
               if (config.shared_credentials) {
                 return respond.send(http::jsonResponse(200, registrationAnswer(*joined, config)));
               }
               const auto& a = joined->account;
               broker.setPassword(
                   a.id, a.password, workerClientId(a.id), a.created,
                   [respond, reg = *joined, config](Status s) {
                     respond.send(s ? http::jsonResponse(200, registrationAnswer(reg, config))
                                    : http::errorResponse(s.error()));
                   });
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
