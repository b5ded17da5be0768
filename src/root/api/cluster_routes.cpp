// Clusters (/api/clusters) and the overlay's address service (/api/net).

#include <boost/json.hpp>

#include <chrono>

#include "common/json.h"
#include "root/api/routes.h"
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

}  // namespace

void addClusterRoutes(http::Router& r, RootContext& ctx) {
  addAuthed(r, ctx, Method::kGet, "/api/clusters",
            {"List all clusters", "clusters", true, "", "", "ClusterList"},
            [&ctx](const http::Request&, const Caller&) { return listClusters(ctx, false); });
  addAuthed(r, ctx, Method::kGet, "/api/clusters/active",
            {"List the clusters that reported in the last 45 seconds", "clusters", true, "", "",
             "ClusterList"},
            [&ctx](const http::Request&, const Caller&) { return listClusters(ctx, true); });
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
