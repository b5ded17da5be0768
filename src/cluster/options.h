#pragma once
// Options of `oakestra cluster`. Each field is a flag, an environment variable and a config-file
// key (see `addClusterFlags`).

#include <chrono>
#include <string>

namespace CLI {
class App;
}

namespace oak::cluster {

struct ClusterOptions {
  // URL of the root orchestrator's API (the cluster dials it; the root never dials back).
  std::string root_url;
  // The cluster's name at the root (unique there).
  std::string name;
  // "LAT,LON[,RADIUS_KM]" of the area the cluster serves; empty if unknown.
  std::string location;
  // The root's cluster join token (GET /api/clusters/token, or <root data dir>/cluster-token).
  std::string token;
  // HOST:PORT of the worker API (registration).
  std::string listen = "0.0.0.0:10100";
  // Where the cluster's database, worker token and broker files live.
  std::string data_dir = "/var/lib/oakestra/cluster";
  // HOST:PORT of the mosquitto broker the cluster starts for its workers.
  std::string mqtt_listen = "0.0.0.0:10003";
  // Use this broker instead of starting one ("mqtt://user:password@host:port").
  std::string mqtt_url;
  // Address workers use to reach the broker; default: the host workers used to register.
  std::string mqtt_advertise;
  // A worker that does not report for this long is lost; its instances are placed elsewhere.
  std::chrono::seconds worker_lease{30};
  // Bearer token GET /metrics requires on the worker API's port; empty: open to scrapers.
  std::string metrics_token;
};

void addClusterFlags(CLI::App& app, ClusterOptions& o);

}  // namespace oak::cluster
