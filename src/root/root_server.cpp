#include "root/root_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/host_port.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/http_metrics.h"
#include "metrics/process_metrics.h"
#include "root/accounts.h"
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
  std::unique_ptr<EventLoop::Periodic> ticker;
};

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
  api::addClusterRoutes(r, ctx);
  api::addClusterAdminRoutes(r, ctx);
  api::addClusterLinkRoute(r, ctx);
  api::addNetRoutes(r, ctx);
  api::addDocRoutes(r);
  metrics::addProcessMetrics(impl->metrics, "root");
  addRootCollector(impl->metrics, ctx);
  metrics::observeRequests(r, impl->metrics);
  metrics::addMetricsEndpoint(r, impl->metrics, {options.metrics_token});
  api::addWebRoutes(r, api::embeddedWebAssets());

  http::ServerOptions http_opts;
  http_opts.host = listen.first;
  http_opts.port = listen.second;
  http_opts.max_body_bytes = options.max_body_bytes;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(loop, http_opts, r));
  impl->ticker = loop.every(std::chrono::seconds(1), [logs = impl->logs.get()] { logs->tick(); });
  return std::unique_ptr<RootServer>(new RootServer(std::move(impl)));
}

uint16_t RootServer::port() const {
  return impl_->server->port();
}

void RootServer::stop() {
  impl_->ticker.reset();
  impl_->server->stop();
}

int runRoot(const RootOptions& options) {
  EventLoop loop(2);
  auto root = RootServer::create(options, loop, {});
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
