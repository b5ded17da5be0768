#include "cluster/cluster_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>

#include "auth/tokens.h"
#include "cluster/cluster_metrics.h"
#include "cluster/control_logs.h"
#include "cluster/log_relay.h"
#include "cluster/orchestrator.h"
#include "cluster/route_cache.h"
#include "cluster/worker_api.h"
#include "common/files.h"
#include "common/host_port.h"
#include "http/router.h"
#include "http/server.h"
#include "http/websocket_client.h"
#include "logs/capture.h"
#include "logs/log_metrics.h"
#include "metrics/http_metrics.h"
#include "metrics/process_metrics.h"
#include "mqtt/broker.h"
#include "mqtt/dynsec_client.h"
#include "mqtt/metered_bus.h"
#include "mqtt/mosquitto_client.h"
#include "scheduler/geo.h"
#include "store/sqlite_store.h"

namespace oak::cluster {

namespace {

// The cluster's own broker: accounts change through the dynamic security plugin.
class ManagedBroker final : public BrokerAccounts {
 public:
  explicit ManagedBroker(mqtt::DynsecClient& dynsec) : dynsec_(dynsec) {}
  void setPassword(const std::string& user, const std::string& password,
                   const std::string& client_id, bool likely_new,
                   std::function<void(Status)> done) override {
    dynsec_.setPassword(user, password, client_id, likely_new, std::move(done));
  }

 private:
  mqtt::DynsecClient& dynsec_;
};

// --mqtt-url: every worker shares the cluster's account; there is nothing to change.
class ExternalBroker final : public BrokerAccounts {
 public:
  void setPassword(const std::string&, const std::string&, const std::string&, bool,
                   std::function<void(Status)> done) override {
    done({});
  }
};

// "LAT,LON[,RADIUS_KM]"
Status parseLocation(std::string_view text, OrchestratorOptions& o) {
  size_t first = text.find(',');
  size_t second = first == std::string_view::npos ? first : text.find(',', first + 1);
  auto point = sched::parseLatLon(text.substr(0, second));
  if (!point) {
    return makeError(ErrorCode::kInvalidArgument, "--location: " + point.error().message);
  }
  o.location = *point;
  if (second == std::string_view::npos) return {};
  std::string_view radius = text.substr(second + 1);
  while (!radius.empty() && radius.front() == ' ') radius.remove_prefix(1);
  auto [end, ec] = std::from_chars(radius.data(), radius.data() + radius.size(), o.radius_km);
  if (ec != std::errc() || end != radius.data() + radius.size() || !std::isfinite(o.radius_km) ||
      o.radius_km < 0) {
    return makeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--location: RADIUS_KM '{}' is not a non-negative number", radius));
  }
  return {};
}

struct MqttUrl {
  std::string user, password, host;
  uint16_t port = 1883;
};

// mqtt://user:password@host:port
Result<MqttUrl> parseMqttUrl(std::string_view text) {
  constexpr std::string_view kScheme = "mqtt://";
  auto bad = [&] {
    return makeError(ErrorCode::kInvalidArgument,
                     "--mqtt-url: expected mqtt://USER:PASSWORD@HOST:PORT");
  };
  if (!text.starts_with(kScheme)) return bad();
  text.remove_prefix(kScheme.size());
  MqttUrl u;
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return bad();
  std::string_view cred = text.substr(0, at);
  size_t colon = cred.find(':');
  if (colon == std::string_view::npos) return bad();
  u.user = std::string(cred.substr(0, colon));
  u.password = std::string(cred.substr(colon + 1));
  OAK_ASSIGN_OR_RETURN(auto hp, parseHostPort(text.substr(at + 1), "--mqtt-url"));
  u.host = hp.first;
  u.port = hp.second;
  return u;
}

// The cluster's own records and its workers' wait here while the root link is down.
constexpr size_t kControlLogRecords = 20000;

std::string wsUrl(std::string root) {
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (root.find("://") == std::string::npos) root = "http://" + root;
  return root + "/api/clusters/connect";
}

}  // namespace

struct ClusterServer::Impl {
  metrics::Registry metrics;  // first: collectors read the members below
  std::unique_ptr<OrchestratorMetrics> orchestrator_metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<mqtt::MosquittoBroker> mosquitto;  // null with --mqtt-url
  std::unique_ptr<mqtt::MosquittoClient> client;
  std::unique_ptr<mqtt::MeteredBus> bus;       // the client, counted
  std::unique_ptr<mqtt::DynsecClient> dynsec;  // null with --mqtt-url
  std::unique_ptr<BrokerAccounts> broker;
  std::unique_ptr<Orchestrator> orchestrator;
  std::unique_ptr<LogRelay> logs;
  std::unique_ptr<ControlLogs> control_logs;
  std::unique_ptr<RouteCache> routes;
  std::shared_ptr<http::WebSocketClient> root_link;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<EventLoop::Periodic> ticker;
};

ClusterServer::ClusterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterServer::~ClusterServer() = default;

Result<std::unique_ptr<ClusterServer>> ClusterServer::create(
    const ClusterOptions& o, EventLoop& loop, const Clock& clock,
    std::shared_ptr<logs::LogBuffer> control_logs) {
  OAK_ASSIGN_OR_RETURN(auto listen, parseHostPort(o.listen, "--listen"));
  OrchestratorOptions oo;
  oo.name = o.name;
  oo.location_text = o.location;
  oo.worker_lease = o.worker_lease;
  if (!o.location.empty()) OAK_TRY(parseLocation(o.location, oo));
  OAK_TRY(files::ensureDirectory(o.data_dir, 0700));
  auto impl = std::make_unique<Impl>();

  store::SqliteStore::Options so;
  so.path = o.data_dir + "/cluster.db";
  OAK_ASSIGN_OR_RETURN(impl->store, store::SqliteStore::open(so));
  OAK_ASSIGN_OR_RETURN(auto worker_token, auth::loadOrCreateKey(o.data_dir + "/worker-token"));

  WorkerApiConfig api;
  api.worker_token = worker_token;
  api.lease = o.worker_lease;
  api.mqtt_host = o.mqtt_advertise;
  mqtt::ClientOptions bus_options;
  bus_options.client_id = "cluster-" + o.name;
  bus_options.tcp_nodelay = true;  // registrations wait for the broker's answers
  std::optional<mqtt::MosquittoBroker::Options> managed;
  if (o.mqtt_url.empty()) {
    OAK_ASSIGN_OR_RETURN(auto mqtt_listen, parseHostPort(o.mqtt_listen, "--mqtt-listen"));
    OAK_ASSIGN_OR_RETURN(auto admin_password,
                         auth::loadOrCreateKey(o.data_dir + "/mqtt-admin-password"));
    mqtt::MosquittoBroker::Options bo;
    bo.data_dir = o.data_dir + "/mqtt";
    bo.listen_host = mqtt_listen.first;
    bo.port = mqtt_listen.second;
    bo.admin_password = admin_password;
    bo.acl_patterns = workerAclPatterns();
    bus_options.host = mqtt_listen.first == "0.0.0.0" || mqtt_listen.first == "::"
                           ? "127.0.0.1"
                           : mqtt_listen.first;
    bus_options.port = mqtt_listen.second;
    bus_options.username = bo.admin_username;
    bus_options.password = admin_password;
    api.mqtt_port = mqtt_listen.second;
    managed = std::move(bo);
  } else {
    OAK_ASSIGN_OR_RETURN(auto url, parseMqttUrl(o.mqtt_url));
    bus_options.host = url.host;
    bus_options.port = url.port;
    bus_options.username = url.user;
    bus_options.password = url.password;
    api.mqtt_port = url.port;
    if (api.mqtt_host.empty()) api.mqtt_host = url.host;
    api.shared_credentials = std::pair{url.user, url.password};
    impl->broker = std::make_unique<ExternalBroker>();
  }
  // Connects once the loop runs, by when the broker below is up.
  OAK_ASSIGN_OR_RETURN(impl->client, mqtt::MosquittoClient::create(loop, bus_options));
  impl->bus = std::make_unique<mqtt::MeteredBus>(*impl->client, impl->metrics);

  auto* raw = impl.get();
  impl->orchestrator =
      std::make_unique<Orchestrator>(Orchestrator::Deps{*impl->store, clock, *impl->bus,
                                                        [raw](std::string text) {
                                                          if (raw->root_link)
                                                            raw->root_link->send(std::move(text));
                                                        }},
                                     oo);
  impl->orchestrator_metrics = std::make_unique<OrchestratorMetrics>(impl->metrics);
  impl->orchestrator->setMetrics(impl->orchestrator_metrics.get());
  OAK_TRY(impl->orchestrator->recover());
  if (managed) {
    // The plugin's file already holds the accounts of a previous run; this only fixes what
    // differs from the store (no per-account commands, no reload).
    std::vector<mqtt::dynsec::Account> accounts;
    for (const auto& a : impl->orchestrator->accounts()) {
      accounts.push_back({a.id, a.password, workerClientId(a.id)});
    }
    OAK_ASSIGN_OR_RETURN(impl->mosquitto, mqtt::MosquittoBroker::start(*managed, accounts));
    impl->dynsec =
        std::make_unique<mqtt::DynsecClient>(*impl->bus, clock, mqtt::DynsecClient::Options{});
    impl->broker = std::make_unique<ManagedBroker>(*impl->dynsec);
  }
  impl->logs = std::make_unique<LogRelay>(
      LogRelay::Deps{clock, *impl->bus,
                     [raw](std::string text) {
                       if (raw->root_link) raw->root_link->send(std::move(text));
                     },
                     [raw](const std::string& service_id, int64_t n) -> Result<LogTarget> {
                       OAK_ASSIGN_OR_RETURN(auto p, raw->orchestrator->placementOf(service_id, n));
                       return LogTarget{p.worker_id, p.worker_name, p.task_id};
                     }});
  impl->routes = std::make_unique<RouteCache>(RouteCache::Deps{
      *impl->store, clock, *impl->bus,
      [raw](std::string text) { return raw->root_link && raw->root_link->send(std::move(text)); }});
  if (!control_logs) control_logs = std::make_shared<logs::LogBuffer>(kControlLogRecords);
  impl->control_logs = std::make_unique<ControlLogs>(ControlLogs::Deps{
      clock, std::move(control_logs), o.name,
      [raw](const std::string& id) { return raw->orchestrator->workerName(id); },
      [raw](std::string text) { return raw->root_link && raw->root_link->send(std::move(text)); }});
  for (const auto& topic : Orchestrator::subscriptions()) impl->bus->subscribe(topic, 1);
  for (const auto& topic : RouteCache::subscriptions()) impl->bus->subscribe(topic, 1);
  impl->bus->subscribe(LogRelay::kReplyTopic, 1);
  impl->bus->subscribe(ControlLogs::kTopic, 0);
  impl->bus->onMessage([raw](const mqtt::Message& m) {
    if (raw->dynsec && raw->dynsec->handle(m)) return;
    if (raw->control_logs->onBusMessage(m)) return;
    raw->orchestrator->onBusMessage(m);
    raw->logs->onBusMessage(m);
    raw->routes->onBusMessage(m);
  });

  http::WebSocketClient::Options wo;
  wo.url = wsUrl(o.root_url);
  wo.headers = {{"Authorization", "Bearer " + o.token}};
  wo.on_open = [raw] {
    spdlog::info("connected to the root");
    raw->root_link->send(raw->orchestrator->hello());
    raw->routes->onRootConnected();
  };
  wo.on_message = [raw](std::string text) {
    if (raw->logs->onRootMessage(text)) return;
    if (auto env = link::decode(text); env && raw->routes->onRootMessage(*env)) return;
    raw->orchestrator->onRootMessage(text);
    raw->logs->tick();  // an undeploy ends the follows of its instances now
  };
  wo.on_close = [raw](std::string reason) {
    spdlog::warn("root link down: {}", reason);
    raw->logs->onRootDisconnected();
  };
  OAK_ASSIGN_OR_RETURN(impl->root_link, http::WebSocketClient::create(loop, wo));

  addWorkerRoutes(impl->router, *impl->orchestrator, *impl->broker, api);
  metrics::addProcessMetrics(impl->metrics, "cluster");
  addClusterCollector(impl->metrics, *impl->orchestrator,
                      [raw] { return raw->root_link && raw->root_link->connected(); });
  logs::addControlLogCollector(impl->metrics, [raw] {
    const auto& c = *raw->control_logs;
    return std::map<std::string, uint64_t>{
        {"received", c.received()}, {"rejected", c.rejected()}, {"forwarded", c.forwarded()}};
  });
  metrics::observeRequests(impl->router, impl->metrics);
  metrics::addMetricsEndpoint(impl->router, impl->metrics, {o.metrics_token});
  http::ServerOptions so_http;
  so_http.host = listen.first;
  so_http.port = listen.second;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(loop, so_http, impl->router));
  impl->ticker = loop.every(std::chrono::seconds(1), [raw] {
    raw->orchestrator->tick();
    if (raw->dynsec) raw->dynsec->tick();
    raw->logs->tick();
    raw->routes->tick();
    raw->control_logs->flush();
  });
  impl->root_link->start();
  return std::unique_ptr<ClusterServer>(new ClusterServer(std::move(impl)));
}

uint16_t ClusterServer::port() const {
  return impl_->server->port();
}

void ClusterServer::stop() {
  impl_->ticker.reset();
  impl_->root_link->stop();
  impl_->server->stop();
}

int runCluster(const ClusterOptions& options) {
  auto control_logs = std::make_shared<logs::LogBuffer>(kControlLogRecords);
  logs::captureLogs(control_logs, {"cluster", options.name, options.name});
  EventLoop loop(1);
  auto cluster = ClusterServer::create(options, loop, SystemClock::instance(), control_logs);
  if (!cluster) {
    spdlog::critical("cannot start the cluster orchestrator: {}", cluster.error().message);
    return 1;
  }
  spdlog::info("cluster '{}' worker API on {} (port {}); worker token in {}/worker-token",
               options.name, options.listen, (*cluster)->port(), options.data_dir);
  loop.onTerminate([&](int sig) {
    spdlog::info("signal {}: shutting down", sig);
    (*cluster)->stop();
    loop.stop();
  });
  loop.run();
  return 0;
}

}  // namespace oak::cluster
