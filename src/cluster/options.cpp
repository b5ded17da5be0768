#include "cluster/options.h"

#include <CLI/CLI.hpp>

namespace oak::cluster {

void addClusterFlags(CLI::App& app, ClusterOptions& o) {
  app.add_option("--root", o.root_url, "URL of the root orchestrator, e.g. http://root:10000")
      ->envname("OAKESTRA_ROOT")
      ->required();
  app.add_option("--name", o.name, "name of this cluster")
      ->envname("OAKESTRA_CLUSTER_NAME")
      ->required();
  app.add_option("--location", o.location, "LAT,LON[,RADIUS_KM] of the area the cluster serves")
      ->envname("OAKESTRA_LOCATION");
  app.add_option("--token", o.token, "cluster join token of the root")
      ->envname("OAKESTRA_TOKEN")
      ->required();
  app.add_option("--listen", o.listen, "HOST:PORT of the worker API")
      ->envname("OAKESTRA_LISTEN")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "directory for the database, tokens and broker files")
      ->envname("OAKESTRA_DATA_DIR")
      ->capture_default_str();
  app.add_option("--mqtt-listen", o.mqtt_listen, "HOST:PORT of the broker the cluster starts")
      ->envname("OAKESTRA_MQTT_LISTEN")
      ->capture_default_str();
  app.add_option("--mqtt-url", o.mqtt_url, "use this broker instead: mqtt://user:pass@host:port")
      ->envname("OAKESTRA_MQTT_URL");
  app.add_option("--mqtt-advertise", o.mqtt_advertise, "HOST workers use to reach the broker")
      ->envname("OAKESTRA_MQTT_ADVERTISE");
  app.add_option("--worker-lease", o.worker_lease,
                 "seconds of silence after which a worker is lost")
      ->envname("OAKESTRA_WORKER_LEASE")
      ->check(CLI::Range(3, 3600))
      ->default_str("30");
  app.add_option("--metrics-token", o.metrics_token,
                 "bearer token GET /metrics requires (default: none, open)")
      ->envname("OAKESTRA_METRICS_TOKEN");
}

}  // namespace oak::cluster
