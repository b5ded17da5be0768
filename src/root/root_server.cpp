#include "root/root_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/host_port.h"
#include "http/router.h"
#include "http/server.h"
#include "logs/archive.h"
#include "logs/capture.h"
#include "logs/log_metrics.h"
#include "metrics/http_metrics.h"
#include "metrics/process_metrics.h"
#include "root/accounts.h"
#include "root/alert_inputs.h"
#include "root/alerts.h"
#include "root/api/routes.h"
#include "root/api/web_routes.h"
#include "root/applications.h"
#include "root/cluster_registry.h"
#include "root/log_requests.h"
#include "root/root_metrics.h"
#include "root/scheduler.h"
#include "root/service_addresses.h"
#include "root/service_routes.h"
#include "store/sqlite_store.h"

namespace oak::root {

namespace {
constexpr std::chrono::seconds kAlertEvaluation{2};
}  // namespace

struct RootServer::Impl {
  metrics::Registry metrics;  // first: collectors read the members below
  std::unique_ptr<RootMetrics> root_metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<auth::TokenService> tokens;
  std::unique_ptr<RootContext> ctx;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<ServiceAddresses> addresses;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Applications> applications;
  std::unique_ptr<ClusterRegistry> clusters;
  std::shared_ptr<LogRequests> logs;
  std::unique_ptr<ServiceRoutes> routes;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::shared_ptr<logs::LogBuffer> control_logs;
  std::unique_ptr<Alerts> alerts;
  std::unique_ptr<EventLoop::Periodic> ticker;
  std::unique_ptr<EventLoop::Periodic> alert_ticker;
};

Result<std::shared_ptr<logs::LogBuffer>> openControlLog(const std::string& data_dir) {
  OAK_TRY(files::ensureDirectory(data_dir + "/logs", 0700));
  OAK_ASSIGN_OR_RETURN(auto log,
                       logs::openArchivedLog({data_dir + "/logs/control.log"}, kControlLogRecords));
  return log.buffer;
}

RootServer::RootServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RootServer::~RootServer() = default;

Result<std::unique_ptr<RootServer>> RootServer::create(const RootOptions& options, EventLoop& loop,
                                                       Deps deps) {
  OAK_ASSIGN_OR_RETURN(auto listen, parseHostPort(options.listen, "--listen"));
  OAK_TRY(files::ensureDirectory(options.data_dir, 0700));
  auto impl = std::make_unique<Impl>();

  store::SqliteStore::Options so;
  so.path = options.data_dir + "/root.db";
  so.indexes = {{coll::kUsers, "name"},
                {coll::kOrganizations, "name"},
                {coll::kApplications, "userId"},
                {coll::kApplications, "application_name"},
                {coll::kServices, "applicationID"},
                {coll::kServices, "job_name"},
                {coll::kClusters, "cluster_name"},
                {coll::kAddresses, "worker"},
                {coll::kAddresses, "cluster_id"}};
  OAK_ASSIGN_OR_RETURN(impl->store, store::SqliteStore::open(so));

  OAK_ASSIGN_OR_RETURN(auto key, auth::loadOrCreateKey(options.data_dir + "/jwt-signing-key"));
  OAK_ASSIGN_OR_RETURN(
      impl->tokens, auth::TokenService::create(
                        key, *deps.clock, {options.access_token_ttl, options.refresh_token_ttl}));

  OAK_ASSIGN_OR_RETURN(auto cluster_token,
                       auth::loadOrCreateKey(options.data_dir + "/cluster-token"));
  impl->ctx.reset(new RootContext{*impl->store, *deps.clock, loop, *impl->tokens,
                                  deps.password_cost, cluster_token});
  auto& ctx = *impl->ctx;
  impl->accounts = std::make_unique<Accounts>(ctx);
  impl->addresses = std::make_unique<ServiceAddresses>(ctx);
  impl->scheduler = std::make_unique<Scheduler>(ctx);
  impl->applications = std::make_unique<Applications>(ctx, *impl->scheduler);
  impl->clusters = std::make_unique<ClusterRegistry>(ctx);
  ctx.clusters = impl->clusters.get();
  impl->logs = std::make_shared<LogRequests>(
      *deps.clock, [clusters = impl->clusters.get()](const std::string& id, std::string text) {
        return clusters->send(id, std::move(text));
      });
  ctx.logs = impl->logs.get();
  impl->routes = std::make_unique<ServiceRoutes>(ctx);
  ctx.routes = impl->routes.get();
  ctx.accounts = impl->accounts.get();
  impl->control_logs = deps.control_logs;
  if (!impl->control_logs) {
    OAK_ASSIGN_OR_RETURN(impl->control_logs, openControlLog(options.data_dir));
  }
  ctx.control_logs = impl->control_logs.get();
  impl->alerts = std::make_unique<Alerts>(*deps.clock);
  ctx.alerts = impl->alerts.get();
  ctx.addresses = impl->addresses.get();
  ctx.applications = impl->applications.get();
  impl->root_metrics = std::make_unique<RootMetrics>(impl->metrics);
  ctx.metrics = impl->root_metrics.get();
  OAK_TRY(impl->accounts->bootstrap());

  auto& r = impl->router;
  api::addAuthRoutes(r, ctx);
  api::addUserRoutes(r, ctx);
  api::addOrganizationRoutes(r, ctx);
  api::addApplicationRoutes(r, ctx);
  api::addServiceRoutes(r, ctx);
  api::addLogRoutes(r, ctx);
  api::addControlLogRoutes(r, ctx);
  api::addAlertRoutes(r, ctx);
  api::addClusterRoutes(r, ctx);
  api::addClusterAdminRoutes(r, ctx);
  api::addClusterLinkRoute(r, ctx);
  api::addNetRoutes(r, ctx);
  api::addDocRoutes(r);
  metrics::addProcessMetrics(impl->metrics, "root");
  addRootCollector(impl->metrics, ctx);
  logs::addControlLogCollector(impl->metrics, [clusters = impl->clusters.get()] {
    return std::map<std::string, uint64_t>{{"received", clusters->controlLogsReceived()},
                                           {"rejected", clusters->controlLogsRejected()}};
  });
  metrics::observeRequests(r, impl->metrics);
  metrics::addMetricsEndpoint(r, impl->metrics, {options.metrics_token});
  api::addWebRoutes(r, api::embeddedWebAssets());

  http::ServerOptions http_opts;
  http_opts.host = listen.first;
  http_opts.port = listen.second;
  http_opts.max_body_bytes = options.max_body_bytes;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(loop, http_opts, r));
  impl->ticker = loop.every(std::chrono::seconds(1), [logs = impl->logs.get()] { logs->tick(); });
  impl->alert_ticker =
      loop.every(kAlertEvaluation, [&ctx] { ctx.alerts->evaluate(gatherAlertInputs(ctx)); });
  return std::unique_ptr<RootServer>(new RootServer(std::move(impl)));
}

uint16_t RootServer::port() const {
  return impl_->server->port();
}

void RootServer::stop() {
  impl_->ticker.reset();
  impl_->alert_ticker.reset();
  impl_->server->stop();
}

int runRoot(const RootOptions& options) {
  if (auto s = files::ensureDirectory(options.data_dir, 0700); !s) {
    spdlog::critical("cannot start the root orchestrator: {}", s.error().message);
    return 1;
  }
  auto control_logs = openControlLog(options.data_dir);
  if (!control_logs) {
    spdlog::critical("cannot start the root orchestrator: {}", control_logs.error().message);
    return 1;
  }
  logs::captureLogs(*control_logs, {"root", "root", ""});
  EventLoop loop(2);
  RootServer::Deps deps;
  deps.control_logs = *control_logs;
  auto root = RootServer::create(options, loop, deps);
  if (!root) {
    spdlog::critical("cannot start the root orchestrator: {}", root.error().message);
    return 1;
  }
  spdlog::info("root orchestrator listening on {} (port {}), data in {}", options.listen,
               (*root)->port(), options.data_dir);
  loop.onTerminate([&](int sig) {
    spdlog::info("signal {}: shutting down", sig);
    (*root)->stop();
    loop.stop();
  });
  loop.run();
  return 0;
}

}  // namespace oak::root
