// Clusters (/api/clusters) and the overlay's address service (/api/net).

#include <boost/json.hpp>

#include <chrono>

#include <spdlog/spdlog.h>
#include "common/json.h"
#include "root/api/routes.h"

#include "auth/password.h"
#include "http/websocket.h"
#include "root/accounts.h"
#include "root/cluster_registry.h"
#include "root/scheduler.h"
#include "root/service_addresses.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

namespace {

// `/api/clusters/active` keeps the original's 45-second window.
constexpr double kListedActiveSeconds = 45;

Result<bj::value> listClusters(RootContext& ctx, bool active_only) {
  OAK_ASSIGN_OR_RETURN(auto clusters, ctx.store.list(coll::kClusters));
  double now = std::chrono::duration<double>(ctx.clock.now().time_since_epoch()).count();
  bj::array out;
  for (auto& c : clusters) {
    auto it = c.find("last_modified_timestamp");
    double seen = it != c.end() && it->value().is_number() ? it->value().to_number<double>() : 0;
    if (!active_only || seen > now - kListedActiveSeconds) out.push_back(std::move(c));
  }
  return out;
}

// Workers by cluster, as each cluster's latest `workers` message listed them.
Result<bj::value> listWorkers(RootContext& ctx) {
  OAK_ASSIGN_OR_RETURN(auto clusters, ctx.store.list(coll::kClusters));
  bj::array out;
  if (ctx.clusters == nullptr) return out;
  const auto& reported = ctx.clusters->workers();
  for (const auto& c : clusters) {
    std::string id = Accounts::idOf(c);
    auto it = reported.find(id);
    if (it == reported.end()) continue;
    std::string name = json::getString(c, "cluster_name").value_or(id);
    bool connected = ctx.clusters->connected(id);
    for (const auto& w : it->second) {
      bj::array runtimes(w.runtimes.begin(), w.runtimes.end());
      bj::array archs(w.archs.begin(), w.archs.end());
      out.push_back(bj::object{{"id", w.id},
                               {"name", w.name},
                               {"active", connected && w.active},
                               {"cluster_id", id},
                               {"cluster_name", name},
                               {"cores_total", w.cores_total},
                               {"memory_total_mb", w.memory_total_mb},
                               {"runtimes", std::move(runtimes)},
                               {"archs", std::move(archs)},
                               {"acceleration", w.acceleration}});
    }
  }
  return out;
}

}  // namespace

void addClusterRoutes(http::Router& r, RootContext& ctx) {
  addAuthed(r, ctx, Method::kGet, "/api/clusters",
            {"List all clusters", "clusters", true, "", "", "ClusterList"},
            [&ctx](const http::Request&, const Caller&) { return listClusters(ctx, false); });
  addAuthed(r, ctx, Method::kGet, "/api/clusters/active",
            {"List the clusters that reported in the last 45 seconds", "clusters", true, "", "",
             "ClusterList"},
            [&ctx](const http::Request&, const Caller&) { return listClusters(ctx, true); });
  addAuthed(r, ctx, Method::kGet, "/api/workers",
            {"List the workers of every cluster as their clusters last reported them", "clusters",
             true, "", "", "WorkerList"},
            [&ctx](const http::Request&, const Caller&) -> Result<bj::value> {
              return listWorkers(ctx);
            });
}

namespace {

class WebSocketChannel final : public ClusterChannel {
 public:
  explicit WebSocketChannel(std::shared_ptr<http::WebSocketConnection> c) : conn_(std::move(c)) {}
  void send(std::string text) override { conn_->send(std::move(text)); }
  void close(std::string reason) override { conn_->close(std::move(reason)); }

 private:
  std::shared_ptr<http::WebSocketConnection> conn_;
};

}  // namespace

void addClusterLinkRoute(http::Router& r, RootContext& ctx) {
  r.addWebSocket(
      "/api/clusters/connect",
      {"The cluster link (WebSocket; bearer: the cluster join token)", "clusters", true, "", "",
       ""},
      [&ctx](const http::Request& req,
             std::shared_ptr<http::WebSocketConnection> conn) -> Result<http::WebSocketHandlers> {
        OAK_ASSIGN_OR_RETURN(auto token, http::bearerToken(req));
        if (!auth::equalSecrets(token, ctx.cluster_token)) {
          spdlog::warn("cluster link from {} refused: invalid cluster token", req.remote_address);
          return makeError(ErrorCode::kUnauthenticated, "invalid cluster token");
        }
        uint64_t key =
            ctx.clusters->attach(std::make_shared<WebSocketChannel>(conn), req.remote_address);
        return http::WebSocketHandlers{
            [&ctx, key](std::string text) { ctx.clusters->onMessage(key, text); },
            [&ctx, key](std::string) { ctx.clusters->onClose(key); }};
      });
}

void addClusterAdminRoutes(http::Router& r, RootContext& ctx) {
  addAuthed(r, ctx, Method::kGet, "/api/clusters/token",
            {"The token clusters present to join (oakestra cluster --token)", "clusters", true,
             "Admin", "", "ClusterToken"},
            [&ctx](const http::Request&, const Caller&) -> Result<bj::value> {
              return bj::object{{"token", ctx.cluster_token}};
            });
  addAuthed(
      r, ctx, Method::kGet, "/api/v1/resources/clusters",
      {"Capacity and capabilities of every cluster (the resource abstractor)", "clusters", true, "",
       "", "ClusterResourcesList"},
      [&ctx](const http::Request&, const Caller&) -> Result<bj::value> {
        OAK_ASSIGN_OR_RETURN(auto clusters, ctx.store.list(coll::kClusters));
        double now = std::chrono::duration<double>(ctx.clock.now().time_since_epoch()).count();
        bj::array out;
        for (const auto& c : clusters) {
          auto field = [&c](std::string_view k) { return c.contains(k) ? c.at(k) : bj::value(); };
          auto seen_v = field("last_modified_timestamp");
          double seen = seen_v.is_number() ? seen_v.to_number<double>() : 0;
          bool connected = field("connected") == true;
          out.push_back(bj::object{
              {"_id", field("_id")},
              {"cluster_name", field("cluster_name")},
              {"cluster_location", field("cluster_location")},
              {"connected", connected},
              {"active", connected && seen > now - kClusterActiveSeconds},
              {"last_modified_timestamp", seen},
              {"resources", c.contains("resources") ? c.at("resources") : bj::object{}}});
        }
        return out;
      });
}

void addNetRoutes(http::Router& r, RootContext& ctx) {
  addAuthed(r, ctx, Method::kGet, "/api/net/free-service-ip",
            {"The service addresses (IPv4 and IPv6) the next service would get", "net", true, "",
             "", "FreeServiceIp"},
            [&ctx](const http::Request&, const Caller&) -> Result<bj::value> {
              return ctx.addresses->nextFree();
            });
}

}  // namespace oak::root::api
