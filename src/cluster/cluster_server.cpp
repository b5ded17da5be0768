#include "cluster/cluster_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/tokens.h"
#include "cluster/orchestrator.h"
#include "cluster/worker_api.h"
#include "common/files.h"
#include "common/host_port.h"
#include "http/router.h"
#include "http/server.h"
#include "http/websocket_client.h"
#include "mqtt/broker.h"
#include "mqtt/mosquitto_client.h"
#include "scheduler/geo.h"
#include "store/sqlite_store.h"

namespace oak::cluster {

namespace {

class ManagedBroker final : public BrokerAccounts {
 public:
  explicit ManagedBroker(std::unique_ptr<mqtt::MosquittoBroker> b) : broker_(std::move(b)) {}
  Status addUser(const std::string& user, const std::string& password,
                 const std::string& prefix) override {
    return broker_->addUser(user, password, prefix);
  }

 private:
  std::unique_ptr<mqtt::MosquittoBroker> broker_;
};

class ExternalBroker final : public BrokerAccounts {
 public:
  Status addUser(const std::string&, const std::string&, const std::string&) override { return {}; }
};

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

std::string wsUrl(std::string root) {
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (root.find("://") == std::string::npos) root = "http://" + root;
  return root + "/api/clusters/connect";
}

}  // namespace

struct ClusterServer::Impl {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<BrokerAccounts> broker;
  std::unique_ptr<mqtt::MosquittoClient> bus;
  std::unique_ptr<Orchestrator> orchestrator;
  std::shared_ptr<http::WebSocketClient> root_link;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<EventLoop::Periodic> ticker;
};

ClusterServer::ClusterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterServer::~ClusterServer() = default;

Result<std::unique_ptr<ClusterServer>> ClusterServer::create(const ClusterOptions& o,
                                                             EventLoop& loop, const Clock& clock) {
  OAK_ASSIGN_OR_RETURN(auto listen, parseHostPort(o.listen, "--listen"));
  OrchestratorOptions oo;
  oo.name = o.name;
  oo.location_text = o.location;
  oo.worker_lease = o.worker_lease;
  if (!o.location.empty()) {
    // "LAT,LON[,RADIUS_KM]"
    std::string_view loc = o.location;
    size_t second = loc.find(',', loc.find(',') + 1);
    OAK_ASSIGN_OR_RETURN(oo.location, sched::parseLatLon(loc.substr(0, second)));
    if (second != std::string_view::npos) {
      try {
        oo.radius_km = std::stod(std::string(loc.substr(second + 1)));
      } catch (...) {
        return makeError(ErrorCode::kInvalidArgument, "--location: RADIUS_KM is not a number");
      }
    }
  }
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
  if (o.mqtt_url.empty()) {
    OAK_ASSIGN_OR_RETURN(auto mqtt_listen, parseHostPort(o.mqtt_listen, "--mqtt-listen"));
    OAK_ASSIGN_OR_RETURN(auto admin_password,
                         auth::loadOrCreateKey(o.data_dir + "/mqtt-admin-password"));
    mqtt::MosquittoBroker::Options bo;
    bo.data_dir = o.data_dir + "/mqtt";
    bo.listen_host = mqtt_listen.first;
    bo.port = mqtt_listen.second;
    bo.admin_password = admin_password;
    OAK_ASSIGN_OR_RETURN(auto broker, mqtt::MosquittoBroker::start(bo));
    bus_options.host = mqtt_listen.first == "0.0.0.0" || mqtt_listen.first == "::"
                           ? "127.0.0.1"
                           : mqtt_listen.first;
    bus_options.port = mqtt_listen.second;
    bus_options.username = bo.admin_username;
    bus_options.password = admin_password;
    api.mqtt_port = mqtt_listen.second;
    impl->broker = std::make_unique<ManagedBroker>(std::move(broker));
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
  OAK_ASSIGN_OR_RETURN(impl->bus, mqtt::MosquittoClient::create(loop, bus_options));

  auto* raw = impl.get();
  impl->orchestrator =
      std::make_unique<Orchestrator>(Orchestrator::Deps{*impl->store, clock, *impl->bus,
                                                        [raw](std::string text) {
                                                          if (raw->root_link)
                                                            raw->root_link->send(std::move(text));
                                                        }},
                                     oo);
  OAK_TRY(impl->orchestrator->recover());
  for (const auto& a : impl->orchestrator->accounts()) {
    if (!api.shared_credentials) OAK_TRY(impl->broker->addUser(a.id, a.password, "nodes/" + a.id));
  }
  for (const char* topic : {"nodes/+/information", "nodes/+/job", "nodes/+/jobs/resources"}) {
    impl->bus->subscribe(topic, 1);
  }
  impl->bus->onMessage([raw](const mqtt::Message& m) { raw->orchestrator->onBusMessage(m); });

  http::WebSocketClient::Options wo;
  wo.url = wsUrl(o.root_url);
  wo.headers = {{"Authorization", "Bearer " + o.token}};
  wo.on_open = [raw] {
    spdlog::info("connected to the root");
    raw->root_link->send(raw->orchestrator->hello());
  };
  wo.on_message = [raw](std::string text) { raw->orchestrator->onRootMessage(text); };
  wo.on_close = [](std::string reason) { spdlog::warn("root link down: {}", reason); };
  OAK_ASSIGN_OR_RETURN(impl->root_link, http::WebSocketClient::create(loop, wo));

  addWorkerRoutes(impl->router, *impl->orchestrator, *impl->broker, api);
  http::ServerOptions so_http;
  so_http.host = listen.first;
  so_http.port = listen.second;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(loop, so_http, impl->router));
  impl->ticker = loop.every(std::chrono::seconds(1), [raw] { raw->orchestrator->tick(); });
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
  EventLoop loop(1);
  auto cluster = ClusterServer::create(options, loop);
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
