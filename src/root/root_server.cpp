#include "root/root_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/files.h"
#include "http/router.h"
#include "http/server.h"
#include "root/accounts.h"
#include "root/api/routes.h"
#include "root/applications.h"
#include "root/scheduler.h"
#include "root/service_addresses.h"
#include "store/sqlite_store.h"

namespace oak::root {

struct RootServer::Impl {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<auth::TokenService> tokens;
  std::unique_ptr<RootContext> ctx;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<ServiceAddresses> addresses;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Applications> applications;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
};

RootServer::RootServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RootServer::~RootServer() = default;

Result<std::pair<std::string, uint16_t>> parseListen(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return makeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: '{}' is not HOST:PORT (e.g. 0.0.0.0:10000 or [::]:10000)", flag, text));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint16_t port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || p != port_text.data() + port_text.size()) return bad();
  return std::pair<std::string, uint16_t>(std::string(host), port);
}

Result<std::unique_ptr<RootServer>> RootServer::create(const RootOptions& options, EventLoop& loop,
                                                       Deps deps) {
  OAK_ASSIGN_OR_RETURN(auto listen, parseListen(options.listen, "--listen"));
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
                {coll::kClusters, "cluster_name"}};
  OAK_ASSIGN_OR_RETURN(impl->store, store::SqliteStore::open(so));

  OAK_ASSIGN_OR_RETURN(auto key, auth::loadOrCreateKey(options.data_dir + "/jwt-signing-key"));
  OAK_ASSIGN_OR_RETURN(
      impl->tokens, auth::TokenService::create(
                        key, *deps.clock, {options.access_token_ttl, options.refresh_token_ttl}));

  impl->ctx.reset(
      new RootContext{*impl->store, *deps.clock, loop, *impl->tokens, deps.password_cost});
  auto& ctx = *impl->ctx;
  impl->accounts = std::make_unique<Accounts>(ctx);
  impl->addresses = std::make_unique<ServiceAddresses>(ctx);
  impl->scheduler = std::make_unique<Scheduler>(ctx);
  impl->applications = std::make_unique<Applications>(ctx, *impl->scheduler);
  ctx.accounts = impl->accounts.get();
  ctx.addresses = impl->addresses.get();
  ctx.applications = impl->applications.get();
  OAK_TRY(impl->accounts->bootstrap());

  auto& r = impl->router;
  api::addAuthRoutes(r, ctx);
  api::addUserRoutes(r, ctx);
  api::addOrganizationRoutes(r, ctx);
  api::addApplicationRoutes(r, ctx);
  api::addServiceRoutes(r, ctx);
  api::addClusterRoutes(r, ctx);
  api::addNetRoutes(r, ctx);
  api::addDocRoutes(r);

  http::ServerOptions http_opts;
  http_opts.host = listen.first;
  http_opts.port = listen.second;
  http_opts.max_body_bytes = options.max_body_bytes;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(loop, http_opts, r));
  return std::unique_ptr<RootServer>(new RootServer(std::move(impl)));
}

uint16_t RootServer::port() const {
  return impl_->server->port();
}

void RootServer::stop() {
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
