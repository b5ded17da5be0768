#include "worker/agent/worker_main.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <thread>

#include "common/files.h"
#include "common/host_port.h"
#include "common/json.h"
#include "http/client.h"
#include "http/router.h"
#include "http/server.h"
#include "mqtt/mosquitto_client.h"
#include "worker/agent/agent.h"
#include "worker/host/command_runner.h"

namespace oak::worker {

namespace bj = boost::json;

namespace {

struct Registration {
  std::string worker_id;
  mqtt::ClientOptions mqtt;
};

// One attempt. kUnauthenticated/kUnprocessable are final; anything else is worth retrying.
Result<Registration> registerOnce(const WorkerOptions& o) {
  OAK_ASSIGN_OR_RETURN(auto url, http::Url::parse(o.cluster_url));
  http::ClientRequest req{http::Method::kPost,
                          url.base_path + "/api/v1/workers/register",
                          {{"Authorization", "Bearer " + o.token}},
                          bj::serialize(bj::object{{"name", o.name}})};
  OAK_ASSIGN_OR_RETURN(auto res, http::fetch(url.host, url.port, req, std::chrono::seconds(10)));
  auto body = json::parse(res.body);
  if (res.status != 200) {
    std::string msg = body && body->is_object()
                          ? json::getString(body->get_object(), "message").value_or(res.body)
                          : res.body;
    ErrorCode code = res.status == 401   ? ErrorCode::kUnauthenticated
                     : res.status == 422 ? ErrorCode::kUnprocessable
                                         : ErrorCode::kUnavailable;
    return makeError(code, fmt::format("the cluster answered {}: {}", res.status, msg));
  }
  if (!body || !body->is_object()) return makeError(ErrorCode::kUnavailable, "malformed answer");
  const auto& o2 = body->get_object();
  const auto* m = json::findObject(o2, "mqtt");
  auto id = json::getString(o2, "worker_id");
  if (!m || !id) return makeError(ErrorCode::kUnavailable, "answer lacks worker_id or mqtt");
  Registration r;
  r.worker_id = *id;
  r.mqtt.host = json::getString(*m, "host").value_or(url.host);
  r.mqtt.port = static_cast<uint16_t>(json::getInt(*m, "port").value_or(10003));
  r.mqtt.username = json::getString(*m, "username").value_or("");
  r.mqtt.password = json::getString(*m, "password").value_or("");
  r.mqtt.client_id = *id + "-ne";
  // Idle workers cost little: a keepalive ping per minute rather than every few seconds.
  r.mqtt.keepalive = std::chrono::seconds(60);
  return r;
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

int runWorker(WorkerOptions o) {
  if (o.name.empty()) o.name = hostname();
  std::optional<std::pair<double, double>> location;
  if (!o.location.empty()) {
    double lat = 0, lon = 0;
    if (std::sscanf(o.location.c_str(), "%lf,%lf", &lat, &lon) != 2 || std::abs(lat) > 90 ||
        std::abs(lon) > 180) {
      spdlog::critical("--location: '{}' is not LAT,LON", o.location);
      return 2;
    }
    location = std::pair{lat, lon};
  }
  auto metrics = parseHostPort(o.metrics_listen, "--metrics-listen");
  if (!metrics) {
    spdlog::critical("{}", metrics.error().message);
    return 2;
  }
  if (auto s = files::ensureDirectory(o.data_dir, 0700); !s) {
    spdlog::critical("{}", s.error().message);
    return 1;
  }

  Result<Registration> reg = makeError(ErrorCode::kUnavailable, "not tried");
  for (auto backoff = std::chrono::milliseconds(500);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000))) {
    reg = registerOnce(o);
    if (reg) break;
    if (reg.error().code == ErrorCode::kUnauthenticated ||
        reg.error().code == ErrorCode::kUnprocessable ||
        reg.error().code == ErrorCode::kInvalidArgument) {
      spdlog::critical("cannot register with {}: {}", o.cluster_url, reg.error().message);
      return 1;
    }
    spdlog::warn("registering with {} failed ({}); retrying in {} ms", o.cluster_url,
                 reg.error().message, backoff.count());
    std::this_thread::sleep_for(backoff);
  }
  spdlog::info("registered with {} as worker '{}' ({})", o.cluster_url, o.name, reg->worker_id);

  EventLoop loop(1);
  auto bus = mqtt::MosquittoClient::create(loop, reg->mqtt);
  if (!bus) {
    spdlog::critical("mqtt: {}", bus.error().message);
    return 1;
  }
  SystemCommandRunner commands;
  LinuxHostProbe probe({"/proc", o.data_dir, &commands});
  // The real runtimes (containerd, QEMU) join this list as they become available.
  ComposingRuntime runtime({});
  WorkerAgent agent(loop, SystemClock::instance(), **bus, probe, runtime,
                    {reg->worker_id, location, o.report_interval});
  agent.start();
  agent.tick();
  // Sample at least as often as reports are due, or a short --report-interval would be stretched
  // to the sampling period (and a short lease at the cluster would expire between reports).
  auto ticker =
      loop.every(std::min<std::chrono::seconds>(std::chrono::seconds(5), o.report_interval),
                 [&agent] { agent.tick(); });

  http::Router router;
  router.add(http::Method::kGet, "/healthz", {"Liveness probe", "meta", false, "", "", ""},
             [&](const http::Request&) {
               return http::jsonResponse(200, bj::object{{"status", "ok"},
                                                         {"worker_id", reg->worker_id},
                                                         {"mqtt_connected", (*bus)->connected()}});
             });
  http::ServerOptions so;
  so.host = metrics->first;
  so.port = metrics->second;
  auto server = http::HttpServer::start(loop, so, router);
  if (!server) {
    spdlog::critical("{}", server.error().message);
    return 1;
  }
  loop.onTerminate([&](int sig) {
    spdlog::info("signal {}: shutting down", sig);
    ticker.reset();
    (*server)->stop();
    loop.stop();
  });
  loop.run();
  return 0;
}

}  // namespace oak::worker
